'use strict'

/**
 * Writes packed into one buffer for the native layer to apply in one call,
 * atomically: transactions that have not read yet, and async `put()` and
 * `remove()` calls made while another batch is being written.
 *
 * The format is read by `src/batch.rs`: per write, a kind byte (0 put,
 * 1 removal), the key's length (u32, little-endian) and the key, and for a
 * put the value's length and the value.
 */

const PUT = 0
const REMOVE = 1
const FIRST_BYTES = 1024

class PackedWrites {
  #bytes = null
  #length = 0

  /** Appends a put of the encoded `key` and `value`. */
  put(key, value) {
    this.#append(PUT, key, value)
  }

  /** Appends a removal of the encoded `key`. */
  remove(key) {
    this.#append(REMOVE, key, undefined)
  }

  /** Whether nothing was appended. */
  get isEmpty() {
    return this.#length === 0
  }

  /** The packed writes so far (a view, valid until the next append). */
  bytes() {
    return this.#bytes === null ? Buffer.alloc(0) : this.#bytes.subarray(0, this.#length)
  }

  #append(kind, key, value) {
    const needed = this.#length + 9 + key.length + (value === undefined ? 0 : value.length)
    if (this.#bytes === null || needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, FIRST_BYTES, (this.#bytes?.length ?? 0) * 2))
      if (this.#length > 0) this.#bytes.copy(grown, 0, 0, this.#length)
      this.#bytes = grown
    }
    const bytes = this.#bytes
    let at = this.#length
    bytes[at++] = kind
    bytes.writeUInt32LE(key.length, at)
    bytes.set(key, (at += 4))
    at += key.length
    if (value !== undefined) {
      bytes.writeUInt32LE(value.length, at)
      bytes.set(value, (at += 4))
      at += value.length
    }
    this.#length = at
  }
}

/**
 * Gathers the async writes of one database handle into batches. A write made
 * while no batch is being written goes out at the end of the current turn
 * of JavaScript, together with every write made in that turn; writes made
 * while a batch is being written wait for it and then go out together. Each
 * batch is one atomic RocksDB write on libuv's pool, and every `put()` of a
 * batch resolves when it is written, or rejects, with all the others, when it
 * fails: a batch is written whole or not at all.
 */
class WriteQueue {
  #native
  #pending = null
  #writing = false
  /** Settles (never rejects) when the batch written last is done. */
  #lastWrite = Promise.resolve()

  #onError

  /**
   * @param {() => object} native the open native database (throws when closed)
   * @param {(error: Error) => void} onError told of each failed batch
   */
  constructor(native, onError) {
    this.#native = native
    this.#onError = onError
  }

  /** Queues a put of encoded bytes; the Promise settles with its batch. */
  put(key, value) {
    const batch = this.#batch()
    batch.writes.put(key, value)
    return batch.promise
  }

  /** Queues a removal of an encoded key; the Promise settles with its batch. */
  remove(key) {
    const batch = this.#batch()
    batch.writes.remove(key)
    return batch.promise
  }

  /** Whether no write waits or is being written. */
  get idle() {
    return !this.#writing && this.#pending === null
  }

  /**
   * Sends the waiting batch now, while the handle is still open: called by
   * `close()`, so writes already made settle normally. (It may then be
   * written beside a batch still in flight rather than after it.) Returns a
   * Promise that settles, without rejecting, when every batch sent so far is
   * done.
   */
  drain() {
    const inFlight = this.#lastWrite
    if (this.#pending !== null) this.#write()
    return Promise.all([inFlight, this.#lastWrite])
  }

  #batch() {
    if (this.#pending === null) {
      let resolve, reject
      const promise = new Promise((res, rej) => {
        resolve = res
        reject = rej
      })
      this.#pending = { writes: new PackedWrites(), promise, resolve, reject }
      if (!this.#writing) queueMicrotask(() => this.#writeUnlessBusy())
    }
    return this.#pending
  }

  #writeUnlessBusy() {
    if (!this.#writing && this.#pending !== null) this.#write()
  }

  #write() {
    const batch = this.#pending
    this.#pending = null
    this.#writing = true
    let written
    try {
      written = this.#native().writeBatch(batch.writes.bytes())
    } catch (error) {
      written = Promise.reject(error)
    }
    const failed = (error) => {
      batch.reject(error)
      try {
        this.#onError(error)
      } catch (thrown) {
        // A listener that throws fails like one of an EventEmitter would,
        // without leaving this queue stuck.
        queueMicrotask(() => {
          throw thrown
        })
      }
    }
    this.#lastWrite = written.then(batch.resolve, failed).finally(() => {
      this.#writing = false
      this.#writeUnlessBusy()
    })
  }
}

module.exports = { PackedWrites, WriteQueue }
