'use strict'

const path = require('node:path')
const {
  NativeDatabase,
  destroyDatabase,
  errorCodes,
  getShared,
  getInMemoryShared,
  putShared,
  rangeShared,
  removeShared,
  takeRange,
} = require('../index.js')
const { keyEncoder, valueEncoder } = require('./encoding')
const { invalidArgType, invalidArgValue, databaseNotOpen } = require('./errors')
const { RangeIterable, RangeIterator, decodeBatch } = require('./range')
const { Transaction, runTransaction, runTransactionSync } = require('./transaction')
const { WriteQueue } = require('./batch')
const { CheckpointStore, restore, recoverRestore } = require('./checkpoints')

const OPTION_TYPES = {
  readOnly: 'boolean',
  createIfMissing: 'boolean',
  compression: 'string',
  keyEncoding: 'string',
  name: 'string',
  disableWAL: 'boolean',
  parallelismThreads: 'number',
  writeBufferSize: 'number',
  maxOpenFiles: 'number',
  noBlockCache: 'boolean',
  pessimistic: 'boolean',
  lockTimeout: 'number',
  checkpointsPath: 'string',
}

// The open options the native layer acts on (disableWAL aside).
const NATIVE_OPTIONS = [
  'readOnly',
  'compression',
  'createIfMissing',
  'name',
  'parallelismThreads',
  'writeBufferSize',
  'maxOpenFiles',
  'noBlockCache',
  'pessimistic',
  'lockTimeout',
]

// Sizes of the buffers shared with the native layer: most keys and values
// fit; larger ones take the general path.
const KEY_BUFFER_BYTES = 4096
const VALUE_BUFFER_BYTES = 64 * 1024

// Entries in the first batch of a range without a limit: enough for most
// short ranges to take one native call, few enough that a loop that stops at
// the first entry decodes little. A range with a limit up to
// MAX_FIRST_BATCH reads it all in its first batch.
const FIRST_BATCH = 32
const MAX_FIRST_BATCH = 1024

// Bits of rangeShared's `flags`.
const HAS_LOWER = 1
const LOWER_INCLUSIVE = 2
const HAS_UPPER = 4
const UPPER_INCLUSIVE = 8
const REVERSE = 16
const VALUES = 32

const RANGE_OPTION_TYPES = {
  reverse: 'boolean',
  exclusiveStart: 'boolean',
  inclusiveEnd: 'boolean',
  values: 'boolean',
  snapshot: 'boolean',
  limit: 'number',
  offset: 'number',
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
  const { compression, encoding } = options
  if (compression !== undefined && !['none', 'lz4', 'zstd'].includes(compression)) {
    throw invalidArgValue('options.compression', `must be 'none', 'lz4' or 'zstd'. Received ${JSON.stringify(compression)}`)
  }
  if (encoding !== undefined && encoding !== false && typeof encoding !== 'string') {
    throw invalidArgType('options.encoding', 'a string or false', encoding)
  }
  for (const name of ['parallelismThreads', 'writeBufferSize']) {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw invalidArgValue(`options.${name}`, `must be a positive integer. Received ${value}`)
    }
  }
  if (options.maxOpenFiles !== undefined && !Number.isInteger(options.maxOpenFiles)) {
    throw invalidArgValue('options.maxOpenFiles', `must be an integer. Received ${options.maxOpenFiles}`)
  }
  if (options.lockTimeout !== undefined && !(Number.isInteger(options.lockTimeout) && options.lockTimeout >= 0)) {
    throw invalidArgValue('options.lockTimeout', `must be a non-negative integer. Received ${options.lockTimeout}`)
  }
  if (options.name === '') throw invalidArgValue('options.name', 'must not be empty')
  return options
}

function checkRangeOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidArgType('options', 'an object', options)
  for (const [name, type] of Object.entries(RANGE_OPTION_TYPES)) {
    const value = options[name]
    if (value !== undefined && typeof value !== type) throw invalidArgType(`options.${name}`, `of type ${type}`, value)
  }
  for (const name of ['limit', 'offset']) {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw invalidArgValue(`options.${name}`, `must be a non-negative integer. Received ${value}`)
    }
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
  // Native iterators in flight, closed with the database so none outlives it.
  #iterators = new Set()
  #checkpoints = null
  // The fast path of the *Sync methods: keys are written into #keyBuffer,
  // values read into #valueBuffer, both shared with the native layer.
  #shared = null
  #writes = new WriteQueue(() => this.#db)
  #keyBuffer = null
  #valueBuffer = null

  /**
   * Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`.
   * @param {string} dbPath
   * @param {object} [options]
   */
  constructor(dbPath, options) {
    this.path = checkPath('path', dbPath)
    this.options = { ...checkOptions(options) }
    this.#keys = keyEncoder(this.options.keyEncoding)
    this.#values = valueEncoder(this.options.encoding, this.options.encoder)
  }

  /** The column family of this handle; `'default'` unless `name` was given. */
  get name() {
    return this.options.name ?? 'default'
  }

  /** Opens the database at `dbPath`, creating it and its parents when absent. */
  static open(dbPath, options) {
    return new RocksDatabase(dbPath, options).open()
  }

  /**
   * Opens this handle. Opening an open handle does nothing. A restore that a
   * crash interrupted is finished or undone first, and expired checkpoints
   * are pruned.
   */
  open() {
    if (this.#native === null || !this.#native.isOpen) {
      if (!this.readOnly) recoverRestore(this.path)
      const native = Object.fromEntries(NATIVE_OPTIONS.map((option) => [option, this.options[option]]))
      // napi-rs derives `disableWal` from the Rust field; users write disableWAL.
      native.disableWal = this.options.disableWAL
      this.#native = NativeDatabase.open(this.path, native)
      this.#keyBuffer ??= Buffer.allocUnsafeSlow(KEY_BUFFER_BYTES)
      this.#valueBuffer ??= Buffer.allocUnsafeSlow(VALUE_BUFFER_BYTES)
      this.#shared = this.#native.shareBuffers(this.#keyBuffer, this.#valueBuffer)
      if (!this.readOnly) {
        try {
          this.checkpoints.pruneSync()
        } catch {
          // A damaged registry must not keep the database from opening;
          // db.checkpoints reports it with ERR_CHECKPOINT_REGISTRY_CORRUPT.
        }
      }
    }
    return this
  }

  /**
   * The named checkpoints of this database, kept in `checkpointsPath`
   * (default: `<path>.checkpoints`).
   */
  get checkpoints() {
    this.#checkpoints ??= new CheckpointStore(this.options.checkpointsPath ?? `${this.path}.checkpoints`, this)
    return this.#checkpoints
  }

  /**
   * A new writable database at `targetPath`, branched from the live one: a
   * checkpoint opened with the same options. Isolated both ways.
   */
  async branch(targetPath) {
    await this.createCheckpoint(targetPath)
    const { checkpointsPath, readOnly, ...options } = this.options
    return RocksDatabase.open(targetPath, options)
  }

  /**
   * Rolls the closed database at `dbPath` back to the checkpoint at
   * `checkpointPath`. Its current state is first kept as a checkpoint named
   * `pre-restore-<time>`. Rejects with `ERR_DATABASE_OPEN` while it is open.
   */
  static async restore(dbPath, checkpointPath, options) {
    return restore(dbPath, checkpointPath, checkOptions(options))
  }

  /**
   * Closes the database. Idempotent. Operations already in flight settle
   * normally; RocksDB releases its files when the last of them is done.
   */
  close() {
    this.#writes.drain()
    for (const iterator of this.#iterators) iterator.close()
    this.#iterators.clear()
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

  /**
   * The decoded value of `key`, or `undefined`. A value RocksDB holds in
   * memory (memtable or block cache) is read at once; one that needs the
   * disk is read on libuv's pool, so the event loop never waits for I/O.
   */
  get(key) {
    return this.#getAsync(key, this.#values)
  }

  /** The decoded value of `key`, or `undefined`, read on the calling thread. */
  getSync(key) {
    const db = this.#db
    const keyLength = this.#keys.write(key, this.#keyBuffer)
    if (keyLength >= 0) {
      const length = getShared(this.#shared, keyLength)
      if (length < 0) return undefined
      if (length <= this.#valueBuffer.length) return this.#values.decodeAt(this.#valueBuffer, 0, length)
    }
    // A key or value too large for the shared buffers takes the general path.
    const bytes = db.getSync(this.#keys.encode(key))
    return bytes === undefined || bytes === null ? undefined : this.#values.decode(bytes)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`; read like `get()`. */
  getBinary(key) {
    return this.#getAsync(key, null)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`, read on the calling thread. */
  getBinarySync(key) {
    return this.#db.getSync(this.#keys.encode(key)) ?? undefined
  }

  /**
   * The Promise of `get()` (decoded by `values`) or of `getBinary()` (when
   * `values` is null): answered from what RocksDB holds in memory, through
   * the shared buffers, or else read on libuv's pool.
   */
  #getAsync(key, values) {
    try {
      if (this.#shared === null) throw databaseNotOpen()
      const keyLength = this.#keys.write(key, this.#keyBuffer)
      // -1: missing; -2: the answer needs the disk.
      const length = keyLength < 0 ? -2 : getInMemoryShared(this.#shared, keyLength)
      if (length === -1) return Promise.resolve(undefined)
      if (length >= 0 && length <= this.#valueBuffer.length) {
        const buffer = this.#valueBuffer
        return Promise.resolve(values === null ? Buffer.from(buffer.subarray(0, length)) : values.decodeAt(buffer, 0, length))
      }
      return this.#getFromPool(key, values)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async #getFromPool(key, values) {
    const bytes = await this.#db.get(this.#keys.encode(key))
    if (bytes === undefined || bytes === null) return undefined
    return values === null ? bytes : values.decode(bytes)
  }

  /**
   * Stores `value` under `key`. Resolves once RocksDB has accepted the write.
   * Puts and removes made together (in one turn of JavaScript, or while an
   * earlier batch is being written) go to RocksDB as one atomic batch.
   */
  put(key, value) {
    try {
      return this.#writes.put(this.#keys.encode(key), this.#values.encode(value))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Stores `value` under `key` on the calling thread. */
  putSync(key, value) {
    const db = this.#db
    const keyLength = this.#keys.write(key, this.#keyBuffer)
    const bytes = this.#values.encode(value)
    if (keyLength >= 0) putShared(this.#shared, keyLength, bytes)
    else db.putSync(this.#keys.encode(key), bytes)
  }

  /** Removes `key`. Removing a missing key is not an error. Batched like `put()`. */
  remove(key) {
    try {
      return this.#writes.remove(this.#keys.encode(key))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Removes `key` on the calling thread. */
  removeSync(key) {
    const db = this.#db
    const keyLength = this.#keys.write(key, this.#keyBuffer)
    if (keyLength >= 0) removeShared(this.#shared, keyLength)
    else db.removeSync(this.#keys.encode(key))
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

  /** The column families of the database on disk. */
  get columns() {
    return this.#db.columns()
  }

  #encodeRange(options) {
    const { start, end, reverse = false, exclusiveStart = false, inclusiveEnd = false, limit, offset, values = true } = options
    const first = start === undefined ? undefined : this.#keys.encode(start)
    const last = end === undefined ? undefined : this.#keys.encode(end)
    // `start` is where the scan begins: the upper bound when reversed.
    return reverse
      ? { upper: first, upperInclusive: !exclusiveStart, lower: last, lowerInclusive: inclusiveEnd, reverse, limit, offset, values }
      : { lower: first, lowerInclusive: !exclusiveStart, upper: last, upperInclusive: inclusiveEnd, reverse, limit, offset, values }
  }

  #range(options, values) {
    options = checkRangeOptions(options)
    const db = this.#db
    const range = { ...this.#encodeRange(options), values }
    const decodeKey = this.#keys.decodeAt
    const decodeValue = this.#values.decodeAt
    const decode = (buffer, length) => decodeBatch(buffer, length, decodeKey, decodeValue, values)
    return new RangeIterable(() => {
      if (!db.isOpen) throw databaseNotOpen()
      return this.#iterate(db, range, decode)
    })
  }

  /** Starts one iteration of an encoded range. */
  #iterate(db, range, decode) {
    const { lower, upper, limit } = range
    const lowerLength = lower === undefined ? 0 : lower.length
    const upperLength = upper === undefined ? 0 : upper.length
    let entries = []
    let native = null
    if (lowerLength + upperLength <= this.#keyBuffer.length) {
      // The fast start: bounds in the shared key buffer, the first batch back
      // in the shared value buffer, no native object unless more remains.
      if (lower !== undefined) this.#keyBuffer.set(lower, 0)
      if (upper !== undefined) this.#keyBuffer.set(upper, lowerLength)
      const flags =
        (lower === undefined ? 0 : HAS_LOWER) |
        (range.lowerInclusive ? LOWER_INCLUSIVE : 0) |
        (upper === undefined ? 0 : HAS_UPPER) |
        (range.upperInclusive ? UPPER_INCLUSIVE : 0) |
        (range.reverse ? REVERSE : 0) |
        (range.values ? VALUES : 0)
      const first = limit === undefined ? FIRST_BATCH : Math.max(1, Math.min(limit, MAX_FIRST_BATCH))
      const result = rangeShared(this.#shared, lowerLength, upperLength, flags, range.offset ?? 0, limit ?? -1, first)
      // Taken before decoding, so a throwing decoder cannot strand it.
      if (result < 0) native = takeRange(this.#shared)
      try {
        entries = decode(this.#valueBuffer, result < 0 ? -result - 1 : result)
      } catch (error) {
        native?.close()
        throw error
      }
    } else {
      native = db.iterate(range)
    }
    if (native === null) return new RangeIterator(entries, null, decode, () => {})
    const iterators = this.#iterators
    iterators.add(native)
    return new RangeIterator(entries, native, decode, () => {
      iterators.delete(native)
      if (!db.isOpen) throw databaseNotOpen()
    })
  }

  /**
   * A lazy range of `{ key, value }` in key order. Options: `start`, `end`
   * (exclusive), `exclusiveStart`, `inclusiveEnd`, `reverse` (then `start` is
   * the upper bound), `limit`, `offset`, `values: false` for keys only.
   * Each iteration reads from one consistent snapshot.
   */
  getRange(options) {
    const values = checkRangeOptions(options).values !== false
    return this.#range(options, values)
  }

  /** A lazy range of keys only; the options of `getRange()`. */
  getKeys(options) {
    return this.#range(options, false)
  }

  /** How many keys a range holds; the options of `getRange()`. */
  getKeysCount(options) {
    return this.#db.count({ ...this.#encodeRange(checkRangeOptions(options)), values: false })
  }

  /**
   * Runs `callback(txn)` in a transaction (optimistic unless the database was
   * opened with `pessimistic: true`) and commits when its Promise resolves;
   * aborts when it throws. A write conflict retries the callback up to
   * `maxRetries` times (3), after a short pause that lets the transaction
   * holding the key finish, and then rejects with `ERR_TRANSACTION_CONFLICT`.
   */
  transaction(callback, options) {
    return runTransaction(() => this.#beginTransaction(), callback, options)
  }

  /** The synchronous form of `transaction()`. */
  transactionSync(callback, options) {
    return runTransactionSync(() => this.#beginTransaction(), callback, options)
  }

  /** Checks and encodes the range options of a transaction's `getRange()`. */
  #encodeTransactionRange = (options) => {
    options = checkRangeOptions(options)
    return { ...this.#encodeRange(options), values: options.values !== false }
  }

  #beginTransaction() {
    const db = this.#db
    // Pessimistic transactions lock keys as they write, so they begin at once;
    // so does any on a read-only database, to refuse it now. `readOnly` also
    // throws ERR_DATABASE_CLOSED on a closed database.
    const eager = this.options.pessimistic === true || db.readOnly
    return new Transaction(db, eager, this.#keys, this.#values, this.#encodeTransactionRange)
  }

  /** Removes every key of this column family. */
  async clear() {
    await this.#db.clear()
  }

  /** Removes every key of this column family on the calling thread. */
  clearSync() {
    this.#db.clearSync()
  }

  /** Drops this column family (not the default one) and closes the handle. */
  async drop() {
    await this.#db.drop()
  }

  /** Drops this column family on the calling thread and closes the handle. */
  dropSync() {
    this.#db.dropSync()
  }

  /** Closes the database and deletes it from disk. */
  async destroy() {
    // Writes already made are written first: their Promises settle, and
    // RocksDB is let go before its files are deleted.
    const writes = this.#writes.drain()
    this.close()
    await writes
    destroyDatabase(this.path)
  }

  #compactBounds(options) {
    options = checkRangeOptions(options)
    return [options.start === undefined ? undefined : this.#keys.encode(options.start), options.end === undefined ? undefined : this.#keys.encode(options.end)]
  }

  /** Compacts this column family, or the `start`..`end` part of it. */
  async compact(options) {
    await this.#db.compact(...this.#compactBounds(options))
  }

  /** Compacts on the calling thread. */
  compactSync(options) {
    this.#db.compactSync(...this.#compactBounds(options))
  }

  /** A RocksDB property as text (such as `'rocksdb.stats'`), or `undefined`. */
  getDBProperty(name) {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
    return this.#db.getProperty(name) ?? undefined
  }

  /** A numeric RocksDB property (such as `'rocksdb.estimate-num-keys'`), or `undefined`. */
  getDBIntProperty(name) {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
    return this.#db.getIntProperty(name) ?? undefined
  }

  /** RocksDB's estimate of the number of keys (`rocksdb.estimate-num-keys`). */
  estimateCount() {
    return this.getDBIntProperty('rocksdb.estimate-num-keys') ?? 0
  }

  /** Sizes and counts of this column family, from RocksDB's properties. */
  getStats() {
    const int = (name) => this.getDBIntProperty(name) ?? 0
    return {
      estimatedKeys: int('rocksdb.estimate-num-keys'),
      liveDataBytes: int('rocksdb.estimate-live-data-size'),
      sstFilesBytes: int('rocksdb.total-sst-files-size'),
      memtableBytes: int('rocksdb.cur-size-all-mem-tables'),
      sequence: this.getLatestSequenceNumber(),
      text: this.getDBProperty('rocksdb.stats'),
    }
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
const ERROR_CODES = Object.freeze(
  [
    ...new Set([
      ...errorCodes(),
      'ERR_INVALID_ARG_TYPE',
      'ERR_CHECKPOINT_EXISTS',
      'ERR_CHECKPOINT_NOT_FOUND',
      'ERR_CHECKPOINT_REGISTRY_CORRUPT',
    ]),
  ].sort(),
)

module.exports = { RocksDatabase, CheckpointStore, ERROR_CODES }
