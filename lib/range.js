'use strict'

/**
 * Lazy ranges. A `RangeIterable` reads nothing until it is iterated; each
 * iteration opens its own native iterator, which reads entries in batches
 * and is released when the loop ends, breaks or throws.
 */
class RangeIterable {
  #open

  /** @param {() => Iterator} open starts one iteration */
  constructor(open) {
    this.#open = open
  }

  [Symbol.iterator]() {
    return this.#open()
  }

  async *[Symbol.asyncIterator]() {
    yield* this[Symbol.iterator]()
  }

  /** A range of `fn(entry)` for each entry. */
  map(fn) {
    const source = this
    return new RangeIterable(function* () {
      for (const entry of source) yield fn(entry)
    })
  }

  /** A range of the entries for which `fn(entry)` is truthy. */
  filter(fn) {
    const source = this
    return new RangeIterable(function* () {
      for (const entry of source) if (fn(entry)) yield entry
    })
  }

  /** The first `count` entries. */
  take(count) {
    const source = this
    return new RangeIterable(function* () {
      if (count <= 0) return
      let taken = 0
      for (const entry of source) {
        yield entry
        if (++taken >= count) return
      }
    })
  }

  /** Calls `fn(entry)` for each entry. */
  forEach(fn) {
    for (const entry of this) fn(entry)
  }

  /** Every entry, as a Promise of an array. */
  get asArray() {
    try {
      return Promise.resolve(Array.from(this))
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

/**
 * Walks the batches of a native iterator. A batch packs entries as
 * `[u32 key length][key][u32 value length][value]` (little-endian).
 */
function* readBatches(native, decodeKey, decodeValue, values, onDone) {
  try {
    let batch
    while ((batch = native.nextBatch()) != null) {
      let at = 0
      while (at < batch.length) {
        const keyLength = batch.readUInt32LE(at)
        at += 4
        const key = decodeKey(batch.subarray(at, at + keyLength))
        at += keyLength
        if (!values) {
          yield key
          continue
        }
        const valueLength = batch.readUInt32LE(at)
        at += 4
        const value = decodeValue(batch.subarray(at, at + valueLength))
        at += valueLength
        yield { key, value }
      }
    }
  } finally {
    native.close()
    onDone()
  }
}

module.exports = { RangeIterable, readBatches }
