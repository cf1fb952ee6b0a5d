'use strict'

/**
 * `DBI`, what a database handle and a transaction have in common, as
 * rocksdb-js names it: code written for it extends `DBI.prototype` to add a
 * method to both (Harper's `getValuesCount`), and reaches the `Store` under
 * either through `store`.
 */
class DBI {
  /**
   * What calls on the `Store` act in, for code that calls the store's
   * methods itself (`store.getCount(this._context, options)`): the handle,
   * or the transaction.
   */
  get _context() {
    return this
  }
}

module.exports = { DBI }
