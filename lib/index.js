'use strict'

const path = require('node:path')
const { NativeDatabase, destroyDatabase, errorCodes, storageFailureCodes, isDatabaseClosing, configure, memoryUsage, openOptionSpecs, rocksdbVersion, claimDirectoryShared, directoryClaims } = require('./binding')
const { keyEncoder, valueEncoder } = require('./encoding')
const { invalidArgType, invalidArgValue, checkPath, databaseNotOpen, withCode } = require('./errors')
const { checkOpenOptions, checkConfig } = require('./options')
const { RangeIterable, RangeIterator, decodeBatch, checkRangeOptions, rangeFlags, packBounds } = require('./range')
const { SharedPath, NEEDS_DISK } = require('./fast')
const { Transaction, runTransaction, runTransactionSync } = require('./transaction')
const { WriteQueue } = require('./batch')
const { CheckpointRegistry, restore, recoverRestore } = require('./checkpoints')
const { BranchRegistry } = require('./branches')
const { codedError, beside, released } = require('./registry')
const { Listeners, checkEvent } = require('./events')
const { backup, makeBackups } = require('./backups')

// Every handle open in this process, for shutdown() and for destroy(),
// which closes every handle of its path.
const openHandles = new Set()
// Handles whose openAsync() is in flight, which destroy() cancels and waits for.
const openingHandles = new Set()

