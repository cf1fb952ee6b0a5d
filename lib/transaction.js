'use strict'

const { invalidArgType, invalidArgValue } = require('./errors')

/**
 * A transaction handed to the callback of `db.transaction()`. Reads see its
 * own writes over the snapshot taken when it began; writes become visible to
 * others only at commit.
 */
class Transaction {
  #native
  #keys
  #values

  constructor(native, keys, values) {
    this.#native = native
    this.#keys = keys
    this.#values = values
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
    await this.#native.commit()
  }

  /** Commits on the calling thread. */
  commitSync() {
    this.#native.commitSync()
  }

  /** Discards every buffered write. Idempotent. */
  abort() {
    this.#native.abort()
  }

  /** Whether the transaction can still be used. */
  get isOpen() {
    return this.#native.isOpen
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
      if (error?.code === 'ERR_TRANSACTION_CONFLICT' && attempt < maxRetries) continue
      throw error
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
