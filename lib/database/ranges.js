'use strict'

/**
 * Ranges of a database handle: `getRange`, `getKeys`, `getValues`,
 * `getKeysCount` and rocksdb-js's count estimator, lazy and read a batch at
 * a time from one snapshot. Built on ./reads.
 */

const { RangeIterable, RangeIterator, decodeBatch, checkRangeOptions, rangeFlags, packBounds } = require('../range')
const { invalidArgType, databaseNotOpen } = require('../errors')
const { Transaction } = require('../transaction')
const { DatabaseReads } = require('./reads')
const { kKeys, kValues, kDb, kSharedPath, kIterators, kHandle, kEncodeRange } = require('./internal')

/** rocksdb-js's range options that name others: `key` is the range of one key. */
function rangeAliases(options) {
  if (options.key === undefined) return options
  return { ...options, start: options.key, end: options.key, inclusiveEnd: true, exclusiveStart: false }
}

/** Ranges; see `RocksDatabase`. */
class DatabaseRanges extends DatabaseReads {
  /**
   * A range of `options` in `transaction`: the transaction's own when it
   * began on this handle's family, else one read through it in this family,
   * encoded and decoded as this handle does.
   */
  #in(transaction, options, values) {
    if (Transaction.actsOn(transaction, this.path, this.name)) {
      return values ? transaction.getRange(options) : transaction.getKeys(options)
    }
    const range = { ...this[kEncodeRange](options), values }
    return transaction.rangeIn(this.name, range, values, this[kKeys].decodeAt, this[kValues].decodeAt)
  }

  [kEncodeRange](options) {
    const { start, end, reverse = false, exclusiveStart = false, inclusiveEnd = false, limit, offset, values = true } = options
    const first = start === undefined ? undefined : this[kKeys].encode(start)
    const last = end === undefined ? undefined : this[kKeys].encode(end)
    // `start` is where the scan begins: the upper bound when reversed.
    return reverse
      ? { upper: first, upperInclusive: !exclusiveStart, lower: last, lowerInclusive: inclusiveEnd, reverse, limit, offset, values }
      : { lower: first, lowerInclusive: !exclusiveStart, upper: last, upperInclusive: inclusiveEnd, reverse, limit, offset, values }
  }

  /** A range of `options`, already checked by getRange() or getKeys(). */
  #range(options, values) {
    // Refused now before the first open; each iteration takes the native
    // database again, as a dormant one is opened anew.
    void this[kDb]
    const range = { ...this[kEncodeRange](options), values }
    const decodeKey = this[kKeys].decodeAt
    const decodeValue = this[kValues].decodeAt
    const decode = (buffer, length) => decodeBatch(buffer, length, decodeKey, decodeValue, values)
    return new RangeIterable(() => {
      const db = this[kDb]
      if (!db.isOpen) throw databaseNotOpen()
      return this.#iterate(db, range, decode)
    })
  }

  /** Starts one iteration of an encoded range. */
  #iterate(db, range, decode) {
    const handle = this[kHandle]
    const { entries, iterator: native } = this[kSharedPath].startRange(range, decode, db)
    // A decoder may have closed the database meanwhile.
    if (!handle.open) {
      native?.close()
      throw databaseNotOpen()
    }
    if (native === null) return new RangeIterator(entries, null, decode, () => {}, handle)
    const iterators = this[kIterators]
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
    if (options.transaction) return this.#in(options.transaction, options, options.values !== false)
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
    if (options.transaction) return this.#in(options.transaction, options, false)
    return this.#range(options, false)
  }

  /** How many keys a range holds; the options of `getRange()`. */
  getKeysCount(options) {
    options = rangeAliases(checkRangeOptions(options))
    if (options.transaction) {
      let count = 0
      for (const _ of this.#in(options.transaction, options, false)) count++
      return count
    }
    const range = this[kEncodeRange](options)
    return this[kDb].count(packBounds(range), range.lower?.length ?? 0, rangeFlags(range), range.offset ?? 0, range.limit ?? -1)
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
}

module.exports = { DatabaseRanges, rangeAliases }
