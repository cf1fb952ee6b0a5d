'use strict'

/**
 * The events of a database handle: its listeners (`on`, `once`, `off`, ...),
 * `notify()` across the handles of a path in every thread (through the
 * path's BroadcastChannel), the process-global listeners, and the 'error'
 * event of storage failures. The lowest layer of `RocksDatabase`.
 */

const { storageFailureCodes } = require('../binding')
const { invalidArgValue } = require('../errors')
const { Listeners, checkEvent } = require('../events')
const { DBI } = require('../dbi')
const { kListeners, kUnsubscribe, kFailed } = require('./internal')

// Codes of failures of the storage under a database, reported as 'error'
// events: RocksDB stops writing after them until it resumes.
const STORAGE_FAILURES = new Set(storageFailureCodes())

// Process-global listeners (RocksDatabase.on()), by event.
const globalListeners = new Listeners()

/** The BroadcastChannel name of the events of the database at `dbPath`. */
function channelName(dbPath) {
  return `rocksdb-branch:${dbPath}`
}

/** The listeners of a handle and of the process; see `RocksDatabase`. */
class DatabaseEvents extends DBI {
  // Listeners by event name (see on()).
  [kListeners] = new Listeners()
  // The BroadcastChannel of this path's events, while there are listeners.
  #channel = null

  /** Adds a process-global listener of `event` (rocksdb-js's `RocksDatabase.on()`). */
  static on(event, listener) {
    globalListeners.add(event, listener)
  }

  /** Adds a process-global listener called for the next `event` only. */
  static once(event, listener) {
    globalListeners.add(event, Listeners.once(event, listener, undefined, DatabaseEvents.off))
  }

  /** Removes a process-global listener; returns whether it was found. */
  static off(event, listener) {
    return globalListeners.remove(event, listener)
  }

  /** Calls the process-global listeners of `event` after the current turn; returns whether there were any. */
  static notify(event, ...args) {
    return globalListeners.notify(checkEvent(event), args, undefined)
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
    event = checkEvent(event)
    this[kListeners].add(event, listener)
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
    this.#channel.onmessage = ({ data }) => this[kListeners].emit(data.event, data.args, this)
  }

  [kUnsubscribe]() {
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
    if (!this[kListeners].remove(event, listener)) return false
    if (this[kListeners].size === 0) this[kUnsubscribe]()
    return true
  }

  /** Alias of `off()`. */
  removeListener(event, listener) {
    return this.off(event, listener)
  }

  /** How many listeners `event` has (rocksdb-js's `listeners()`). */
  listeners(event) {
    return this[kListeners].count(event)
  }

  /**
   * Calls the listeners of `event` with `args`, asynchronously (after the
   * current turn of JavaScript), in the order they were added, as
   * rocksdb-js's `notify()`. Returns whether `event` had listeners.
   */
  notify(event, ...args) {
    event = checkEvent(event)
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
    return this[kListeners].notify(event, args, this)
  }

  /** Reports a storage failure met by a write as an 'error' event; returns the error. */
  [kFailed](error) {
    if (STORAGE_FAILURES.has(error?.code)) this[kListeners].emit('error', [error], this)
    return error
  }
}

module.exports = { DatabaseEvents }
