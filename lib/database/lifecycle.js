'use strict'

/**
 * The life of a database handle: opening (on the calling thread or the
 * pool), closing, the idle timeout that closes RocksDB under an open handle
 * and opens it again on the next call, the handle's claim on its directory,
 * and `destroy()`. Built on ./events.
 */

const path = require('node:path')
const { NativeDatabase, destroyDatabase, isDatabaseClosing, claimDirectoryShared, directoryClaims } = require('../binding')
const { keyEncoder, valueEncoder, withDecoder } = require('../encoding')
const { invalidArgValue, checkPath, databaseNotOpen } = require('../errors')
const { checkOpenOptions } = require('../options')
const { SharedPath } = require('../fast')
const { Transaction } = require('../transaction')
const { WriteQueue } = require('../batch')
const { recoverRestore } = require('../checkpoints')
const { codedError, beside, released } = require('../registry')
const { DatabaseEvents } = require('./events')
const { kKeys, kValues, kDb, kSharedPath, kPooled, kFailed, kIterators, kTransactions, kWrites, kHandle, kUnsubscribe, kOnClose } = require('./internal')
const { Store, kOwner } = require('./store')

// Every handle open in this process, for shutdown() and for destroy(),
// which closes every handle of its path.
const openHandles = new Set()
// Handles whose openAsync() is in flight, which destroy() cancels and waits for.
const openingHandles = new Set()

/** Opening, closing and idling; see `RocksDatabase`. */
class DatabaseLifecycle extends DatabaseEvents {
  #native = null
  // The shared buffers of the fast path (../fast), once open.
  #fast = null
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
  // This handle's claim on its directory (src/claim.rs), held from the
  // start of its open to its close, dormant or not: a branch's reset or
  // delete, or a restore, refuses to start while any handle holds it.
  #claim = null

  /**
   * Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`.
   * @param {string | Store} dbPath the database directory, or a `Store` (its
   *   options, overridden by `options`), which the handle claims for good
   * @param {object} [options]
   */
  constructor(dbPath, options) {
    super()
    let store
    if (dbPath instanceof Store) {
      store = dbPath
      store.claim()
      dbPath = store.path
      options = { ...store.options, ...options }
    } else {
      store = new Store(dbPath, options)
      store.claim()
    }
    // Native iterators in flight, closed with the database so none outlives it.
    this[kIterators] = new Set()
    this[kWrites] = new WriteQueue(
      () => this[kDb],
      (error) => this[kFailed](error),
    )
    // Transactions begun and not yet ended; close() aborts them.
    this[kTransactions] = new Set()
    // The state of the current opening, shared with the ranges it starts:
    // close() marks it closed, so they stop even between native reads.
    this[kHandle] = { open: false }
    this.path = checkPath('path', dbPath)
    this.options = checkOpenOptions(options)
    checkSidePaths(this.path, this.options)
    this[kKeys] = keyEncoder(this.options.keyEncoding, this.options.keyEncoder, this.options.maxKeySize)
    const { encoding, encoder, freezeData, randomAccessStructure, sharedStructuresKey } = this.options
    const structures = sharedStructuresKey === undefined ? undefined : this.#sharedStructures(sharedStructuresKey)
    this[kValues] = valueEncoder(encoding, encoder, { freezeData, randomAccessStructure, structures })
    // rocksdb-js names the encoder after its column family.
    if (this[kValues].encoder && Object.isExtensible(this[kValues].encoder)) this[kValues].encoder.name = this.name
    /** The `Store` of the handle: its path and options, as rocksdb-js has it. */
    this.store = store
    store[kOwner] = this
  }

  /**
   * msgpackr's `getStructures` and `saveStructures` for the record
   * structures kept under `key`: read with the handle's own encoding,
   * saved in a transaction of their own, which refuses (returns `false`)
   * when another thread or process saved others meanwhile, so msgpackr
   * reads them again and retries.
   */
  #sharedStructures(key) {
    const read = () => {
      const bytes = this.getBinarySync(key)
      return bytes === undefined ? undefined : this[kValues].decode(bytes)
    }
    return {
      get: read,
      save: (structures, isCompatible) =>
        this.transactionSync((txn) => {
          const existing = read()
          if (typeof isCompatible === 'function' ? !isCompatible(existing) : existing !== undefined && existing.length !== isCompatible) return false
          txn.putSync(key, structures)
          return true
        }),
    }
  }

  /**
   * The value encoder in use: msgpackr's `Packr` (the `msgpack` encoding),
   * the `encoder` option's object (or its `Encoder` class's instance), or
   * `null` when values are stored as given.
   */
  get encoder() {
    return this[kValues].encoder ?? null
  }

  /** The value decoder: the encoder unless one was set. */
  get decoder() {
    return this[kValues].decoder ?? this.encoder
  }

  /** Decodes the values this handle reads with `decoder.decode(bytes)` from now on. */
  set decoder(decoder) {
    if (decoder === this.decoder) return
    this[kValues] = withDecoder(this[kValues], decoder)
  }

  /** The column family of this handle; `'default'` unless `name` was given. */
  get name() {
    return this.options.name ?? 'default'
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
    if (!this[kHandle].open) this[kHandle] = { open: true }
    // Memory of the native layer, seen here through Buffers: nothing done
    // to these views (detaching them, say) can free what it writes to.
    this.#fast = new SharedPath(this.#native, this[kKeys])
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
    const busy = this.#inFlight > 0 || this[kIterators].size > 0 || this[kTransactions].size > 0 || !this[kWrites].idle
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
    if (this.#dormant && !this[kWrites].idle) {
      try {
        this.#wake()
      } catch {
        // Its directory is gone or locked: the writes reject with the reason.
      }
    }
    this[kWrites].drain()
    this[kOnClose]?.()
    openHandles.delete(this)
    this[kUnsubscribe]()
    clearTimeout(this.#idleTimer)
    this.#idleTimer = null
    this.#dormant = false
    for (const iterator of this[kIterators]) iterator.close()
    this[kIterators].clear()
    for (const transaction of this[kTransactions]) Transaction.close(transaction)
    this[kTransactions].clear()
    this[kHandle].open = false
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
   * The last failure of the storage a write met (a coded `Error`), or
   * `null` once writing works again.
   */
  getLastError() {
    // A dormant handle's RocksDB was closed, and its failure state with it.
    if (this.#dormant) return null
    const last = this[kDb].lastError()
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
    await this[kPooled]((db) => db.resume())
  }

  /** Whether the database is open. */
  isOpen() {
    return this.#dormant || (this.#native !== null && this.#native.isOpen)
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
  get [kDb]() {
    if (this.#dormant) this.#wake()
    else if (this.#native === null) throw databaseNotOpen()
    this.#used = true
    return this.#native
  }

  /** Runs `work(native)`, a call on libuv's pool, counted as in flight for the idle timer. */
  async [kPooled](work) {
    const db = this[kDb]
    this.#inFlight++
    try {
      return await work(db)
    } finally {
      this.#inFlight--
    }
  }

  /** The shared buffers of the fast path; ERR_DATABASE_CLOSED before the first open. */
  get [kSharedPath]() {
    if (this.#fast === null) {
      if (!this.#dormant) throw databaseNotOpen()
      this.#wake()
    }
    this.#used = true
    return this.#fast
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

module.exports = { DatabaseLifecycle, shutdown }
