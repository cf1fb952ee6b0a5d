'use strict'

/**
 * Writes of a database handle: puts and removals (batched, or on the
 * calling thread), transactions, flushes, clearing, dropping and compacting
 * a column family, and checkpoints. Built on ./ranges, which transactions'
 * ranges use.
 */

const path = require('node:path')
const { invalidArgType, invalidArgValue, checkPath } = require('../errors')
const { checkRangeOptions } = require('../range')
const { Transaction, kInternal } = require('../transaction')
const { runTransaction, runTransactionSync, disableSnapshotOf, coordinatedRetryOf } = require('../transaction-run')
const { slotOf, guardWrite, verificationSweep } = require('../verification')
const { transactionLogMarks, transactionLogFlushed } = require('../binding')
const { DatabaseRanges } = require('./ranges')
const { kKeys, kValues, kDb, kSharedPath, kPooled, kFailed, kTransactions, kWrites, kListeners, kEncodeRange, kTransactionParts } = require('./internal')

// Transaction ids, counted per database path (rocksdb-js's are unique to a
// path, whatever the column family), as 32-bit unsigned integers.
const transactionIds = new Map()
function nextTransactionId(dbPath) {
  const id = ((transactionIds.get(dbPath) ?? 0) + 1) >>> 0 || 1
  transactionIds.set(dbPath, id)
  return id
}

/** Checks the options of `flush()`: `allowWriteStall`, a boolean. */
function checkFlushOptions(options) {
  if (options === undefined) return
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  if (options.allowWriteStall !== undefined && typeof options.allowWriteStall !== 'boolean') {
    throw invalidArgType('options.allowWriteStall', 'a boolean', options.allowWriteStall)
  }
}

/** Writes; see `RocksDatabase`. */
class DatabaseWrites extends DatabaseRanges {
  /**
   * Writes in `transaction`: by the transaction itself when it began on this
   * handle's family, else in this family with this handle's encodings,
   * committed with the transaction's other writes.
   */
  #putIn(transaction, key, value) {
    if (Transaction.actsOn(transaction, this.path, this.name)) return transaction.putSync(key, value)
    const encoded = this[kKeys].encode(key)
    transaction.putSyncIn(this.name, encoded, this[kValues].encode(value), this.#slotOf(encoded))
  }

  #removeIn(transaction, key) {
    if (Transaction.actsOn(transaction, this.path, this.name)) return transaction.removeSync(key)
    const encoded = this[kKeys].encode(key)
    transaction.removeSyncIn(this.name, encoded, this.#slotOf(encoded))
  }