// Codes of failures of the storage under a database, reported as 'error'
// events: RocksDB stops writing after them until it resumes.
const STORAGE_FAILURES = new Set(storageFailureCodes())

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
  #branches = null
  // The shared buffers of the fast path (./fast), once open.
  #fast = null
  #writes = new WriteQueue(
    () => this.#db,
    (error) => this.#failed(error),
  )
  // Transactions begun and not yet ended; close() aborts them.
  #transactions = new Set()
  // The state of the current opening, shared with the ranges it starts:
  // close() marks it closed, so they stop even between native reads.
  #handle = { open: false }
  // Listeners by event name (see on()).
  #listeners = new Listeners()
  // Closing when idle (the `idleTimeout` option). A dormant handle is open
  // to its user, its RocksDB closed; the next call opens RocksDB again.
  #dormant = false
  // The openAsync() in flight: { promise, cancelled }.
  #opening = null
  // Whether the handle was used since the idle timer last looked.
  #used = false
  // Calls running on libuv's pool, which the idle timer waits for.
  #inFlight = 0
  #idleTimer = null
  // The BroadcastChannel of this path's events, while there are listeners.
  #channel = null
  // This handle's claim on its directory (src/claim.rs), held from the
  // start of its open to its close, dormant or not: a branch's reset or
  // delete, or a restore, refuses to start while any handle holds it.
  #claim = null

  /**
   * Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`.
   * @param {string} dbPath
   * @param {object} [options]
   */
  constructor(dbPath, options) {
    this.path = checkPath('path', dbPath)
    this.options = checkOpenOptions(options)
    checkSidePaths(this.path, this.options)
    this.#keys = keyEncoder(this.options.keyEncoding, this.options.keyEncoder, this.options.maxKeySize)
    this.#values = valueEncoder(this.options.encoding, this.options.encoder)
  }

  /** The column family of this handle; `'default'` unless `name` was given. */
  get name() {
    return this.options.name ?? 'default'
  }

  /**
   * Sets the memory every database opened from now on shares (see
   * `ProcessConfig`): one block cache and, when `writeBufferManagerSize` is
   * set, one budget for all memtables. Options not given keep their value.
   */
  static config(options) {
    configure(checkConfig(options))
  }

  /** What the memory all databases share holds now, in bytes. */
  static memoryUsage() {
    return memoryUsage()
  }

  /** Adds a process-global listener of `event` (rocksdb-js's `RocksDatabase.on()`). */
  static on(event, listener) {
    globalListeners.add(event, listener)
  }

  /** Adds a process-global listener called for the next `event` only. */
  static once(event, listener) {
    globalListeners.add(event, Listeners.once(event, listener, undefined, RocksDatabase.off))
  }

  /** Removes a process-global listener; returns whether it was found. */
  static off(event, listener) {
    return globalListeners.remove(event, listener)
  }

  /** Calls the process-global listeners of `event` after the current turn; returns whether there were any. */
  static notify(event, ...args) {
    checkEvent(event)
    return globalListeners.notify(event, args, undefined)
  }

  /** Opens the database at `dbPath`, creating it and its parents when absent. */
  static open(dbPath, options) {
    return new RocksDatabase(dbPath, options).open()
  }

  /**
   * `open()` with RocksDB's part on a worker thread, so the event loop stays
   * free: resolves with the open handle.
   */
  static async openAsync(dbPath, options) {
    return new RocksDatabase(dbPath, options).openAsync()
  }

  /**
   * Opens this handle. Opening an open handle does nothing. A restore that a
   * crash interrupted is finished or undone first, and expired checkpoints
   * are pruned.
   */
  open() {
    if (this.#opening !== null) {
      throw codedError('ERR_DATABASE_OPEN', `${this.path} is being opened by openAsync(); await it`)
    }
    if (!this.#dormant && (this.#native === null || !this.#native.isOpen)) {
      const claimed = this.#takeClaim()
      try {
        if (!this.readOnly) recoverRestore(this.path)
        this.#openNative()
      } catch (error) {
        if (claimed) this.#releaseClaim()
        throw error
      }
      this.#opened()
    }
    return this
  }

  /**
   * Takes this handle's claim on its directory unless it holds it; returns
   * whether it took it. Throws `ERR_DATABASE_BUSY` while a branch's reset or
   * delete, or a restore, holds the directory.
   */
  #takeClaim() {
    if (this.#claim !== null) return false
    const claim = claimDirectoryShared(this.path)
    if (claim === null) {
      const work = directoryClaims(this.path).exclusive ?? 'other work'
      throw codedError('ERR_DATABASE_BUSY', `${this.path} is being replaced or removed (a ${work} is in progress); open it when that is done`)
    }
    this.#claim = claim
    return true
  }

  #releaseClaim() {
    this.#claim?.release()
    this.#claim = null
  }

  /**
   * `open()` with RocksDB's part (reading its files, writing and syncing
   * new ones) on a worker thread; resolves with this handle. A `close()`
   * meanwhile makes it reject with `ERR_DATABASE_CLOSED`.
   */
  openAsync() {
    if (this.#opening !== null) return this.#opening.promise
    if (this.#dormant || (this.#native !== null && this.#native.isOpen)) return Promise.resolve(this)
    let claimed
    try {
      claimed = this.#takeClaim()
    } catch (error) {
      return Promise.reject(error)
    }
    const opening = { cancelled: false }
    opening.promise = (async () => {
      try {
        // Its checks are a few stat calls unless a crash left a restore.
        if (!this.readOnly) recoverRestore(this.path)
        const native = await NativeDatabase.openAsync(this.path, this.options)
        if (opening.cancelled) {
          native.close()
          throw databaseNotOpen()
        }
        this.#adopt(native)
        this.#opened()
        return this
      } catch (error) {
        // A cancelled open's close() has given the claim back already.
        if (claimed && !opening.cancelled) this.#releaseClaim()
        throw error
      } finally {
        this.#opening = null
        openingHandles.delete(this)
      }
    })()
    this.#opening = opening
    openingHandles.add(this)
    return opening.promise
  }

  /** What every open does once RocksDB is open. */
  #opened() {
    openHandles.add(this)
    if (!this.readOnly) {
      try {
        this.checkpoints.pruneSync()
      } catch {
        // A damaged registry must not keep the database from opening;
        // db.checkpoints reports it with ERR_CHECKPOINT_REGISTRY_CORRUPT.
      }
      try {
        this.branches.settleSync()
      } catch {
        // As above: db.branches reports ERR_BRANCH_REGISTRY_CORRUPT.
      }
    }
  }

  #openNative() {
    // napi-rs reads the native options (src/options.rs) and ignores the rest.
    this.#adopt(NativeDatabase.open(this.path, this.options))
  }

  #adopt(native) {
    this.#native = native
    // A dormant handle keeps its state: ranges read whole before it slept
    // go on, and close() still stops them.
    if (!this.#handle.open) this.#handle = { open: true }
    // Memory of the native layer, seen here through Buffers: nothing done
    // to these views (detaching them, say) can free what it writes to.
    this.#fast = new SharedPath(this.#native, this.#keys)
    this.#armIdleTimer()
  }

  /**
   * With `idleTimeout`, looks again in that many milliseconds whether the
   * handle was used meanwhile. Unreferenced: it keeps no process alive.
   */
  #armIdleTimer() {
    const timeout = this.options.idleTimeout
    if (timeout === undefined) return
    this.#used = false
    this.#idleTimer = setTimeout(() => this.#idleCheck(), timeout).unref()
  }

  /**
   * Closes RocksDB when nothing used the handle for a whole period and
   * nothing of it is in flight (a write, a call on the pool, a range being
   * iterated, a transaction), so that closing can never fail a call.
   */
  #idleCheck() {
    this.#idleTimer = null
    if (this.#dormant || this.#native === null || !this.#native.isOpen) return
    const busy = this.#inFlight > 0 || this.#iterators.size > 0 || this.#transactions.size > 0 || !this.#writes.idle
    if (this.#used || busy) {
      this.#armIdleTimer()
      return
    }
    // `#handle` stays open: no native iterator is left (see `busy`), and a
    // range read whole in its first batch goes on across the idle moment.
    this.#fast = null
    this.#native.close()
    this.#dormant = true
  }

  /**
   * Opens RocksDB again for a call on a dormant handle; a failure leaves it
   * dormant, to retry on the next call. Never creates the database: its
   * directory gone means it was removed under the handle, which must fail,
   * not start an empty database in its place.
   */
  #wake() {
    this.#adopt(NativeDatabase.open(this.path, { ...this.options, createIfMissing: false }))
    this.#dormant = false
  }

  /**
   * Whether RocksDB is closed under this open handle because it was idle
   * (see the `idleTimeout` option); the next call opens it again.
   */
  get dormant() {
    return this.#dormant
  }

  /**
   * The named checkpoints of this database, kept in `checkpointsPath`
   * (default: `<path>.checkpoints`).
   */
  get checkpoints() {
    this.#checkpoints ??= new CheckpointStore(this.options.checkpointsPath ?? beside(this.path, 'checkpoints'), this)
    return this.#checkpoints
  }

  /**
   * The named branches of this database, kept in `branchesPath` (default:
   * `<path>.branches`): writable databases made from it or from one of its
   * checkpoints, found again after a restart.
   */
  get branches() {
    this.#branches ??= new BranchStore(this.options.branchesPath ?? beside(this.path, 'branches'), this)
    return this.#branches
  }

  /**
   * A new writable database at `targetPath`, branched from the live one: a
   * checkpoint opened with the same options. Isolated both ways.
   */
  async branch(targetPath) {
    await this.createCheckpoint(targetPath)
    const { checkpointsPath, branchesPath, readOnly, ...options } = this.options
    return RocksDatabase.open(targetPath, options)
  }

  /**
   * Rolls the closed database at `dbPath` back to the checkpoint at
   * `checkpointPath`. Its current state is first kept as a checkpoint named
   * `pre-restore-<time>`. Rejects with `ERR_DATABASE_OPEN` while it is open.
   */
  static async restore(dbPath, checkpointPath, options) {
    try {
      return await restore(RocksDatabase, dbPath, checkpointPath, checkOpenOptions(options))
    } catch (error) {
      throw withCode(error)
    }
  }

  /**
   * Backs the database up. To a directory or an `s3://bucket/prefix` URL:
   * an incremental backup (files the store holds already are not copied
   * again), every file checked by its digest (BLAKE3; SHA-256 in stores
   * made before it); resolves with the new backup's id. To a writable
   * stream (Node's or a WritableStream): a tar archive, or
   * tar.gz with `gzip`, that any tar unpacks into a database. Options:
   * `metadata`, `flushBeforeBackup`, `checkDiskSpace`, `sync`,
   * `backupLogFiles`, `progress`, `signal`, `s3`. See `backups` to list,
   * verify, restore, delete and purge.
   */
  async backup(destination, options) {
    // Refused now on a closed database, before anything is written.
    void this.#db
    return backup(this, destination, options)
  }

  /**
   * Closes the database. Idempotent. Async writes already made are sent and
   * settle normally, as do operations already running on the pool. Open
   * transactions are aborted: their commit rejects with
   * `ERR_DATABASE_CLOSED`. Ranges being iterated stop with the same code.
   *
   * Returns a Promise (which never rejects) that resolves once RocksDB has
   * released the directory (at once while another handle of it stays
   * open): await it before another process opens the database. An `open()`
   * in this process needs no wait; it waits itself. During `openAsync()`,
   * it resolves once that open has ended and RocksDB released what it
   * opened.
   */
  close() {
    const opening = this.#opening
    if (opening !== null) opening.cancelled = true
    // Writes already accepted are sent first, waking a dormant handle's
    // RocksDB if need be: a write acknowledged as accepted is written.
    if (this.#dormant && !this.#writes.idle) {
      try {
        this.#wake()
      } catch {
        // Its directory is gone or locked: the writes reject with the reason.
      }
    }
    this.#writes.drain()
    openHandles.delete(this)
    this.#unsubscribe()
    clearTimeout(this.#idleTimer)
    this.#idleTimer = null
    this.#dormant = false
    for (const iterator of this.#iterators) iterator.close()
    this.#iterators.clear()
    for (const transaction of this.#transactions) Transaction.close(transaction)
    this.#transactions.clear()
    this.#handle.open = false
    if (this.#native !== null) this.#native.close()
    const claim = this.#claim
    this.#claim = null
    if (opening !== null) {
      // The claim is held until RocksDB's open on the pool has ended and
      // closed what it opened: no reset or restore may start before.
      return opening.promise
        .then(noop, noop)
        .then(() => released(this.path))
        .finally(() => claim?.release())
    }
    claim?.release()
    return this.readOnly ? Promise.resolve() : released(this.path)
  }

  /**
   * Adds `listener` for `event`. The database emits `'error'` with the
   * coded `Error` when a write meets a failure of the storage under it (a
   * full disk, an I/O error): RocksDB then refuses writes until the
   * condition clears; each later write first tries to resume, and
   * `resume()` tries at once. Unlike Node's EventEmitter, an `'error'`
   * nobody listens to is not thrown: the failed call reports it anyway.
   */
  on(event, listener) {
    this.#listeners.add(event, listener)
    // Events named by strings and numbers also come from other threads.
    if (typeof event !== 'symbol') this.#subscribe()
    return this
  }

  /**
   * Listens on the database path's BroadcastChannel, which carries the
   * `notify()` calls of handles of the same path in other threads of this
   * process. Unreferenced: it keeps no process alive.
   */
  #subscribe() {
    if (this.#channel !== null) return
    this.#channel = new BroadcastChannel(channelName(this.path))
    this.#channel.unref()
    this.#channel.onmessage = ({ data }) => this.#listeners.emit(data.event, data.args, this)
  }

  #unsubscribe() {
    this.#channel?.close()
    this.#channel = null
  }

  /** Alias of `on()`. */
  addListener(event, listener) {
    return this.on(event, listener)
  }

  /** Adds `listener` for the next `event` only. */
  once(event, listener) {
    return this.on(event, Listeners.once(event, listener, this, (name, wrapper) => this.off(name, wrapper)))
  }

  /**
   * Removes `listener` from `event` (the last one added, if added twice);
   * returns whether it was found (rocksdb-js's `removeListener()`).
   */
  off(event, listener) {
    if (!this.#listeners.remove(event, listener)) return false
    if (this.#listeners.size === 0) this.#unsubscribe()
    return true
  }

  /** Alias of `off()`. */
  removeListener(event, listener) {
    return this.off(event, listener)
  }

  /** How many listeners `event` has (rocksdb-js's `listeners()`). */
  listeners(event) {
    return this.#listeners.count(event)
  }

  /** Reports a storage failure met by a write as an 'error' event; returns the error. */
  #failed(error) {
    if (STORAGE_FAILURES.has(error?.code)) this.#listeners.emit('error', [error], this)
    return error
  }

  /**
   * The last failure of the storage a write met (a coded `Error`), or
   * `null` once writing works again.
   */
  getLastError() {
    // A dormant handle's RocksDB was closed, and its failure state with it.
    if (this.#dormant) return null
    const last = this.#db.lastError()
    if (!last) return null
    const error = new Error(last[1])
    error.code = last[0]
    return error
  }

  /**
   * Asks RocksDB to resume writing after a storage failure, once the
   * condition (a full disk, say) has cleared, waiting up to 15 s for the
   * recovery RocksDB runs by itself. Rejects with the failure while it
   * persists. Writes also try this themselves.
   */
  async resume() {
    await this.#pooled((db) => db.resume())
  }

  /** Whether the database is open. */
  isOpen() {
    return this.#dormant || (this.#native !== null && this.#native.isOpen)
  }

  /**
   * The compression of new SST files, as rocksdb-js reports it:
   * `{ algorithm }`, with `level` when one was set.
   */
  get compression() {
    const algorithm = this.options.compression ?? 'lz4'
    return this.options.compressionLevel === undefined ? { algorithm } : { algorithm, level: this.options.compressionLevel }
  }

  /** `'opened'` or `'closed'`, as rocksdb-js reports it. */
  get status() {
    return this.isOpen() ? 'opened' : 'closed'
  }

  /** Whether the database was opened read-only. */
  get readOnly() {
    return this.options.readOnly === true
  }

  /** The native database, opened again when dormant; ERR_DATABASE_CLOSED before the first open. */
  get #db() {
    if (this.#dormant) this.#wake()
    else if (this.#native === null) throw databaseNotOpen()
    this.#used = true
    return this.#native
  }

  /** Runs `work(native)`, a call on libuv's pool, counted as in flight for the idle timer. */
  async #pooled(work) {
    const db = this.#db
    this.#inFlight++
    try {
      return await work(db)
    } finally {
      this.#inFlight--
    }
  }

  /**
   * The decoded value of `key`, or `undefined`. A value RocksDB holds in
   * memory (memtable or block cache) is returned as it is; one that needs
   * the disk comes as a Promise, read on libuv's pool, so the event loop
   * never waits for I/O. Options: `skipDecode`, `transaction`.
   */
  get(key, options) {
    const { transaction, skipDecode } = getOptions(options)
    if (transaction) return transaction.get(key, { skipDecode })
    return this.#getAsync(key, skipDecode ? null : this.#values)
  }

  /**
   * The decoded value of `key`, or `undefined`, read on the calling thread.
   * Options: `skipDecode` (the stored bytes), `transaction` (read in it).
   */
  getSync(key, options) {
    const { transaction, skipDecode } = getOptions(options)
    if (transaction) return transaction.getSync(key, { skipDecode })
    return skipDecode ? this.#sharedPath.getBinary(key) : this.#sharedPath.get(key, this.#values)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`; read like `get()`. */
  getBinary(key, options) {
    const { transaction } = getOptions(options)
    if (transaction) return transaction.get(key, SKIP_DECODE)
    return this.#getAsync(key, null)
  }

  /** The stored bytes of `key` as a Buffer, or `undefined`, read on the calling thread. */
  getBinarySync(key, options) {
    const { transaction } = getOptions(options)
    if (transaction) return transaction.getSync(key, SKIP_DECODE)
    return this.#sharedPath.getBinary(key)
  }

  /** rocksdb-js's name of `getBinary()`. */
  getBinaryFast(key, options) {
    return this.getBinary(key, options)
  }

  /** rocksdb-js's name of `getBinarySync()`. */
  getBinaryFastSync(key, options) {
    return this.getBinarySync(key, options)
  }

  /** The shared buffers of the fast path; ERR_DATABASE_CLOSED before the first open. */
  get #sharedPath() {
    if (this.#fast === null) {
      if (!this.#dormant) throw databaseNotOpen()
      this.#wake()
    }
    this.#used = true
    return this.#fast
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
      const value = this.#sharedPath.getInMemory(key, values)
      return value === NEEDS_DISK ? this.#getFromPool(key, values) : value
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async #getFromPool(key, values) {
    const encoded = this.#keys.encode(key)
    const bytes = await this.#pooled((db) => db.get(encoded))
    if (bytes === undefined || bytes === null) return undefined
    return values === null ? bytes : values.decode(bytes)
  }

  /**
   * Stores `value` under `key`. Resolves once RocksDB has accepted the write.
   * Puts and removes made together (in one turn of JavaScript, or while an
   * earlier batch is being written) go to RocksDB as one atomic batch.
   */
  put(key, value, options) {
    const transaction = options?.transaction
    if (transaction) return transaction.put(key, value)
    try {
      return this.#writes.put(this.#keys.encode(key), this.#values.encode(value))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Stores `value` under `key` on the calling thread. */
  putSync(key, value, options) {
    const transaction = options?.transaction
    if (transaction) return transaction.putSync(key, value)
    const path = this.#sharedPath
    // Encoded first: encoding may run user code, which may use this database.
    const bytes = this.#values.encode(value)
    try {
      path.put(key, bytes)
    } catch (error) {
      throw this.#failed(error)
    }
  }

  /** Removes `key`. Removing a missing key is not an error. Batched like `put()`. */
  remove(key, options) {
    const transaction = options?.transaction
    if (transaction) return transaction.remove(key)
    try {
      return this.#writes.remove(this.#keys.encode(key))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Removes `key` on the calling thread. */
  removeSync(key, options) {
    const transaction = options?.transaction
    if (transaction) return transaction.removeSync(key)
    const path = this.#sharedPath
    try {
      path.remove(key)
    } catch (error) {
      throw this.#failed(error)
    }
  }

  /** Flushes the memtables to SST files. */
  async flush() {
    try {
      await this.#pooled((db) => db.flush())
    } catch (error) {
      throw this.#failed(error)
    }
  }

  /** Flushes the memtables to SST files on the calling thread. */
  flushSync() {
    try {
      this.#db.flushSync()
    } catch (error) {
      throw this.#failed(error)
    }
  }

  /**
   * Reads every SST file and checks RocksDB's block checksums, on a worker
   * thread. Rejects with `ERR_ROCKSDB_CORRUPTION` naming the damaged file.
   */
  async verifyChecksums() {
    try {
      await this.#pooled((db) => db.verifyChecksums())
    } catch (error) {
      throw this.#failed(error)
    }
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

  /** A range of `options`, already checked by getRange() or getKeys(). */
  #range(options, values) {
    // Refused now before the first open; each iteration takes the native
    // database again, as a dormant one is opened anew.
    void this.#db
    const range = { ...this.#encodeRange(options), values }
    const decodeKey = this.#keys.decodeAt
    const decodeValue = this.#values.decodeAt
    const decode = (buffer, length) => decodeBatch(buffer, length, decodeKey, decodeValue, values)
    return new RangeIterable(() => {
      const db = this.#db
      if (!db.isOpen) throw databaseNotOpen()
      return this.#iterate(db, range, decode)
    })
  }

  /** Starts one iteration of an encoded range. */
  #iterate(db, range, decode) {
    const handle = this.#handle
    const { entries, iterator: native } = this.#sharedPath.startRange(range, decode, db)
    // A decoder may have closed the database meanwhile.
    if (!handle.open) {
      native?.close()
      throw databaseNotOpen()
    }
    if (native === null) return new RangeIterator(entries, null, decode, () => {}, handle)
    const iterators = this.#iterators
    iterators.add(native)
    return new RangeIterator(
      entries,
      native,
      decode,
      () => {
        iterators.delete(native)
        if (!db.isOpen) throw databaseNotOpen()
      },
      handle,
    )
  }

  /**
   * A lazy range of `{ key, value }` in key order. Options: `start`, `end`
   * (exclusive), `exclusiveStart`, `inclusiveEnd`, `reverse` (then `start` is
   * the upper bound), `limit`, `offset`, `values: false` for keys only.
   * Each iteration reads from one consistent snapshot.
   */
  getRange(options) {
    options = rangeAliases(checkRangeOptions(options))
    // rocksdb-js's `onlyCount`: the number of entries, not the entries.
    if (options.onlyCount === true) return this.getKeysCount(options)
    if (options.transaction) return options.transaction.getRange(options)
    if (options.valuesOnly === true) return this.#range({ ...options, values: true }, true).map((entry) => entry.value)
    return this.#range(options, options.values !== false)
  }

  /** rocksdb-js's `getValues(key)`: the values stored under `key` (one at most here: keys are unique). */
  getValues(key, options) {
    return this.getRange({ ...options, key, valuesOnly: true })
  }

  /** A lazy range of keys only; the options of `getRange()`. */
  getKeys(options) {
    options = rangeAliases(checkRangeOptions(options))
    if (options.transaction) return options.transaction.getKeys(options)
    return this.#range(options, false)
  }

  /** How many keys a range holds; the options of `getRange()`. */
  getKeysCount(options) {
    options = rangeAliases(checkRangeOptions(options))
    if (options.transaction) return options.transaction.getKeysCount(options)
    const range = this.#encodeRange(options)
    return this.#db.count(packBounds(range), range.lower?.length ?? 0, rangeFlags(range), range.offset ?? 0, range.limit ?? -1)
  }

  /**
   * Runs `callback(txn)` in a transaction (optimistic unless the database was
   * opened with `pessimistic: true`) and commits when its Promise resolves;
   * aborts when it throws. A write conflict retries the callback up to
   * `maxRetries` times (3), after a short pause that lets the transaction
   * holding the key finish, and then rejects with `ERR_TRANSACTION_CONFLICT`.
   */
  transaction(callback, options) {
    return runTransaction(() => this.#beginTransaction(), callback, options, this.#events)
  }

  /** The synchronous form of `transaction()`. */
  transactionSync(callback, options) {
    return runTransactionSync(() => this.#beginTransaction(), callback, options, this.#events)
  }

  // rocksdb-js's transaction events ('begin-transaction', 'beforecommit',
  // 'committed', 'aftercommit'), told to listeners asynchronously, as notify() does.
  #events = { emit: (name, payload) => this.#listeners.notify(name, [payload], this) }

  /**
   * Calls the listeners of `event` with `args`, asynchronously (after the
   * current turn of JavaScript), in the order they were added, as
   * rocksdb-js's `notify()`. Returns whether `event` had listeners.
   */
  notify(event, ...args) {
    checkEvent(event)
    if (typeof event !== 'symbol') {
      // The other handles of this path, in this thread or another, hear it
      // through the path's BroadcastChannel (which does not echo to the
      // channel that posts); the arguments cross as structured clones.
      const channel = this.#channel ?? new BroadcastChannel(channelName(this.path))
      try {
        channel.postMessage({ event, args })
      } catch (error) {
        throw invalidArgValue('args', `must be serializable to reach other threads: ${error.message}`)
      } finally {
        if (channel !== this.#channel) channel.close()
      }
    }
    return this.#listeners.notify(event, args, this)
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
    return new Transaction(db, eager, this.#keys, this.#values, this.#encodeTransactionRange, this.#transactions, nextTransactionId(this.path))
  }

  /** Removes every key of this column family. */
  async clear() {
    await this.#pooled((db) => db.clear())
  }

  /** Removes every key of this column family on the calling thread. */
  clearSync() {
    this.#db.clearSync()
  }

  /**
   * Drops this column family and closes the handle; on the default family,
   * which RocksDB cannot drop, removes every key instead (rocksdb-js's
   * `drop()`: "removes all entries").
   */
  async drop() {
    if (this.name === 'default') return this.clear()
    await this.#db.drop()
  }

  /** The synchronous form of `drop()`. */
  dropSync() {
    if (this.name === 'default') return this.clearSync()
    this.#db.dropSync()
  }

  /**
   * rocksdb-js's count estimator over a range traversed page by page:
   * `estimate()` gives `{ count, confidence }`, `advance(lastKey, count)`
   * records a page read, `finish()` says the traversal is complete. Counts
   * here are exact (natively counted, without decoding), so `confidence` is
   * 1 throughout.
   */
  createCountEstimator(options) {
    const range = rangeAliases(checkRangeOptions(options))
    let traversed = 0
    let after
    let finished = false
    return {
      estimate: () => {
        if (finished) return { count: traversed, confidence: 1 }
        // What is left starts after the last key read (reversed: below it, `start` being the upper bound then).
        const rest = after === undefined ? range : { ...range, start: after, exclusiveStart: true }
        return { count: traversed + this.getKeysCount(rest), confidence: 1 }
      },
      advance: (lastKey, count) => {
        if (!Number.isInteger(count) || count < 0) throw invalidArgType('count', 'a non-negative integer', count)
        traversed += count
        after = lastKey
      },
      finish: () => {
        finished = true
      },
    }
  }

  /**
   * Closes every handle of this database in this process and deletes it from
   * disk, before returning (as rocksdb-js does); the Promise it returns is
   * already settled, for code that awaits it. Async writes already made are
   * sent first and settle normally. While another handle's `openAsync()` is
   * in flight, that open is cancelled and the deletion waits for it to end:
   * the Promise then settles once the database is deleted.
   */
  destroy() {
    const openings = [...openingHandles].filter((handle) => handle.path === this.path)
    const handles = new Set([...openHandles, ...openings, this])
    const closing = [...handles].filter((handle) => handle.path === this.path).map((handle) => handle.close())
    if (openings.length > 0) {
      // RocksDB's open runs on the pool: waiting for it here would block the event loop.
      return Promise.all(closing).then(() => destroyDatabase(this.path))
    }
    // A failure is thrown, as rocksdb-js's synchronous destroy() throws it.
    waitUntilReleased(this.path)
    destroyDatabase(this.path)
    return Promise.resolve()
  }

  #compactBounds(options) {
    options = checkRangeOptions(options)
    return [options.start === undefined ? undefined : this.#keys.encode(options.start), options.end === undefined ? undefined : this.#keys.encode(options.end)]
  }

  /** Compacts this column family, or the `start`..`end` part of it. */
  async compact(options) {
    const bounds = this.#compactBounds(options)
    await this.#pooled((db) => db.compact(...bounds))
  }

  /** Compacts on the calling thread. */
  compactSync(options) {
    this.#db.compactSync(...this.#compactBounds(options))
  }

  /** A RocksDB property as text (such as `'rocksdb.stats'`), or `undefined`. */
  getDBProperty(name) {
    return this.#db.getProperty(checkPropertyName(name)) ?? undefined
  }

  /** A numeric RocksDB property (such as `'rocksdb.estimate-num-keys'`), or `undefined`. */
  getDBIntProperty(name) {
    return this.#db.getIntProperty(checkPropertyName(name)) ?? undefined
  }

  /** RocksDB's estimate of the number of keys (`rocksdb.estimate-num-keys`). */
  getEstimatedKeyCount() {
    return this.getDBIntProperty('rocksdb.estimate-num-keys') ?? 0
  }

  /**
   * rocksdb-js's `{ count, confidence }`. Over a range (`start`, `end`,
   * ...) the count is exact (`confidence` 1): it is counted natively without
   * decoding, which costs as the range is large. Over the whole database
   * it is RocksDB's estimate, which overwrites and removals not yet
   * compacted make too high; its confidence is 0.5 then.
   */
  estimateCount(options) {
    options = rangeAliases(checkRangeOptions(options))
    const ranged = ['start', 'end', 'key'].some((name) => options[name] !== undefined)
    if (ranged) return { count: this.getKeysCount(options), confidence: 1 }
    return { count: this.getEstimatedKeyCount(), confidence: 0.5 }
  }

  /**
   * Sizes and counts of this column family, under this package's names
   * (`estimatedKeys`, `liveDataBytes`, `sstFilesBytes`, `memtableBytes`,
   * `sequence`, `text`) and under RocksDB's property names, as rocksdb-js
   * reports them; with `enableStats`, RocksDB's statistics too: the most
   * telling tickers and histograms, or all of them with `all`.
   */
  getStats(all = false) {
    const int = (name) => this.getDBIntProperty(name) ?? 0
    const stats = {
      estimatedKeys: int('rocksdb.estimate-num-keys'),
      liveDataBytes: int('rocksdb.estimate-live-data-size'),
      sstFilesBytes: int('rocksdb.total-sst-files-size'),
      memtableBytes: int('rocksdb.cur-size-all-mem-tables'),
      sequence: this.getLatestSequenceNumber(),
      text: this.getDBProperty('rocksdb.stats'),
    }
    for (const name of FAMILY_PROPERTIES) stats[name] = int(name)
    for (const [name, value] of this.#statistics()) {
      if (all || CURATED_STATISTICS.has(name)) stats[name] = value
    }
    return stats
  }

  /**
   * One statistic: a RocksDB ticker (a number) or histogram (`{ count, sum,
   * average, median, percentile95, percentile99, max }`) when opened with
   * `enableStats`, or a numeric property such as
   * `rocksdb.estimate-num-keys`; `undefined` when there is none.
   */
  getStat(name) {
    checkPropertyName(name)
    const statistic = this.#statistics().get(name)
    if (statistic !== undefined) return statistic
    return this.getDBIntProperty(name)
  }

  /** RocksDB's statistics, parsed from its text dump; empty without `enableStats`. */
  #statistics() {
    const text = this.#db.statistics()
    const statistics = new Map()
    if (!text) return statistics
    for (const line of text.split('\n')) {
      const [name, ...rest] = line.trim().split(' ')
      if (!name) continue
      const fields = {}
      const body = rest.join(' ')
      for (const match of body.matchAll(/(\w+) : ([\d.]+)/g)) fields[match[1]] = Number(match[2])
      if (fields.P50 !== undefined) {
        statistics.set(name, {
          count: fields.COUNT ?? 0,
          sum: fields.SUM ?? 0,
          average: fields.COUNT ? (fields.SUM ?? 0) / fields.COUNT : 0,
          median: fields.P50,
          percentile95: fields.P95,
          percentile99: fields.P99,
          max: fields.P100,
        })
      } else if (fields.COUNT !== undefined) {
        statistics.set(name, fields.COUNT)
      }
    }
    return statistics
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
      await this.#pooled((db) => db.createCheckpoint(target))
    } catch (error) {
      throw this.#failed(error)
    }
  }
}

/**
 * The named checkpoints kept in `dir`. `new CheckpointStore(dir)` reads them
 * (list, info, verify, open, branch) without opening their database;
 * `db.checkpoints` also makes and changes them.
 */
class CheckpointStore extends CheckpointRegistry {
  /**
   * @param {string} dir the checkpoints directory
   * @param {RocksDatabase} [db] the open database they belong to
   */
  constructor(dir, db) {
    super(dir, db, RocksDatabase)
  }
}

/**
 * The named branches kept in `dir`. `new BranchStore(dir)` reads them
 * (list, info) without opening their database; `db.branches` also makes,
 * opens, resets and deletes them.
 */
class BranchStore extends BranchRegistry {
  /**
   * @param {string} dir the branches directory
   * @param {RocksDatabase} [db] the open database they branch from
   */
  constructor(dir, db) {
    super(dir, db, RocksDatabase)
  }
}

// The column family properties getStats() reports under RocksDB's names.
const FAMILY_PROPERTIES = [
  'rocksdb.estimate-num-keys',
  'rocksdb.estimate-live-data-size',
  'rocksdb.total-sst-files-size',
  'rocksdb.live-sst-files-size',
  'rocksdb.cur-size-all-mem-tables',
  'rocksdb.num-running-flushes',
  'rocksdb.num-running-compactions',
  'rocksdb.estimate-pending-compaction-bytes',
  'rocksdb.block-cache-usage',
]

// The statistics getStats() reports without `all`: reads, writes, the cache,
// compaction and their latencies.
const CURATED_STATISTICS = new Set([
  'rocksdb.block.cache.hit',
  'rocksdb.block.cache.miss',
  'rocksdb.bytes.read',
  'rocksdb.bytes.written',
  'rocksdb.number.keys.read',
  'rocksdb.number.keys.written',
  'rocksdb.memtable.hit',
  'rocksdb.memtable.miss',
  'rocksdb.compact.read.bytes',
  'rocksdb.compact.write.bytes',
  'rocksdb.flush.write.bytes',
  'rocksdb.wal.bytes',
  'rocksdb.stall.micros',
  'rocksdb.db.get.micros',
  'rocksdb.db.write.micros',
  'rocksdb.db.seek.micros',
])

/** rocksdb-js's statistics constants: `stats.StatsLevel` for the `statsLevel` option. */
const stats = Object.freeze({
  StatsLevel: Object.freeze({
    DisableAll: 0,
    ExceptTickers: 1,
    ExceptHistogramOrTimers: 2,
    ExceptTimers: 3,
    ExceptDetailedTimers: 4,
    ExceptTimeForMutex: 5,
    All: 6,
  }),
})

// Process-global listeners (RocksDatabase.on()), by event.
const globalListeners = new Listeners()

/** The BroadcastChannel name of the events of the database at `dbPath`. */
function channelName(dbPath) {
  return `rocksdb-branch:${dbPath}`
}


// Transaction ids, counted per database path (rocksdb-js's are unique to a
// path, whatever the column family), as 32-bit unsigned integers.
const transactionIds = new Map()
function nextTransactionId(dbPath) {
  const id = ((transactionIds.get(dbPath) ?? 0) + 1) >>> 0 || 1
  transactionIds.set(dbPath, id)
  return id
}

const NO_OPTIONS = Object.freeze({})
const SKIP_DECODE = Object.freeze({ skipDecode: true })

/** The options of `get()`: `skipDecode`, `transaction`. */
function getOptions(options) {
  // No object made per read on the hot path.
  if (options === undefined || options === null) return NO_OPTIONS
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  return options
}

/** rocksdb-js's range options that name others: `key` is the range of one key. */
function rangeAliases(options) {
  if (options.key === undefined) return options
  return { ...options, start: options.key, end: options.key, inclusiveEnd: true, exclusiveStart: false }
}

/**
 * Blocks until RocksDB has released the database at `dbPath` (work already
 * running on the pool ends first), for the synchronous `destroy()`. Waits
 * in 1 ms sleeps of the thread, at most 30 s.
 */
function waitUntilReleased(dbPath) {
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (let waited = 0; isDatabaseClosing(dbPath) && waited < 30_000; waited++) Atomics.wait(pause, 0, 0, 1)
}

function noop() {}

/**
 * Refuses `checkpointsPath` and `branchesPath` that overlap each other or
 * the database: two registries in one directory each read the other's
 * records as damaged, and a registry inside the database would be copied
 * into its own checkpoints.
 */
function checkSidePaths(dbPath, options) {
  const dirs = [
    ['options.checkpointsPath', path.resolve(options.checkpointsPath ?? beside(dbPath, 'checkpoints'))],
    ['options.branchesPath', path.resolve(options.branchesPath ?? beside(dbPath, 'branches'))],
  ]
  const within = (inner, outer) => {
    const relative = path.relative(outer, inner)
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))
  }
  for (const [name, dir] of dirs) {
    if (within(dir, dbPath)) {
      throw invalidArgValue(name, `must not be the database directory ${dbPath} or inside it. Received ${JSON.stringify(dir)}`)
    }
  }
  const [[, checkpoints], [, branches]] = dirs
  if (within(checkpoints, branches) || within(branches, checkpoints)) {
    throw invalidArgValue('options.branchesPath', `must not be options.checkpointsPath (${checkpoints}), inside it or around it: each keeps a registry of its own. Received ${JSON.stringify(branches)}`)
  }
}

/** Checks the name of a RocksDB property. */
function checkPropertyName(name) {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
  if (name.includes('\0')) throw invalidArgValue('name', 'must not contain null bytes')
  return name
}

/** Every error `code` the package raises. */
const ERROR_CODES = Object.freeze(
  [
    ...new Set([
      ...errorCodes(),
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_CHECKPOINT_EXISTS',
      'ERR_CHECKPOINT_NOT_FOUND',
      'ERR_CHECKPOINT_REGISTRY_CORRUPT',
      'ERR_TRANSACTION_ABANDONED',
      'ABORT_ERR',
      'ERR_MODULE_NOT_FOUND',
      'ERR_BACKUP_LOCKED',
      'ERR_BACKUP_NOT_FOUND',
      'ERR_S3',
      'ERR_BRANCH_EXISTS',
      'ERR_BRANCH_NOT_FOUND',
      'ERR_BRANCH_REGISTRY_CORRUPT',
      'ERR_DATABASE_NOT_FOUND',
      'ERR_DATABASE_BUSY',
      'ERR_RESTORE_IN_PROGRESS',
      'ERR_NATIVE_BINARY_NOT_FOUND',
    ]),
  ].sort(),
)

/**
 * Backups in a directory or S3-compatible storage (made by `db.backup()`):
 * `list`, `verify`, `restore`, `restoreStream`, `delete`, `purge`. None
 * needs the database open.
 */
const backups = makeBackups(RocksDatabase)

/**
 * Flushes and closes every database open in this process, as rocksdb-js's
 * `shutdown()`: call it on `process.on('exit')` when databases were opened
 * with `disableWAL`, whose unflushed writes would die with the process.
 */
function shutdown() {
  for (const db of [...openHandles]) {
    try {
      if (!db.readOnly && !db.dormant) db.flushSync()
    } finally {
      db.close()
    }
  }
}

/** The compressions this build supports (the `compression` open option). */
const supportedCompression = Object.freeze([...openOptionSpecs().find((spec) => spec.name === 'compression').values])

/** The versions of this package and of the RocksDB it is built on. */
const versions = Object.freeze({ 'rocksdb-branch': require('../package.json').version, rocksdb: rocksdbVersion() })

module.exports = { RocksDatabase, CheckpointStore, BranchStore, backups, shutdown, supportedCompression, versions, stats, ERROR_CODES }
