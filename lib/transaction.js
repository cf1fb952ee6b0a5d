'use strict'

const { invalidArgType, invalidArgValue } = require('./errors')
const { RangeIterable, decodeBatch } = require('./range')

/** Entries of the first batch of a range read in a transaction; later ones double. */
const FIRST_BATCH = 32
const MAX_BATCH = 4096

/** The bytes of the last key of a packed batch (see `decodeBatch`). */
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
 * A transaction handed to the callback of `db.transaction()`. Reads see its
 * own writes over the snapshot taken when it began; writes become visible to
 * others only at commit.
 */
class Transaction {
  #native
  #keys
  #values
  #encodeRange
  #open = true

  /**
   * @param {object} native the native transaction
   * @param {object} keys the key encoding
   * @param {object} values the value encoding
   * @param {(options: object) => object} encodeRange checks range options and encodes their bounds
   */
  constructor(native, keys, values, encodeRange) {
    this.#native = native
    this.#keys = keys
    this.#values = values
    this.#encodeRange = encodeRange
  }

  /**
   * A lazy range of `{ key, value }` as this transaction sees it: its own
   * writes over its snapshot. The options of `db.getRange()`. Iterate it
   * before the transaction ends; after, it throws `ERR_TRANSACTION_DONE`.
   */
  getRange(options) {
    const range = this.#encodeRange(options)
    return this.#range(range, range.values !== false)
  }

  /** A lazy range of keys only, as this transaction sees it; the options of `getRange()`. */
  getKeys(options) {
    return this.#range({ ...this.#encodeRange(options), values: false }, false)
  }

  #range(range, values) {
    const native = this.#native
    const decodeKey = this.#keys.decodeAt
    const decodeValue = this.#values.decodeAt
    // Each batch is read by an iterator of its own, so no iterator outlives
    // the transaction; the next batch resumes after the last key read.
    return new RangeIterable(function* () {
      let current = { ...range, values }
      let remaining = range.limit
      let batch = FIRST_BATCH
      while (remaining === undefined || remaining > 0) {
        const bytes = native.rangeBatch(current, remaining === undefined ? batch : Math.min(batch, remaining))
        if (bytes == null) return
        const entries = decodeBatch(bytes, bytes.length, decodeKey, decodeValue, values)
        if (remaining !== undefined) remaining -= entries.length
        const after = lastKeyOf(bytes, values)
        current = current.reverse
          ? { ...current, upper: after, upperInclusive: false, offset: 0 }
          : { ...current, lower: after, lowerInclusive: false, offset: 0 }
        batch = Math.min(batch * 2, MAX_BATCH)
        yield* entries
      }
    })
  }

  /** The decoded value of `key` as this transaction sees it, or `undefined`. */
  getSync(key) {
    const bytes = this.#native.getSync(this.#keys.encode(key))
    return bytes == null ? undefined : this.#values.decode(bytes)
  }

  /** Promise form of `getSync()`: the read is served from the transaction's own state and RocksDB's caches. */
  async get(key) {
    return this.getSync(key)
  }

  /** Buffers a write; it is applied at commit. */
  putSync(key, value) {
    this.#native.putSync(this.#keys.encode(key), this.#values.encode(value))
  }

  /** Promise form of `putSync()`. */
  async put(key, value) {
    this.putSync(key, value)
  }

  /** Buffers a removal; it is applied at commit. */
  removeSync(key) {
    this.#native.removeSync(this.#keys.encode(key))
  }

  /** Promise form of `removeSync()`. */
  async remove(key) {
    this.removeSync(key)
  }

  /** Commits on a worker thread; rejects with `ERR_TRANSACTION_CONFLICT` on a conflict. */
  async commit() {
    // The native side ends the transaction as the call starts, whatever the
    // outcome, so the flag can follow without asking it.
    const done = this.#native.commit()
    this.#open = false
    await done
  }

  /** Commits on the calling thread. */
  commitSync() {
    this.#open = false
    this.#native.commitSync()
  }

  /** Discards every buffered write. Idempotent. */
  abort() {
    this.#open = false
    this.#native.abort()
  }

  /** Whether the transaction can still be used. */
  get isOpen() {
    return this.#open
  }
}

function checkTransactionArgs(callback, options) {
  if (typeof callback !== 'function') throw invalidArgType('callback', 'a function', callback)
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArgType('options', 'an object', options)
  }
  const maxRetries = options?.maxRetries ?? 3
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw invalidArgValue('options.maxRetries', `must be a non-negative integer. Received ${maxRetries}`)
  }
  return maxRetries
}

async function runTransaction(begin, callback, options) {
  const maxRetries = checkTransactionArgs(callback, options)
  for (let attempt = 0; ; attempt++) {
    const txn = begin()
    try {
      const result = await callback(txn)
      if (txn.isOpen) await txn.commit()
      return result
    } catch (error) {
      txn.abort()
      if (error?.code !== 'ERR_TRANSACTION_CONFLICT' || attempt >= maxRetries) throw error
      // The transaction that won may still be running (holding its locks, in
      // pessimistic mode): give it turns of the event loop, a little more each
      // time, before trying again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 50)))
    }
  }
}

function runTransactionSync(begin, callback, options) {
  const maxRetries = checkTransactionArgs(callback, options)
  for (let attempt = 0; ; attempt++) {
    const txn = begin()
    try {
      const result = callback(txn)
      if (result && typeof result.then === 'function') {
        throw invalidArgType('callback', 'a synchronous function (use transaction() for async work)', result)
      }
      if (txn.isOpen) txn.commitSync()
      return result
    } catch (error) {
      txn.abort()
      if (error?.code === 'ERR_TRANSACTION_CONFLICT' && attempt < maxRetries) continue
      throw error
    }
  }
}

module.exports = { Transaction, runTransaction, runTransactionSync }
