'use strict'

const { ExtendedIterable } = require('@harperfast/extended-iterable')

const { RANGE_HAS_LOWER, RANGE_LOWER_INCLUSIVE, RANGE_HAS_UPPER, RANGE_UPPER_INCLUSIVE, RANGE_REVERSE, RANGE_VALUES } = require('./binding')
const { invalidArgType, invalidArgValue, outOfRange, databaseNotOpen } = require('./errors')

// The options of getRange() and getKeys() and their `typeof`.
const RANGE_OPTION_TYPES = {
  reverse: 'boolean',
  exclusiveStart: 'boolean',
  inclusiveEnd: 'boolean',
  values: 'boolean',
  valuesOnly: 'boolean',
  onlyCount: 'boolean',
  snapshot: 'boolean',
  limit: 'number',
  offset: 'number',
}

/** Checks the options of a range; `limit` and `offset` are non-negative integers. */
function checkRangeOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidArgType('options', 'an object', options)
  for (const [name, type] of Object.entries(RANGE_OPTION_TYPES)) {
    const value = options[name]
    if (value !== undefined && typeof value !== type) throw invalidArgType(`options.${name}`, `of type ${type}`, value)
  }
  for (const name of ['limit', 'offset']) {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw invalidArgValue(`options.${name}`, `must be a non-negative integer. Received ${value}`)
    }
  }
  return options
}

// An encoded range, as lib/index.js makes it: `lower` and `upper` are
// encoded keys (absent: unbounded), with `lowerInclusive`, `upperInclusive`,
// `reverse` and `values`. It crosses to the native layer in the one wire
// format of src/iterator.rs: its bounds packed lower first, their flags.

/** The flags of an encoded range. */
function rangeFlags(range) {
  return (
    (range.lower === undefined ? 0 : RANGE_HAS_LOWER) |
    (range.lowerInclusive ? RANGE_LOWER_INCLUSIVE : 0) |
    (range.upper === undefined ? 0 : RANGE_HAS_UPPER) |
    (range.upperInclusive ? RANGE_UPPER_INCLUSIVE : 0) |
    (range.reverse ? RANGE_REVERSE : 0) |
    (range.values ? RANGE_VALUES : 0)
  )
}

const NO_BOUND = Buffer.alloc(0)

/** The bounds of an encoded range packed for the wire (the fast path writes them into the shared key buffer instead). */
function packBounds(range) {
  if (range.upper === undefined) return range.lower ?? NO_BOUND
  if (range.lower === undefined) return range.upper
  return Buffer.concat([range.lower, range.upper])
}

function checkCallback(fn) {
  if (typeof fn !== 'function') throw invalidArgType('callback', 'a function', fn)
  return fn
}

/**
 * Lazy ranges: rocksdb-js's `ExtendedIterable` (the
 * `@harperfast/extended-iterable` package: `map`, `filter`, `flatMap`,
 * `slice`, `concat`, `mapError`, `forEach`, `at`, `asArray`, ... with async
 * callbacks handled and `return`/`throw` forwarded), plus `take`. A
 * `RangeIterable` reads nothing until it is iterated; each iteration opens
 * its own native iterator, which reads entries in batches and is released
 * when the loop ends, breaks or throws. What its methods return is a
 * `RangeIterable` again, so they chain.
 */
class RangeIterable extends ExtendedIterable {
  /** @param {(options?: object) => Iterator} open starts one iteration */
  constructor(open) {
    super()
    this.iterate = open
  }

  /**
   * `iterable`, an ExtendedIterable made by a method of this one, given
   * this class's methods. It stays the same object: the library keeps state
   * on it (`mapError` sets its error callback there).
   */
  static #wrap(iterable) {
    return Object.setPrototypeOf(iterable, RangeIterable.prototype)
  }

  map(fn) {
    return RangeIterable.#wrap(super.map(checkCallback(fn)))
  }

  filter(fn) {
    return RangeIterable.#wrap(super.filter(checkCallback(fn)))
  }

  flatMap(fn) {
    return RangeIterable.#wrap(super.flatMap(checkCallback(fn)))
  }

  mapError(fn) {
    return RangeIterable.#wrap(super.mapError(checkCallback(fn)))
  }

  slice(start, end) {
    return RangeIterable.#wrap(super.slice(start, end))
  }

  concat(other) {
    return RangeIterable.#wrap(super.concat(other))
  }

  forEach(fn) {
    return super.forEach(checkCallback(fn))
  }

  /** The first `count` entries. */
  take(count) {
    if (typeof count !== 'number' || Number.isNaN(count)) throw invalidArgType('count', 'a number', count)
    if (count < 0) throw outOfRange('count', '>= 0', count)
    return this.slice(0, count)
  }
}

