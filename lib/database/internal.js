'use strict'

/**
 * The members the layers of a database handle share (./events, ./lifecycle,
 * ./reads, ./ranges, ./writes, ./stats): keyed by symbols that only these
 * modules hold, so they stay out of the public surface as `#private`
 * members would, yet reach every layer of the class.
 */

module.exports = {
  // The key and value encoders of the handle.
  kKeys: Symbol('keys'),
  kValues: Symbol('values'),
  // The native database, opened again when dormant (a getter).
  kDb: Symbol('db'),
  // The shared buffers of the fast path, opened again when dormant (a getter).
  kSharedPath: Symbol('sharedPath'),
  // Runs a call on libuv's pool, counted as in flight for the idle timer.
  kPooled: Symbol('pooled'),
  // Reports a storage failure met by a write as an 'error' event.
  kFailed: Symbol('failed'),
  // Native iterators in flight, closed with the database.
  kIterators: Symbol('iterators'),
  // Transactions begun and not yet ended, aborted by close().
  kTransactions: Symbol('transactions'),
  // The queue of async writes.
  kWrites: Symbol('writes'),
  // The state of the current opening, shared with the ranges it starts.
  kHandle: Symbol('handle'),
  // The handle's listeners, by event.
  kListeners: Symbol('listeners'),
  // Stops listening on the path's BroadcastChannel.
  kUnsubscribe: Symbol('unsubscribe'),
  // Encodes the options of a range.
  kEncodeRange: Symbol('encodeRange'),
  // Called by close(): lets a layer let go of what it holds (key locks).
  kOnClose: Symbol('onClose'),
  // What a transaction on the handle is made of (`new Transaction(store)`).
  kTransactionParts: Symbol('transactionParts'),
}
