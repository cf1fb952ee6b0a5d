'use strict'

const { invalidArgType, invalidArgValue, databaseNotOpen, transactionDone, transactionAbandoned } = require('./errors')
const { RangeIterable, decodeBatch, lastKeyOf, rangeFlags, packBounds } = require('./range')
const { PackedWrites } = require('./batch')
// A range read in a transaction starts with a batch of RANGE_FIRST_BATCH
// entries; each next batch doubles, up to RANGE_MAX_BATCH.
const { RANGE_FIRST_BATCH, RANGE_MAX_BATCH } = require('./binding')
const { DBI } = require('./dbi')
const { Store, kOwner } = require('./database/store')
const { kTransactionParts } = require('./database/internal')
const { isVersioned, slotOf, WriteIntents } = require('./verification')

const { LogBatch, boundLog, sequenceAfter } = require('./transaction-log')
const SKIP_DECODE = Object.freeze({ skipDecode: true })

// The open transactions of the process, by database path and id, for
// `TransactionLog.addEntry(data, txnId)`.
const openTransactions = new Map()
const transactionKey = (dbPath, id) => `${dbPath}\0${id}`

// Marks the construction of a transaction by a database handle, which hands
// over its parts itself.
const kInternal = Symbol('internal')

/**
 * A transaction handed to the callback of `db.transaction()`. Reads see its
 * own writes over one snapshot, taken at its first read; writes become
 * visible to others only at commit, all at once.
 *
 * An optimistic transaction begins its native RocksDB transaction at its
 * first read: until then it packs its writes into a buffer, and if it never
 * reads, the commit writes them as one atomic batch. Writes made before any
 * read need no snapshot (nothing they depend on was read), so this commits
 * exactly what the native transaction would, and a transaction of blind writes
 * costs one native call. A pessimistic transaction begins at its first read
 * or write, because its writes lock their keys as they are made (so, as in
 * rocksdb-js, it holds no snapshot until it does something).
 */
class Transaction extends DBI {
  #db
  #native
  #keys
  #values
  #encodeRange
  #open = true
  /** Set when the database closed under the transaction. */
  #closed = false
  /** The open transactions of the database; this one is in it while open. */
  #registry
  /** Writes not yet given to a native transaction. */
  #writes = new PackedWrites()
  /** Whether anything was written: a transaction that only read has nothing to commit. */
  #wrote = false
  /** Set by abandonWrites(): reads only from then on. */
  #abandoned = false
  /** How it ended: 'committed' or 'aborted' (null while open). */
  #ended = null
  /** rocksdb-js's transaction timestamp: milliseconds since the epoch, with a fraction. */
  #timestamp = nowMilliseconds()
  /** The database path and column family the transaction reads and writes. */
  #owner
  /** The store of the handle it began on. */
  #store
  /** Pessimistic (or read-only): every write goes to the native transaction. */
  #eager
  /** rocksdb-js's `disableSnapshot`: reads see the latest commits. */
  #disableSnapshot
  /** Whether its own family is in the verification table (`verificationTable: true`). */
  #verified
  /** The verification table's slots its writes hold until they end (../verification). */
  #intents = new WriteIntents()
  /** rocksdb-js's `coordinatedRetry`: a conflict at commit resolves RETRY_NOW_VALUE. */
  #coordinatedRetry
  /** The conflict a commit answered RETRY_NOW_VALUE for. */
  #conflict = null
  /** Set by a conflict's reset, until the transaction is used again: `transaction()` may run it again. */
  #wasReset = false
  /** Its transaction log entries (../transaction-log), made at the first. */
  #logs = null

  /**
   * Begins a transaction on the handle of `store` (`db.store`), as
   * rocksdb-js's `new Transaction(store, options)` does, outside of
   * `db.transaction()`: commit or abort it yourself, and pass it as the
   * `transaction` option of any handle of the database. `options`:
   * `disableSnapshot: true` makes every read see the latest commits (and a
   * conflict is then a change after the read, not after the beginning);
   * `coordinatedRetry: true` makes a commit that conflicts resolve
   * `constants.RETRY_NOW_VALUE` (run the work again now) instead of
   * rejecting with `ERR_BUSY`, as rocksdb-js's does.
   * @param {Store} store the store of an open handle
   * @param {object} [options]
   */
  constructor(store, options) {
    super()
    const parts = store === kInternal ? options : partsOf(store, options)
    const { db, eager, keys, values, encodeRange, registry, id, owner, disableSnapshot = false, verificationTable = false, coordinatedRetry = false } = parts
    /** The transaction's id: a 32-bit unsigned integer unique to its database path. */
    this.id = id
    this.#db = db
    this.#disableSnapshot = disableSnapshot
    this.#verified = verificationTable
    this.#coordinatedRetry = coordinatedRetry
    // A read-only database refuses a transaction here, at its beginning.
    this.#native = eager && db.readOnly ? db.beginTransaction(disableSnapshot) : null
    this.#eager = eager
    this.#keys = keys
    this.#values = values
    this.#encodeRange = encodeRange
    this.#registry = registry
    this.#owner = owner
    openTransactions.set(transactionKey(owner.path, id), this)
    this.#store = parts.store
    registry.add(this)
  }