/**
 * Decodes the first `length` bytes of a batch into entries (`{ key, value }`,
 * or keys alone when `values` is false). A batch packs entries as
 * `[u32 key length][key][u32 value length][value]` (little-endian). Decoding a
 * whole batch at once lets the buffer it came in be reused right after.
 */
function decodeBatch(buffer, length, decodeKey, decodeValue, values) {
  const entries = []
  let at = 0
  while (at < length) {
    const keyLength = (buffer[at] | (buffer[at + 1] << 8) | (buffer[at + 2] << 16) | (buffer[at + 3] << 24)) >>> 0
    at += 4
    const key = decodeKey(buffer, at, at + keyLength)
    at += keyLength
    if (!values) {
      entries.push(key)
      continue
    }
    const valueLength = (buffer[at] | (buffer[at + 1] << 8) | (buffer[at + 2] << 16) | (buffer[at + 3] << 24)) >>> 0
    at += 4
    entries.push({ key, value: decodeValue(buffer, at, at + valueLength) })
    at += valueLength
  }
  return entries
}

/** A copy of the last key of a batch (packed as `decodeBatch` reads it), where the next batch resumes. */
function lastKeyOf(batch, values) {
  let at = 0
  let key
  while (at < batch.length) {
    const keyLength = batch.readUInt32LE(at)
    key = batch.subarray(at + 4, at + 4 + keyLength)
    at += 4 + keyLength
    if (values) at += 4 + batch.readUInt32LE(at)
  }
  return Buffer.from(key)
}

/**
 * One iteration of a range: the entries of the batch in hand, then those of
 * the native iterator (when the first batch did not end the range), read a
 * batch at a time. `onDone` runs once, when the iteration ends, breaks or
 * throws. Once the handle it reads closes (`handle.open` false), the next
 * step throws `ERR_DATABASE_CLOSED`, even within a batch already read.
 */
class RangeIterator {
  #entries
  #index = 0
  #native
  #decode
  #onDone
  #handle

  /**
   * @param {Array} entries the first batch, decoded
   * @param {object | null} native the iterator over the rest, if any
   * @param {(buffer: Buffer, length: number) => Array} decode
   * @param {() => void} onDone
   * @param {{ open: boolean }} handle the state of the handle it reads
   */
  constructor(entries, native, decode, onDone, handle) {
    this.#entries = entries
    this.#native = native
    this.#decode = decode
    this.#onDone = onDone
    this.#handle = handle
  }

  [Symbol.iterator]() {
    return this
  }

  next() {
    if (!this.#handle.open && this.#onDone !== null) {
      this.#finish()
      throw databaseNotOpen()
    }
    for (;;) {
      if (this.#index < this.#entries.length) return { value: this.#entries[this.#index++], done: false }
      if (this.#native === null) {
        this.#finish()
        return { value: undefined, done: true }
      }
      let batch
      try {
        batch = this.#native.nextBatch()
        if (batch == null) this.#native = null
        else this.#entries = this.#decode(batch, batch.length)
      } catch (error) {
        this.#finish()
        throw error
      }
      this.#index = 0
      if (batch == null) this.#entries = []
    }
  }

  return(value) {
    this.#finish()
    return { value, done: true }
  }

  #finish() {
    this.#entries = []
    this.#index = 0
    const onDone = this.#onDone
    if (onDone === null) return
    this.#onDone = null
    if (this.#native !== null) this.#native.close()
    this.#native = null
    onDone()
  }
}

module.exports = { RangeIterable, RangeIterator, decodeBatch, lastKeyOf, checkRangeOptions, rangeFlags, packBounds }
