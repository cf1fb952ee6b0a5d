'use strict'

const path = require('node:path')
const { NativeDatabase, errorCodes } = require('../index.js')
const { keyEncoder, valueEncoder } = require('./encoding')
const { invalidArgType, invalidArgValue, databaseNotOpen } = require('./errors')

const OPTION_TYPES = {
  readOnly: 'boolean',
  createIfMissing: 'boolean',
  compression: 'string',
  encoding: 'string',
  keyEncoding: 'string',
}

function checkOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'an object', options)
  }
  for (const [name, type] of Object.entries(OPTION_TYPES)) {
    const value = options[name]
    if (value !== undefined && typeof value !== type) {
      throw invalidArgType(`options.${name}`, `of type ${type}`, value)
    }
  }
  const { compression } = options
  if (compression !== undefined && !['none', 'lz4', 'zstd'].includes(compression)) {
    throw invalidArgValue('options.compression', `must be 'none', 'lz4' or 'zstd'. Received ${JSON.stringify(compression)}`)
  }
  return options
}

function checkPath(name, value) {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  if (value.length === 0) throw invalidArgValue(name, 'must not be empty')
  if (value.includes('\0')) throw invalidArgValue(name, 'must not contain null bytes')
  return path.resolve(value)
}

/**
 * A RocksDB database. Keys are encoded with ordered-binary and values with
 * msgpack unless the options say otherwise.
 */
class RocksDatabase {
  #native = null
  #keys
  #values

  /**
   * Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`.
   * @param {string} dbPath
   * @param {object} [options]
   */
  constructor(dbPath, options) {
    this.path = checkPath('path', dbPath)
    this.options = { ...checkOptions(options) }
    this.#keys = keyEncoder(this.options.keyEncoding)
    this.#values = valueEncoder(this.options.encoding)
  }

  /** Opens the database at `dbPath`, creating it and its parents when absent. */
  static open(dbPath, options) {
    return new RocksDatabase(dbPath, options).open()
  }

  /** Opens this handle. Opening an open handle does nothing. */
  open() {
    if (this.#native === null || !this.#native.isOpen) {
      const { readOnly, compression, createIfMissing } = this.options
      this.#native = NativeDatabase.open(this.path, { readOnly, compression, createIfMissing })
    }
    return this
  }

  /**
   * Closes the database. Idempotent. Operations already in flight settle
   * normally; RocksDB releases its files when the last of them is done.
   */
  close() {
    if (this.#native !== null) this.#native.close()
  }

  /** Whether the database is open. */
  isOpen() {
    return this.#native !== null && this.#native.isOpen
  }

  /** Whether the database was opened read-only. */
  get readOnly() {
    return this.options.readOnly === true
  }

  get #db() {
    if (this.#native === null) throw databaseNotOpen()
    return this.#native
  }

  /** The decoded value of `key`, or `undefined`. */
  async get(key) {
    const bytes = await this.#db.get(this.#keys.encode(key))
    return bytes === undefined || bytes === null ? undefined : this.#values.decode(bytes)
  }

  /** The decoded value of `key`, or `undefined`, read on the calling thread. */
  getSync(key) {
    const bytes = this.#db.getSync(this.#keys.encode(key))
    return bytes === undefined || bytes === null ? undefined : this.#values.decode(bytes)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`. */
  async getBinary(key) {
    const bytes = await this.#db.get(this.#keys.encode(key))
    return bytes ?? undefined
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`, read on the calling thread. */
  getBinarySync(key) {
    return this.#db.getSync(this.#keys.encode(key)) ?? undefined
  }

  /** Stores `value` under `key`. Resolves once RocksDB has accepted the write. */
  async put(key, value) {
    await this.#db.put(this.#keys.encode(key), this.#values.encode(value))
  }

  /** Stores `value` under `key` on the calling thread. */
  putSync(key, value) {
    this.#db.putSync(this.#keys.encode(key), this.#values.encode(value))
  }

  /** Removes `key`. Removing a missing key is not an error. */
  async remove(key) {
    await this.#db.remove(this.#keys.encode(key))
  }

  /** Removes `key` on the calling thread. */
  removeSync(key) {
    this.#db.removeSync(this.#keys.encode(key))
  }

  /** Flushes the memtables to SST files. */
  async flush() {
    await this.#db.flush()
  }

  /** Flushes the memtables to SST files on the calling thread. */
  flushSync() {
    this.#db.flushSync()
  }

  /** RocksDB's latest sequence number; it grows with every write. */
  getLatestSequenceNumber() {
    return this.#db.latestSequenceNumber()
  }

  /**
   * Writes a checkpoint of the live database to `targetPath`: a consistent,
   * independent, writable copy that holds every write acknowledged before the
   * call. SST files are hardlinked where the filesystem allows and copied
   * where it does not. Runs on a worker thread.
   */
  async createCheckpoint(targetPath) {
    const target = checkPath('targetPath', targetPath)
    await this.#db.createCheckpoint(target)
  }
}

/** Every error `code` the package raises. */
const ERROR_CODES = Object.freeze([...new Set([...errorCodes(), 'ERR_INVALID_ARG_TYPE'])].sort())

module.exports = { RocksDatabase, ERROR_CODES }