  /** The `Store` of the handle the transaction began on. */
  get store() {
    return this.#store
  }

  /**
   * Checks `transaction`, the `transaction` option of a call on the handle
   * of `path` and column family `name`: `true` when the transaction began
   * on that family (its own methods serve the call), `false` when it began
   * on another family of the same database (the call goes through
   * `getSyncIn`, `putSyncIn` and `removeSyncIn`, with the handle's own
   * encodings). A transaction of another database is refused.
   */
  static actsOn(transaction, path, name) {
    if (!(transaction instanceof Transaction)) {
      // rocksdb-js's words: an object with an id names a transaction it has not got.
      const lead = transaction !== null && typeof transaction === 'object' && 'id' in transaction ? 'Transaction not found' : 'Invalid transaction'
      throw invalidArgType('options.transaction', 'a Transaction', transaction, lead)
    }
    const owner = transaction.#owner
    if (owner.path !== path) {
      throw invalidArgValue('options.transaction', `was begun on the database ${owner.path}; it cannot act on ${path}`)
    }
    return owner.name === name
  }

  /**
   * The stored bytes of the encoded `key` in the column family `family` of
   * the transaction's database, as the transaction sees them, or
   * `undefined`; tracked for conflicts as `getSync()` is.
   */
  getSyncIn(family, key) {
    return this.#reader().getSync(key, family) ?? undefined
  }

  /**
   * Writes the encoded `value` under the encoded `key` in the column family
   * `family` of the transaction's database; committed with the rest.
   */
  putSyncIn(family, key, value, slot) {
    this.#checkWritable()
    if (slot !== undefined) this.#intents.hold(slot)
    // A write in another family needs the native transaction: the packed
    // writes of a transaction that has not read are of its own family.
    this.#reader().putSync(key, value, family)
    this.#wrote = true
  }

  /** Removes the encoded `key` from the column family `family`; committed with the rest. */
  removeSyncIn(family, key, slot) {
    this.#checkWritable()
    if (slot !== undefined) this.#intents.hold(slot)
    this.#reader().removeSync(key, family)
    this.#wrote = true
  }

  /** Throws unless the transaction can still be used. */
  #check() {
    if (this.#open) return
    throw this.#closed ? databaseNotOpen() : transactionDone()
  }

  /** Throws unless the transaction can still write and commit. */
  #checkWritable() {
    this.#check()
    // Written to again: no longer as a conflict's reset left it.
    this.#wasReset = false
    if (this.#abandoned) throw transactionAbandoned()
  }

  /**
   * The transaction's start time in milliseconds since the epoch, with a
   * fraction (as rocksdb-js gives it); by default when it was made.
   */
  getTimestamp() {
    return this.#timestamp
  }