  /** Whether this family is in the verification table (`verificationTable: true`): its writes move their keys' slots. */
  get #tracked() {
    return this.options.verificationTable === true
  }

  /** The verification table's slot of the encoded `key` when this family is in the table. */
  #slotOf(encoded) {
    return this.#tracked ? slotOf(this[kDb], this.name, encoded) : undefined
  }

  /** `write()`, holding the slot of the encoded key meanwhile (this family is in the verification table). */
  #verified(encoded, write) {
    return guardWrite(this.#slotOf(encoded), write)
  }

  /**
   * Stores `value` under `key`. Resolves once RocksDB has accepted the write.
   * Puts and removes made together (in one turn of JavaScript, or while an
   * earlier batch is being written) go to RocksDB as one atomic batch.
   */
  put(key, value, options) {
    const transaction = options?.transaction
    if (transaction) {
      try {
        this.#putIn(transaction, key, value)
        return Promise.resolve()
      } catch (error) {
        return Promise.reject(error)
      }
    }
    try {
      const encoded = this[kKeys].encode(key)
      if (this.#tracked) return this.#verified(encoded, () => this[kWrites].put(encoded, this[kValues].encode(value)))
      return this[kWrites].put(encoded, this[kValues].encode(value))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Stores `value` under `key` on the calling thread. */
  putSync(key, value, options) {
    const transaction = options?.transaction
    if (transaction) return this.#putIn(transaction, key, value)
    const path = this[kSharedPath]
    // Encoded first: encoding may run user code, which may use this database.
    const bytes = this[kValues].encode(value)
    try {
      // The shared path encodes the key itself; the slot needs it too.
      if (this.#tracked) this.#verified(this[kKeys].encode(key), () => path.put(key, bytes))
      else path.put(key, bytes)
    } catch (error) {
      throw this[kFailed](error)
    }
  }

  /** Removes `key`. Removing a missing key is not an error. Batched like `put()`. */
  remove(key, options) {
    const transaction = options?.transaction
    if (transaction) {
      try {
        this.#removeIn(transaction, key)
        return Promise.resolve()
      } catch (error) {
        return Promise.reject(error)
      }
    }
    try {
      const encoded = this[kKeys].encode(key)
      if (this.#tracked) return this.#verified(encoded, () => this[kWrites].remove(encoded))
      return this[kWrites].remove(encoded)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Removes `key` on the calling thread. */
  removeSync(key, options) {
    const transaction = options?.transaction
    if (transaction) return this.#removeIn(transaction, key)
    const path = this[kSharedPath]
    try {
      if (this.#tracked) this.#verified(this[kKeys].encode(key), () => path.remove(key))
      else path.remove(key)
    } catch (error) {
      throw this[kFailed](error)
    }
  }

  /**
   * Flushes the memtables of every column family of the database to SST
   * files (as rocksdb-js does), on a worker thread: writes made with
   * `disableWAL` are then on disk. `options.allowWriteStall` (rocksdb-js's)
   * is accepted; RocksDB's default holds here, a flush waiting rather than
   * stalling writes.
   */
  async flush(options) {
    checkFlushOptions(options)
    // What the transaction logs hold of transactions committed before the
    // flush began is in SST files once it is done: replays start after it.
    const marks = transactionLogMarks(this.path)
    try {
      await this[kPooled]((db) => db.flush())
    } catch (error) {
      throw this[kFailed](error)
    }
    transactionLogFlushed(this.path, marks)
  }

  /** `flush()` on the calling thread. */
  flushSync(options) {
    checkFlushOptions(options)
    const marks = transactionLogMarks(this.path)
    try {
      this[kDb].flushSync()
    } catch (error) {
      throw this[kFailed](error)
    }
    transactionLogFlushed(this.path, marks)
  }

  /**
   * Runs `callback(txn)` in a transaction (optimistic unless the database was
   * opened with `pessimistic: true`) and commits when its Promise resolves;
   * aborts when it throws. A write conflict retries the callback up to
   * `maxRetries` times (3), after a short pause that lets the transaction
   * holding the key finish, and then rejects with `ERR_BUSY`.
   */
  transaction(callback, options) {
    return runTransaction(() => this.#beginTransaction(options), callback, options, this.#events)
  }

  /** The synchronous form of `transaction()`. */
  transactionSync(callback, options) {
    return runTransactionSync(() => this.#beginTransaction(options), callback, options, this.#events)
  }

  // rocksdb-js's transaction events ('begin-transaction', 'beforecommit',
  // 'committed', 'aftercommit'), told to listeners asynchronously, as notify() does.
  #events = { emit: (name, payload) => this[kListeners].notify(name, [payload], this) }

  /** Checks and encodes the range options of a transaction's `getRange()`. */
  #encodeTransactionRange = (options) => {
    options = checkRangeOptions(options)
    return { ...this[kEncodeRange](options), values: options.values !== false }
  }

  #beginTransaction(options) {
    return new Transaction(kInternal, this[kTransactionParts](options))
  }

  /** What a new transaction on this handle is made of (see `Transaction`), for `options`. */
  [kTransactionParts](options) {
    const db = this[kDb]
    return {
      db,
      // Pessimistic transactions lock keys as they write, so their writes
      // go to the native transaction; any on a read-only database begins at
      // once, to refuse it now.
      // `readOnly` also throws ERR_DATABASE_CLOSED on a closed database.
      eager: this.options.pessimistic === true || db.readOnly,
      keys: this[kKeys],
      values: this[kValues],
      encodeRange: this.#encodeTransactionRange,
      registry: this[kTransactions],
      id: nextTransactionId(this.path),
      owner: { path: this.path, name: this.name },
      store: this.store,
      disableSnapshot: disableSnapshotOf(options),
      verificationTable: this.options.verificationTable === true,
      coordinatedRetry: coordinatedRetryOf(options),
    }
  }

  /** Removes every key of this column family. */
  async clear() {
    try {
      await this[kPooled]((db) => db.clear())
    } finally {
      this.#sweep()
    }
  }

  /** Removes every key of this column family on the calling thread. */
  clearSync() {
    try {
      this[kDb].clearSync()
    } finally {
      this.#sweep()
    }
  }

  /**
   * After a whole family in the verification table was cleared or dropped,
   * no version recorded for it is the latest any more: every slot moves
   * (the table cannot tell a family's slots from another's).
   */
  #sweep() {
    if (this.#tracked) verificationSweep()
  }

  /**
   * Drops this column family and closes the handle; on the default family,
   * which RocksDB cannot drop, removes every key instead (rocksdb-js's
   * `drop()`: "removes all entries").
   */
  async drop() {
    if (this.name === 'default') return this.clear()
    try {
      await this[kDb].drop()
    } finally {
      this.#sweep()
    }
  }

  /** The synchronous form of `drop()`. */
  dropSync() {
    if (this.name === 'default') return this.clearSync()
    try {
      this[kDb].dropSync()
    } finally {
      this.#sweep()
    }
  }

  #compactBounds(options) {
    options = checkRangeOptions(options)
    return [options.start === undefined ? undefined : this[kKeys].encode(options.start), options.end === undefined ? undefined : this[kKeys].encode(options.end)]
  }

  /** Compacts this column family, or the `start`..`end` part of it. */
  async compact(options) {
    const bounds = this.#compactBounds(options)
    await this[kPooled]((db) => db.compact(...bounds))
  }

  /** Compacts on the calling thread. */
  compactSync(options) {
    this[kDb].compactSync(...this.#compactBounds(options))
  }

  /**
   * Writes a checkpoint of the live database to `targetPath`: a consistent,
   * independent, writable copy that holds every write acknowledged before the
   * call. SST files are hardlinked where the filesystem allows and copied
   * where it does not. Runs on a worker thread.
   */
  async createCheckpoint(targetPath) {
    const target = checkPath('targetPath', targetPath)
    // Spelt inside the database: refused here. Inside through a symlink: the
    // native layer, which resolves the path on the pool, refuses it too.
    const relative = path.relative(this.path, target)
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      throw invalidArgValue('targetPath', `must not be inside the database directory ${this.path}`)
    }
    try {
      await this[kPooled]((db) => db.createCheckpoint(target))
    } catch (error) {
      throw this[kFailed](error)
    }
  }
}

module.exports = { DatabaseWrites }
