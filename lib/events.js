'use strict'

/**
 * Listeners by event name, called in the order they were added: those of
 * one database handle (`db.on()`) and those of the process
 * (`RocksDatabase.on()`).
 */

const { invalidArgType } = require('./errors')

/**
 * Checks an event name and returns the name it is kept under: a string, a
 * number (rocksdb-js allows them) or a symbol as it is; an encoded key (a
 * Buffer or Uint8Array, as the listeners of a user shared buffer are named)
 * as a string made from its bytes, so that equal bytes name one event.
 */
function checkEvent(event) {
  if (event instanceof Uint8Array) return keyEvent(event)
  if (typeof event !== 'string' && typeof event !== 'symbol' && typeof event !== 'number') throw invalidArgType('event', 'a string, number, symbol or Buffer', event)
  return event
}

/** The name of the event of an encoded key; it starts with a NUL, which no name written by hand does. */
function keyEvent(bytes) {
  return `\0key:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

function checkListener(listener) {
  if (typeof listener !== 'function') throw invalidArgType('listener', 'a function', listener)
}

class Listeners {
  #byEvent = new Map()

  /** Adds `listener` for `event`. */
  add(event, listener) {
    event = checkEvent(event)
    checkListener(listener)
    const list = this.#byEvent.get(event)
    if (list) list.push(listener)
    else this.#byEvent.set(event, [listener])
  }

  /**
   * A listener that calls `listener` on `self` once, after `remove(event,
   * wrapper)` took it away; `remove()` finds it by `listener` too.
   */
  static once(event, listener, self, remove) {
    checkListener(listener)
    const wrapper = (...args) => {
      remove(event, wrapper)
      listener.apply(self, args)
    }
    wrapper.listener = listener
    return wrapper
  }

  /** Removes `listener` from `event` (the last one added, if added twice); whether it was there. */
  remove(event, listener) {
    if (event instanceof Uint8Array) event = keyEvent(event)
    const list = this.#byEvent.get(event)
    const index = list ? list.findLastIndex((entry) => entry === listener || entry.listener === listener) : -1
    if (index === -1) return false
    list.splice(index, 1)
    if (list.length === 0) this.#byEvent.delete(event)
    return true
  }

  /** How many listeners `event` has. */
  count(event) {
    if (event instanceof Uint8Array) event = keyEvent(event)
    return this.#byEvent.get(event)?.length ?? 0
  }

  /** How many events have listeners. */
  get size() {
    return this.#byEvent.size
  }

  /** Calls the listeners of `event` with `args` on `self`, now. */
  emit(event, args, self) {
    if (event instanceof Uint8Array) event = keyEvent(event)
    for (const listener of [...(this.#byEvent.get(event) ?? [])]) this.#call(listener, event, args, self)
  }

  /**
   * Calls one listener. One that throws does not stop the others, nor the
   * library's work that told them: what it threw is emitted as `'error'`
   * when there are `'error'` listeners, as EventEmitter users expect, and
   * otherwise thrown on its own, as an uncaught exception (EventEmitter's
   * behaviour for an `'error'` nobody listens to).
   */
  #call(listener, event, args, self) {
    try {
      listener.apply(self, args)
    } catch (error) {
      if (event !== 'error' && this.count('error') > 0) this.emit('error', [error], self)
      else
        queueMicrotask(() => {
          throw error
        })
    }
  }

  /**
   * Calls the listeners `event` has now with `args` on `self` after the
   * current turn of JavaScript (rocksdb-js's events are asynchronous);
   * returns whether there were any.
   */
  notify(event, args, self) {
    if (event instanceof Uint8Array) event = keyEvent(event)
    const list = this.#byEvent.get(event)
    if (!list || list.length === 0) return false
    const listeners = [...list]
    queueMicrotask(() => {
      for (const listener of listeners) this.#call(listener, event, args, self)
    })
    return true
  }
}

module.exports = { Listeners, checkEvent, keyEvent }