  /** Sets the start time (milliseconds, with a fraction, above 0); without `ts`, now. */
  setTimestamp(ts) {
    if (ts === undefined) ts = nowMilliseconds()
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts <= 0) {
      throw invalidArgType('ts', 'a positive number of milliseconds', ts, 'Invalid timestamp, expected positive number')
    }
    this.#timestamp = ts
  }

  /**
   * Bars further writes and the commit (they throw
   * `ERR_TRANSACTION_ABANDONED`); reads keep working until the transaction
   * ends. Idempotent; nothing after `abort()`.
   */
  abandonWrites() {
    if (this.#open) this.#abandoned = true
    // rocksdb-js's: the abandoned writes no longer hold their slots.
    this.#intents.release()
  }

  /** How many keys a range holds as this transaction sees it; the options of `getRange()`. */
  getKeysCount(options) {
    let count = 0
    for (const _ of this.getKeys(options)) count++
    return count
  }

  /** Ends the transaction for good: it no longer holds the database. */
  #end() {
    this.#open = false
    this.#writes = null
    this.#registry.delete(this)
    openTransactions.delete(transactionKey(this.#owner.path, this.id))
  }

  /** The database closed: abort, and refuse everything after with ERR_DATABASE_CLOSED. */
  static close(transaction) {
    if (!transaction.#open) return
    transaction.#closed = true
    transaction.#discard()
  }

  /** Aborts `transaction` if it is open, whatever ended it before: for `transaction()` after a failure. */
  static discard(transaction) {
    transaction.#discard()
  }

  /** Whether `transaction` wrote anything: its reads may then see writes not yet committed. */
  static hasWritten(transaction) {
    return transaction.#wrote
  }

  /** The open transaction `id` of the database at `dbPath`, if there is one. */
  static find(dbPath, id) {
    return openTransactions.get(transactionKey(dbPath, id))
  }

  /** Whether `transaction` wrote entries to a transaction log that its commit has not ended. */
  static hasLogged(transaction) {
    return transaction.#logs?.logged === true
  }

  /** Whether a conflict reset `transaction` and it was not used since: it can run again. */
  static isReset(transaction) {
    return transaction.#wasReset && transaction.#open
  }

  /**
   * Adds an entry to the transaction log `name` (whose files rotate past
   * `maxSize` bytes), written with the transaction's others just before it
   * commits. A transaction's entries are written once: after a conflict
   * reset it, the entries its first commit wrote stand, and new ones are
   * not added (as in rocksdb-js, so a retry does not log twice).
   */
  addLogEntry(name, maxSize, data) {
    this.#checkWritable()
    this.#wasReset = false
    this.#logs ??= new LogBatch(this.#owner.path)
    this.#logs.add(name, maxSize, data)
  }

  /**
   * The transaction log `name` of the database (`db.useLog(name)`) bound to
   * this transaction: its `addEntry(data)` adds to this transaction.
   */
  useLog(name) {
    this.#check()
    return boundLog(this.#store[kOwner].useLog(name), this.id)
  }

  /** The native transaction, begun now if it was not yet, with the writes made so far. */
  #reader() {
    this.#check()
    if (this.#native === null) {
      const native = this.#db.beginTransaction(this.#disableSnapshot)
      if (!this.#writes.isEmpty) {
        try {
          native.apply(this.#writes.bytes())
        } catch (error) {
          // Nothing changes: the writes stay packed for a later attempt.
          native.abort()
          throw error
        }
      }
      this.#native = native
      this.#writes = null
    }
    return this.#native
  }

  /**
   * A lazy range of `{ key, value }` as this transaction sees it: its own
   * writes over its snapshot. The options of `db.getRange()`. Iterate it
   * before the transaction ends; after, it throws `ERR_TRANSACTION_DONE`.
   * Unlike `getSync()`, a range is not tracked: a key another writer adds to
   * it before the commit is not a conflict.
   */
  getRange(options) {
    const range = this.#encodeRange(options)
    return this.#range(range, range.values !== false)
  }

  /** A lazy range of keys only, as this transaction sees it; the options of `getRange()`. */
  getKeys(options) {
    return this.#range({ ...this.#encodeRange(options), values: false }, false)
  }

  /**
   * A lazy range, as `getRange()` gives, of the column family `family` of
   * the transaction's database: `range` encoded by that family's handle,
   * its keys and values decoded by `decodeKey` and `decodeValue`.
   */
  rangeIn(family, range, values, decodeKey, decodeValue) {
    this.#check()
    return this.#range(range, values, family, decodeKey, decodeValue)
  }

  #range(range, values, family, decodeKey = this.#keys.decodeAt, decodeValue = this.#values.decodeAt) {
    const reader = () => this.#reader()
    // Each batch is read by an iterator of its own, so no iterator outlives
    // the transaction; the next batch resumes after the last key read.
    return new RangeIterable(function* () {
      let current = { ...range, values }
      let remaining = range.limit
      let batch = RANGE_FIRST_BATCH
      while (remaining === undefined || remaining > 0) {
        const bytes = reader().rangeBatch(
          packBounds(current),
          current.lower?.length ?? 0,
          rangeFlags(current),
          current.offset ?? 0,
          remaining === undefined ? batch : Math.min(batch, remaining),
          family,
        )
        if (bytes == null) return
        const entries = decodeBatch(bytes, bytes.length, decodeKey, decodeValue, values)
        if (remaining !== undefined) remaining -= entries.length
        const after = lastKeyOf(bytes, values)
        current = current.reverse
          ? { ...current, upper: after, upperInclusive: false, offset: 0 }
          : { ...current, lower: after, lowerInclusive: false, offset: 0 }
        batch = Math.min(batch * 2, RANGE_MAX_BATCH)
        yield* entries
      }
    })
  }

  /**
   * The decoded value of `key` as this transaction sees it, or `undefined`.
   * In an optimistic transaction the key is tracked: if another write changes
   * it before this transaction commits, the commit is a conflict (and the
   * callback of `transaction()` runs again).
   */
  getSync(key, options) {
    if (options && isVersioned(options)) {
      // Through the handle it began on, which knows the table's slots.
      return this.#store[kOwner].getSync(key, { ...options, transaction: this })
    }
    const bytes = this.#reader().getSync(this.#keys.encode(key))
    if (bytes == null) return undefined
    return options?.skipDecode ? bytes : this.#values.decode(bytes)
  }

  /** The stored bytes of `key` as this transaction sees them, or `undefined`; tracked as `getSync()`. */
  getBinarySync(key, options) {
    return this.getSync(key, options ? { ...options, skipDecode: true } : SKIP_DECODE)
  }

  /** Promise form of `getBinarySync()`. */
  async getBinary(key, options) {
    return this.getBinarySync(key, options)
  }

  /** Promise form of `getSync()`: the read is served from the transaction's own state and RocksDB's caches. */
  async get(key, options) {
    return this.getSync(key, options)
  }

  /** Buffers a write; it is applied at commit. */
  putSync(key, value) {
    this.#checkWritable()
    const keyBytes = this.#keys.encode(key)
    const valueBytes = this.#values.encode(value)
    if (this.#verified) this.#intents.hold(slotOf(this.#db, this.#owner.name, keyBytes))
    if (this.#native === null && !this.#eager) this.#writes.put(keyBytes, valueBytes)
    else this.#reader().putSync(keyBytes, valueBytes)
    this.#wrote = true
  }

  /** Promise form of `putSync()`. */
  async put(key, value) {
    this.putSync(key, value)
  }

  /** Buffers a removal; it is applied at commit. */
  removeSync(key) {
    this.#checkWritable()
    const keyBytes = this.#keys.encode(key)
    if (this.#verified) this.#intents.hold(slotOf(this.#db, this.#owner.name, keyBytes))
    if (this.#native === null && !this.#eager) this.#writes.remove(keyBytes)
    else this.#reader().removeSync(keyBytes)
    this.#wrote = true
  }

  /** Promise form of `removeSync()`. */
  async remove(key) {
    this.removeSync(key)
  }

  /**
   * Commits on a worker thread; rejects with `ERR_BUSY` on a conflict (or,
   * under `coordinatedRetry`, resolves `RETRY_NOW_VALUE`). A transaction
   * that wrote nothing has nothing to commit: it ends without a conflict
   * whatever it read. Committing again does nothing.
   */
  async commit() {
    if (this.#committedBefore()) return
    const [finish, writes] = this.#finish()
    try {
      if (finish !== undefined && this.#logs?.pending) {
        // The entries and the commit in one task of the pool.
        const [path, stamp] = [this.#owner.path, this.#timestamp]
        await this.#logs.commitIn((logs) => (finish === 'batch' ? this.#db.writeBatchLogged(writes, path, stamp, logs) : this.#native.commitLogged(path, stamp, logs)))
      } else {
        // The log first: it holds every transaction the database commits.
        await this.#logs?.write(this.#timestamp)
        if (finish === 'batch') await this.#db.writeBatch(writes)
        else if (finish === 'native') await this.#native.commit()
        this.#logs?.end(sequenceAfter(this.#db))
      }
    } catch (error) {
      return this.#failed(error)
    } finally {
      this.#intents.release()
    }
  }

  /** Commits on the calling thread. */
  commitSync() {
    if (this.#committedBefore()) return
    const [finish, writes] = this.#finish()
    try {
      this.#logs?.writeSync(this.#timestamp)
      if (finish === 'batch') this.#db.writeBatchSync(writes)
      else if (finish === 'native') this.#native.commitSync()
      this.#logs?.end(sequenceAfter(this.#db))
    } catch (error) {
      return this.#failed(error)
    } finally {
      this.#intents.release()
    }
  }

  /**
   * A commit failed with `error`. A conflict (`ERR_BUSY`, `ERR_TRY_AGAIN`)
   * resets the transaction in place, as rocksdb-js does: it is open again,
   * with its id and timestamp, no writes, and a fresh snapshot at its next
   * read, so the caller runs its work again on it and commits again; under
   * `coordinatedRetry` the conflict answers RETRY_NOW_VALUE instead of
   * rejecting. Any other failure aborts it.
   */
  #failed(error) {
    this.#ended = 'aborted'
    if (!RETRYABLE.has(error?.code) || this.#closed) {
      this.#logs?.end()
      throw error
    }
    this.#reset()
    if (this.#coordinatedRetry) {
      this.#conflict = error
      return RETRY_NOW_VALUE
    }
    throw error
  }

  /** Opens the transaction again, as new but for its id and timestamp. */
  #reset() {
    this.#native?.abort()
    this.#native = null
    this.#writes = new PackedWrites()
    this.#wrote = false
    this.#abandoned = false
    this.#ended = null
    this.#open = true
    this.#wasReset = true
    this.#registry.add(this)
    openTransactions.set(transactionKey(this.#owner.path, this.id), this)
  }

  /**
   * Whether a commit already committed the transaction, so this one has
   * nothing to do (rocksdb-js lets a commit repeat); throws when it was
   * aborted instead.
   */
  #committedBefore() {
    if (this.#open || this.#closed) return false
    if (this.#ended === 'aborted') throw transactionDone('aborted')
    return true
  }

  /**
   * Ends the transaction and says how to commit it: 'batch' with the packed
   * writes, 'native', or nothing.
   */
  #finish() {
    this.#checkWritable()
    const writes = this.#writes?.bytes()
    this.#end()
    this.#ended = 'committed'
    if (!this.#wrote) {
      this.#native?.abort()
      return [undefined]
    }
    return this.#native === null ? ['batch', writes] : ['native']
  }

  /**
   * Discards every buffered write. Repeating it does nothing; after a
   * commit it throws `ERR_TRANSACTION_DONE` (rocksdb-js's "Transaction has
   * already been committed").
   */
  abort() {
    if (!this.#open && !this.#closed && this.#ended === 'committed') throw transactionDone('committed')
    this.#discard()
  }

  #discard() {
    if (this.#open) this.#ended = 'aborted'
    this.#end()
    this.#native?.abort()
    this.#intents.release()
    // Written entries of a transaction that will not commit stay in the
    // log (its files only grow); they no longer hold readers back.
    this.#logs?.end()
    this.#logs = null
  }

  /**
   * Commits when the callback of `transaction()` left the transaction open;
   * rejects when the database closed under it, since nothing was committed.
   */
  static finishCallback(transaction, sync) {
    if (transaction.#closed) throw databaseNotOpen()
    // The callback committed or aborted it itself; an abandoned one has
    // nothing it may commit.
    if (!transaction.#open || transaction.#abandoned) return undefined
    // `transaction()` retries a conflict itself, on a new transaction:
    // RETRY_NOW_VALUE becomes the conflict again.
    const retried = (result) => {
      if (result === RETRY_NOW_VALUE) throw transaction.#conflict
      return result
    }
    return sync ? retried(transaction.commitSync()) : transaction.commit().then(retried)
  }

  /** Whether the transaction can still be used. */
  get isOpen() {
    return this.#open
  }
}

/** The parts of a transaction begun with `new Transaction(store, options)`. */
function partsOf(store, options) {
  if (!(store instanceof Store)) throw invalidArgType('store', 'a Store (the store property of a RocksDatabase)', store)
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgType('options', 'an object', options)
  const handle = store[kOwner]
  if (handle === null || !handle.isOpen()) throw databaseNotOpen()
  return handle[kTransactionParts](options)
}

/** Milliseconds since the epoch, with a fraction. */
function nowMilliseconds() {
  return performance.timeOrigin + performance.now()
}

// The failures of a commit that running the callback again can cure, as
// rocksdb-js names them: a conflict with another transaction, and RocksDB's
// TryAgain (the history a conflict check needs was flushed away).
const RETRYABLE = new Set(['ERR_BUSY', 'ERR_TRY_AGAIN'])

/** What a commit under `coordinatedRetry` resolves on a conflict: run the work again (rocksdb-js's value). */
const RETRY_NOW_VALUE = 0x04000000

module.exports = { RETRY_NOW_VALUE, RETRYABLE, Transaction, kInternal }
