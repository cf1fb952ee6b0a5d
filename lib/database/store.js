'use strict'

/**
 * `Store`, what a database handle stands on, as rocksdb-js has it: the
 * path and options of one column family of a database, claimed by the one
 * `RocksDatabase` made on it. `new RocksDatabase(store)` opens a handle on
 * a store made (or subclassed) by the caller; `db.store` is the one every
 * handle has. `new Transaction(db.store)` begins a transaction outside of
 * `db.transaction()`.
 *
 * The handle does its work itself; the store's methods that take a
 * `context` (the handle, or a transaction: `db._context`) are for code that
 * calls them, as Harper's index store calls `store.getCount()`.
 */

const { checkPath, invalidArgType, databaseNotOpen } = require('../errors')
const { kKeys, kValues } = require('./internal')

// The RocksDatabase that claimed the store.
const kOwner = Symbol('owner')

class Store {
  #claimed = false

  /**
   * @param {string} dbPath the database directory
   * @param {object} [options] the options of `RocksDatabase.open()`
   */
  constructor(dbPath, options) {
    /** The database directory, resolved. */
    this.path = checkPath('path', dbPath)
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw invalidArgType('options', 'an object', options)
    }
    /** The options a handle made on the store opens with. */
    this.options = { ...options }
    this[kOwner] = null
  }

  /** The column family: `'default'` unless the `name` option says. */
  get name() {
    return this.options.name ?? 'default'
  }

  /** Whether handles on the store open the database read-only. */
  get readOnly() {
    return this.options.readOnly === true
  }

  /** Whether transactions on the store are pessimistic (lock keys as they write). */
  get pessimistic() {
    return this.options.pessimistic === true
  }

  /** The key used to store msgpack's shared structures, if any. */
  get sharedStructuresKey() {
    return this.options.sharedStructuresKey
  }

  /**
   * Marks the store as the one of a `RocksDatabase`. A store serves one
   * handle for good: claiming it again throws, even after that handle
   * closed.
   */
  claim() {
    if (this.#claimed) throw new Error('Store is already in use by another RocksDatabase instance')
    this.#claimed = true
  }

  /** The handle that claimed the store; throws before one did. */
  get #owner() {
    if (this[kOwner] === null) throw databaseNotOpen()
    return this[kOwner]
  }

  /** The value encoder of the handle (`db.encoder`). */
  get encoder() {
    return this[kOwner]?.encoder ?? null
  }

  /** The value decoder of the handle (`db.decoder`). */
  get decoder() {
    return this[kOwner]?.decoder ?? null
  }

  /** Whether the handle is open. */
  isOpen() {
    return this[kOwner]?.isOpen() ?? false
  }

  /** Opens the handle; whether it was open already. */
  open() {
    const wasOpen = this.isOpen()
    this.#owner.open()
    return wasOpen
  }

  /** Closes the handle. */
  close() {
    return this[kOwner]?.close()
  }

  /** `key` encoded by the handle's key encoding, in a Buffer of its own. */
  encodeKey(key) {
    return Buffer.from(this.#owner[kKeys].encode(key))
  }

  /** The key whose encoding `bytes` are. */
  decodeKey(bytes) {
    return this.#owner[kKeys].decode(bytes)
  }

  /** `value` encoded by the handle's value encoding. */
  encodeValue(value) {
    return this.#owner[kValues].encode(value)
  }

  /** The value whose encoding `bytes` are. */
  decodeValue(bytes) {
    return this.#owner[kValues].decode(bytes)
  }

  /** The value of `key` read in `context` (the handle or a transaction). */
  getSync(context, key, options) {
    return context.getSync(key, options)
  }

  /** Stores `value` under `key` in `context`. */
  putSync(context, key, value, options) {
    return context.putSync(key, value, options)
  }

  /** Removes `key` in `context`. */
  removeSync(context, key, options) {
    return context.removeSync(key, options)
  }

  /** How many keys a range holds as `context` sees it. */
  getCount(context, options) {
    return context.getKeysCount(options)
  }

  /** The keys of a range as `context` sees it. */
  getKeys(context, options) {
    return context.getKeys(options)
  }

  /** How many keys a range holds as `context` sees it. */
  getKeysCount(context, options) {
    return context.getKeysCount(options)
  }

  /** The handle's `tryLock()`. */
  tryLock(key, onUnlocked) {
    return this.#owner.tryLock(key, onUnlocked)
  }

  /** The handle's `unlock()`. */
  unlock(key) {
    return this.#owner.unlock(key)
  }

  /** The handle's `hasLock()`. */
  hasLock(key) {
    return this.#owner.hasLock(key)
  }

  /** The handle's `withLock()`. */
  withLock(key, callback) {
    return this.#owner.withLock(key, callback)
  }
}

module.exports = { Store, kOwner }
