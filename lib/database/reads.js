'use strict'

/**
 * Point reads of a database handle: `get` (the value itself when RocksDB
 * holds it in memory, else a Promise read on the pool), `getSync` and the
 * binary forms. Built on ./lifecycle.
 */

const { invalidArgType, databaseNotOpen } = require('../errors')
const { NEEDS_DISK } = require('../fast')
const { Transaction } = require('../transaction')
const { DatabaseLifecycle } = require('./lifecycle')
const { kKeys, kValues, kSharedPath, kPooled, kDb } = require('./internal')
const { isVersioned, readVersioned, slotOf, snapshotsAllow, isNotUnique } = require('../verification')

const NO_OPTIONS = Object.freeze({})
const SKIP_DECODE = Object.freeze({ skipDecode: true })

/** The options of `get()`: `skipDecode`, `transaction`. */
function getOptions(options) {
  // No object made per read on the hot path.
  if (options === undefined || options === null) return NO_OPTIONS
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  return options
}

/** Reads by key; see `RocksDatabase`. */
class DatabaseReads extends DatabaseLifecycle {
  /**
   * The stored bytes (`raw`) or decoded value of `key` read in
   * `transaction`: by the transaction itself when it began on this
   * handle's family, else in this family with this handle's encodings.
   */
  #readIn(transaction, key, raw) {
    if (Transaction.actsOn(transaction, this.path, this.name)) return transaction.getSync(key, raw ? SKIP_DECODE : undefined)
    const bytes = transaction.getSyncIn(this.name, this[kKeys].encode(key))
    return bytes === undefined || raw ? bytes : this[kValues].decode(bytes)
  }

  /**
   * A read with `expectedVersion` or `populateVersion` (see
   * ../verification): `FRESH_VERSION_FLAG` when the caller's version is
   * the latest, else the value (its bytes when `raw`), a Promise of it when
   * `sync` is false.
   */
  #readVersioned(key, options, raw, sync) {
    // The table could answer without touching the database: a closed one
    // still refuses.
    if (!this.isOpen()) throw databaseNotOpen()
    const { transaction } = options
    if (transaction) return this.#readInVersioned(transaction, key, options, raw, sync)
    const encoded = this[kKeys].encode(key)
    const context = {
      slot: slotOf(this[kDb], this.name, encoded),
      verifyFirst: true,
      mayPublish: (version) => snapshotsAllow(this, version),
    }
    const read = sync ? () => this.getBinarySync(key) : () => this.#getAsync(key, null)
    const decode = (bytes) => (bytes === undefined || typeof bytes === 'number' || raw ? bytes : this[kValues].decode(bytes))
    const answer = readVersioned(context, options, read)
    return answer instanceof Promise ? answer.then(decode) : sync ? decode(answer) : Promise.resolve(decode(answer))
  }

  /** `#readVersioned` in a transaction: its own read, which the commit checks, always made. */
  #readInVersioned(transaction, key, options, raw, sync) {
    const own = Transaction.actsOn(transaction, this.path, this.name)
    const encoded = this[kKeys].encode(key)
    const context = {
      slot: slotOf(this[kDb], this.name, encoded),
      verifyFirst: false,
      // A transaction that wrote may read its own writes, not yet committed.
      mayPublish: (version) => !Transaction.hasWritten(transaction) && snapshotsAllow(this, version),
      isLatest: (version) => {
        const latest = this.getBinarySync(key)
        return latest === undefined || !isNotUnique(latest) || latest.readDoubleBE(0) !== version
      },
    }
    const read = () => (own ? transaction.getSync(key, SKIP_DECODE) : transaction.getSyncIn(this.name, encoded))
    const answer = readVersioned(context, options, read)
    const value = answer === undefined || typeof answer === 'number' || raw ? answer : this[kValues].decode(answer)
    return sync ? value : Promise.resolve(value)
  }

  /** `#readVersioned` as a Promise that carries its errors too. */
  async #readVersionedAsync(key, options, raw) {
    return this.#readVersioned(key, options, raw, false)
  }

  /** `#readIn` as a Promise: every error of `get()` is a rejected Promise. */
  async #readInAsync(transaction, key, raw) {
    return this.#readIn(transaction, key, raw)
  }

  /**
   * The decoded value of `key`, or `undefined`. A value RocksDB holds in
   * memory (memtable or block cache) is returned as it is; one that needs
   * the disk comes as a Promise, read on libuv's pool, so the event loop
   * never waits for I/O. Options: `skipDecode`, `transaction`.
   */
  get(key, options) {
    const { transaction, skipDecode } = getOptions(options)
    if (options && isVersioned(options)) return this.#readVersionedAsync(key, options, skipDecode === true)
    if (transaction) return this.#readInAsync(transaction, key, skipDecode === true)
    return this.#getAsync(key, skipDecode ? null : this[kValues])
  }

  /**
   * The decoded value of `key`, or `undefined`, read on the calling thread.
   * Options: `skipDecode` (the stored bytes), `transaction` (read in it).
   */
  getSync(key, options) {
    const { transaction, skipDecode } = getOptions(options)
    if (options && isVersioned(options)) return this.#readVersioned(key, options, skipDecode === true, true)
    if (transaction) return this.#readIn(transaction, key, skipDecode === true)
    return skipDecode ? this[kSharedPath].getBinary(key) : this[kSharedPath].get(key, this[kValues])
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`; read like `get()`. */
  getBinary(key, options) {
    const { transaction } = getOptions(options)
    if (options && isVersioned(options)) return this.#readVersionedAsync(key, options, true)
    if (transaction) return this.#readInAsync(transaction, key, true)
    return this.#getAsync(key, null)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`, read on the calling thread. */
  getBinarySync(key, options) {
    const { transaction } = getOptions(options)
    if (options && isVersioned(options)) return this.#readVersioned(key, options, true, true)
    if (transaction) return this.#readIn(transaction, key, true)
    return this[kSharedPath].getBinary(key)
  }

  /** rocksdb-js's name of `getBinary()`. */
  getBinaryFast(key, options) {
    return this.getBinary(key, options)
  }

  /** rocksdb-js's name of `getBinarySync()`. */
  getBinaryFastSync(key, options) {
    return this.getBinarySync(key, options)
  }

  /**
   * `get()` (decoded by `values`) or `getBinary()` (when `values` is null),
   * as rocksdb-js answers it (`MaybePromise`): the value itself when RocksDB
   * holds it in memory (memtable or block cache), read through the shared
   * buffers; else a Promise of it, read on libuv's pool. Errors are always
   * a rejected Promise.
   */
  #getAsync(key, values) {
    try {
      const value = this[kSharedPath].getInMemory(key, values)
      return value === NEEDS_DISK ? this.#getFromPool(key, values) : value
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async #getFromPool(key, values) {
    const encoded = this[kKeys].encode(key)
    const bytes = await this[kPooled]((db) => db.get(encoded))
    if (bytes === undefined || bytes === null) return undefined
    return values === null ? bytes : values.decode(bytes)
  }
}

module.exports = { DatabaseReads }
