'use strict'

/**
 * The JavaScript side of the fast path; `src/fast.rs` is the native side.
 *
 * A napi call with Buffers in and out costs more than RocksDB spends on a
 * cached read, so each open handle shares two buffers with the native layer:
 * a key is encoded straight into the key buffer, and a value (or the first
 * batch of a range) comes back in the value buffer, decoded in place. Both
 * are native memory, viewed here.
 *
 * User code can run in the middle of an operation (a getter or `toJSON` of a
 * value, a custom encoder, a Proxy trap) and call the same handle again. A
 * nested call sees `#sharing` set and takes the general path, with the key
 * passed and the value returned as Buffers, so it never overwrites what the
 * outer call has in the buffers. So do keys and values too large for them.
 */

const {
  SHARED_KEY_BYTES,
  SHARED_VALUE_BYTES,
  RANGE_FIRST_BATCH,
  RANGE_MAX_FIRST_BATCH,
  getShared,
  getInMemoryShared,
  getKey,
  putShared,
  putKey,
  removeShared,
  removeKey,
  rangeShared,
  sharedKeyBuffer,
  sharedValueBuffer,
  takeRange,
} = require('./binding')
const { packBounds, rangeFlags } = require('./range')

/** What `getInMemory` returns when the answer needs the disk. */
const NEEDS_DISK = Symbol('needs the disk')

/** The shared buffers of one open handle and the operations that use them. */
class SharedPath {
  #shared
  #keyBuffer
  #valueBuffer
  #keys
  // Set while an operation uses the buffers (see above).
  #sharing = false

  /**
   * @param {object} native the open `NativeDatabase`
   * @param {object} keys the key encoder (`write`, `encode`)
   */
  constructor(native, keys) {
    this.#shared = native.shareBuffers(SHARED_KEY_BYTES, SHARED_VALUE_BYTES)
    this.#keyBuffer = sharedKeyBuffer(this.#shared)
    this.#valueBuffer = sharedValueBuffer(this.#shared)
    this.#keys = keys
  }

  /** The value of `key` decoded by `values`, or `undefined`. */
  get(key, values) {
    if (!this.#sharing) {
      this.#sharing = true
      try {
        const keyLength = this.#keys.write(key, this.#keyBuffer)
        if (keyLength >= 0) {
          const length = getShared(this.#shared, keyLength)
          if (length < 0) return undefined
          if (length <= this.#valueBuffer.length) return values.decodeAt(this.#valueBuffer, 0, length)
        }
      } finally {
        this.#sharing = false
      }
    }
    const bytes = getKey(this.#shared, this.#keys.encode(key))
    return bytes === undefined || bytes === null ? undefined : values.decode(bytes)
  }

  /** The stored bytes of `key` as a Buffer of their own, or `undefined`. */
  getBinary(key) {
    return getKey(this.#shared, this.#keys.encode(key)) ?? undefined
  }

  /**
   * The value of `key` when RocksDB holds it in memory (decoded by `values`,
   * or a Buffer when `values` is null), `undefined` when it is missing, or
   * `NEEDS_DISK`.
   */
  getInMemory(key, values) {
    if (this.#sharing) return NEEDS_DISK
    this.#sharing = true
    try {
      const keyLength = this.#keys.write(key, this.#keyBuffer)
      // -1: missing; -2: the answer needs the disk.
      const length = keyLength < 0 ? -2 : getInMemoryShared(this.#shared, keyLength)
      if (length === -1) return undefined
      if (length >= 0 && length <= this.#valueBuffer.length) {
        const buffer = this.#valueBuffer
        return values === null ? Buffer.from(buffer.subarray(0, length)) : values.decodeAt(buffer, 0, length)
      }
      return NEEDS_DISK
    } finally {
      this.#sharing = false
    }
  }

  /** Stores the encoded `bytes` under `key`. */
  put(key, bytes) {
    if (!this.#sharing) {
      this.#sharing = true
      try {
        const keyLength = this.#keys.write(key, this.#keyBuffer)
        if (keyLength >= 0) return putShared(this.#shared, keyLength, bytes)
      } finally {
        this.#sharing = false
      }
    }
    putKey(this.#shared, this.#keys.encode(key), bytes)
  }

  /** Removes `key`. */
  remove(key) {
    if (!this.#sharing) {
      this.#sharing = true
      try {
        const keyLength = this.#keys.write(key, this.#keyBuffer)
        if (keyLength >= 0) return removeShared(this.#shared, keyLength)
      } finally {
        this.#sharing = false
      }
    }
    removeKey(this.#shared, this.#keys.encode(key))
  }

  /**
   * Starts an encoded range: its first batch decoded by `decode`, and the
   * `NativeIterator` of the rest, or null when the first batch ended it. A
   * short range costs one call and no native object. `native` opens the
   * iterator when the buffers cannot be used.
   */
  startRange(range, decode, native) {
    const { lower, upper, limit } = range
    const lowerLength = lower === undefined ? 0 : lower.length
    const upperLength = upper === undefined ? 0 : upper.length
    if (lowerLength + upperLength > this.#keyBuffer.length || this.#sharing) {
      return { entries: [], iterator: native.iterate(packBounds(range), lowerLength, rangeFlags(range), range.offset ?? 0, limit ?? -1) }
    }
    let iterator = null
    this.#sharing = true
    try {
      if (lower !== undefined) this.#keyBuffer.set(lower, 0)
      if (upper !== undefined) this.#keyBuffer.set(upper, lowerLength)
      const first = limit === undefined ? RANGE_FIRST_BATCH : Math.max(1, Math.min(limit, RANGE_MAX_FIRST_BATCH))
      const result = rangeShared(this.#shared, lowerLength + upperLength, lowerLength, rangeFlags(range), range.offset ?? 0, limit ?? -1, first)
      // Taken before decoding, so a throwing decoder cannot strand it.
      if (result < 0) iterator = takeRange(this.#shared)
      return { entries: decode(this.#valueBuffer, result < 0 ? -result - 1 : result), iterator }
    } catch (error) {
      iterator?.close()
      throw error
    } finally {
      this.#sharing = false
    }
  }
}

module.exports = { SharedPath, NEEDS_DISK }
