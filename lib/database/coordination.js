'use strict'

/**
 * Coordination between the threads of a process through a database handle,
 * as rocksdb-js offers it: user shared buffers (memory every worker thread
 * sees), key locks (process-wide, on keys of the database), the monotonic
 * clock, and the age of the oldest snapshot. Nothing here touches RocksDB's
 * data. Built on ./stats.
 */

const fs = require('node:fs')
const { KeyLocks, userSharedBuffer, monotonicTimestamp } = require('../binding')
const { databaseNotOpen, argumentError } = require('../errors')
const { keyEvent } = require('../events')
const { DatabaseStats } = require('./stats')
const { kKeys, kOnClose, kDb } = require('./internal')
const { slotOf, checkVersion, verificationVerify, verificationPopulate } = require('../verification')

function checkCallback(callback) {
  if (typeof callback !== 'function') throw argumentError('Callback must be a function')
}

// Drops the listener of a user shared buffer once the buffer is collected.
const forgetListener = new FinalizationRegistry(({ db, event, callback }) => db.off(event, callback))

/** Coordination across threads; see `RocksDatabase`. */
class DatabaseCoordination extends DatabaseStats {
  // This handle's key locks (src/key_lock.rs), made at the first use.
  #locks = null
  // The wake-ups of this handle's withLock() calls waiting for a key.
  #waiting = new Set()

  /** The encoded `key` of a lock or shared buffer; the handle must be open. */
  #lockKey(key) {
    if (key === undefined) throw argumentError('Key is required')
    if (!this.isOpen()) throw databaseNotOpen()
    return this[kKeys].encode(key)
  }

  get #keyLocks() {
    this.#locks ??= new KeyLocks(this.#canonicalPath)
    return this.#locks
  }

  /**
   * The database directory as the process knows it, whatever the path it
   * was opened by (a symlink, say): locks and shared buffers are the
   * database's, not the spelling's.
   */
  get #canonicalPath() {
    try {
      return fs.realpathSync.native(this.path)
    } catch {
      return this.path
    }
  }

  /**
   * Locks `key` for this process (every handle of the database, in every
   * worker thread) if nobody holds it, and returns `true`. Otherwise returns
   * `false` and calls `onUnlocked`, when given, once the key is unlocked
   * (then try again: another may take it first). Any handle may unlock a key;
   * closing the handle that locked it unlocks it too. Advisory: reads and
   * writes do not look at locks.
   */
  tryLock(key, onUnlocked) {
    if (onUnlocked !== undefined) checkCallback(onUnlocked)
    const encoded = this.#lockKey(key)
    return this.#keyLocks.tryLock(encoded, onUnlocked)
  }

  /** Unlocks `key` and calls the callbacks left on it; whether it was locked. */
  unlock(key) {
    return this.#keyLocks.unlock(this.#lockKey(key))
  }

  /** Whether `key` is locked, by any handle of the database in any thread. */
  hasLock(key) {
    return this.#keyLocks.hasLock(this.#lockKey(key))
  }

  /**
   * Runs `callback` holding the lock of `key`, waiting (without blocking
   * the event loop) while another holds it; unlocks when the callback (or
   * its Promise) settles, and settles as it did. Rejects with
   * `ERR_DATABASE_CLOSED` if the handle closes while waiting.
   */
  async withLock(key, callback) {
    checkCallback(callback)
    const encoded = this.#lockKey(key)
    for (;;) {
      const waiter = {}
      const promise = new Promise((resolve, reject) => Object.assign(waiter, { resolve, reject }))
      if (this.#keyLocks.tryLock(encoded, waiter.resolve)) break
      this.#waiting.add(waiter)
      try {
        await promise
      } finally {
        this.#waiting.delete(waiter)
      }
      if (!this.isOpen()) throw databaseNotOpen()
    }
    try {
      return await callback()
    } finally {
      // Still this handle's lock, unless closing it let it go already.
      this.#locks?.unlock(encoded)
    }
  }

  /**
   * An `ArrayBuffer` over memory shared by every worker thread of the
   * process, one block per database path, column family and `key`: made
   * from a copy of `defaultBuffer` by the first call, and the same memory
   * for every later call while any buffer of it is alive. Settle what you
   * keep in it with `Atomics`. The buffer has `notify()`, which calls the
   * `callback` of every buffer of the key in this process (asynchronously),
   * and `cancel()`, which stops calling this one's. The memory outlives the
   * handle: a buffer kept after `close()` stays usable (its `notify()`
   * throws).
   */
  getUserSharedBuffer(key, defaultBuffer, options) {
    if (!(defaultBuffer instanceof ArrayBuffer)) throw argumentError('Default buffer must be an ArrayBuffer')
    if (options !== undefined && (options === null || typeof options !== 'object')) throw argumentError('Options must be an object')
    const callback = options?.callback
    if (callback !== undefined) checkCallback(callback)
    const encoded = this.#lockKey(key)
    const buffer = userSharedBuffer(this.#canonicalPath, this.name, encoded, Buffer.from(defaultBuffer))
    const event = keyEvent(encoded)
    // Neither function holds the buffer: it must stay collectable.
    const self = this
    Object.defineProperties(buffer, {
      notify: {
        value() {
          if (!self.isOpen()) throw databaseNotOpen()
          return self.notify(event)
        },
      },
      cancel: {
        value() {
          if (callback !== undefined) self.off(event, callback)
        },
      },
    })
    if (callback !== undefined) {
      this.on(event, callback)
      forgetListener.register(buffer, { db: this, event, callback })
    }
    return buffer
  }

  /**
   * Whether the verification table says `version` is the latest version of
   * `key` in this family: a copy of that version cached is then still
   * fresh, known without a read. `false` when the table does not know
   * (or is disabled, `verificationTableEntries: 0`).
   */
  verifyVersion(key, version) {
    if (!this.isOpen()) throw databaseNotOpen()
    const slot = slotOf(this[kDb], this.name, this[kKeys].encode(key))
    return verificationVerify(slot, checkVersion('version', version))
  }

  /**
   * Records `version` as the latest of `key` in the verification table,
   * unless a write of the key is in flight; for a caller that read the
   * value and knows its version (`populateVersion: true` on a read does it
   * for you, and only when no older snapshot could still see another value).
   */
  populateVersion(key, version) {
    if (!this.isOpen()) throw databaseNotOpen()
    const slot = slotOf(this[kDb], this.name, this[kKeys].encode(key))
    verificationPopulate(slot, checkVersion('version', version))
  }

  /**
   * Milliseconds since the Unix epoch, with a fraction, each call in the
   * process (any thread) later than the one before.
   */
  getMonotonicTimestamp() {
    return monotonicTimestamp()
  }

  /**
   * When the oldest snapshot still held on the database was taken, in
   * seconds since the epoch; 0 when none is (a transaction takes one at
   * its first read).
   */
  getOldestSnapshotTimestamp() {
    return this.getDBIntProperty('rocksdb.oldest-snapshot-time') ?? 0
  }

  /** Lets go of this handle's key locks and stops its waits, for close(). */
  [kOnClose]() {
    this.#locks?.release()
    this.#locks = null
    for (const waiter of this.#waiting) waiter.reject(databaseNotOpen())
    this.#waiting.clear()
  }
}

module.exports = { DatabaseCoordination }
