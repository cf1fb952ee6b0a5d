'use strict'

/**
 * `transaction()` and `transactionSync()`: run a callback in a transaction,
 * commit when it returns, and run it again after a conflict.
 */

const { invalidArgType, invalidArgValue, argumentError } = require('./errors')
const { Transaction, RETRYABLE } = require('./transaction')

/** The `coordinatedRetry` of transaction options, checked. */
function coordinatedRetryOf(options) {
  const coordinatedRetry = options?.coordinatedRetry ?? false
  if (typeof coordinatedRetry !== 'boolean') throw invalidArgType('options.coordinatedRetry', 'a boolean', coordinatedRetry)
  return coordinatedRetry
}

/** The `disableSnapshot` of transaction options, checked. */
function disableSnapshotOf(options) {
  const disableSnapshot = options?.disableSnapshot ?? false
  if (typeof disableSnapshot !== 'boolean') throw invalidArgType('options.disableSnapshot', 'a boolean', disableSnapshot)
  return disableSnapshot
}

function checkTransactionArgs(callback, options) {
  if (typeof callback !== 'function') throw argumentError('Callback must be a function')
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArgType('options', 'an object', options)
  }
  // rocksdb-js's `retryOnBusy: false`: a conflict rejects at once.
  const maxRetries = options?.maxRetries ?? (options?.retryOnBusy === false ? 0 : 3)
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw invalidArgValue('options.maxRetries', `must be a non-negative integer. Received ${maxRetries}`)
  }
  return maxRetries
}

const quiet = { emit() {} }

/**
 * A conflict no retry follows, of a transaction that wrote log entries:
 * they stay in the log (its files only grow), so the error says so, in
 * rocksdb-js's words, keeping the conflict's code.
 */
function abandonedAfterLogging(error) {
  error.message = `Transaction was abandoned after writing to the transaction log: ${error.message}`
  return error
}

/**
 * The transaction of the next attempt after `txn` failed: itself when its
 * commit conflicted (the conflict reset it, and its log entries, written
 * once, stand for the retry, as in rocksdb-js), else none: it is aborted
 * and the next attempt begins another.
 */
function next(txn, retry) {
  if (retry && Transaction.isReset(txn)) return txn
  Transaction.discard(txn)
  return null
}

/** Tells `events` that `txn` committed. */
function tellCommitted(events, txn) {
  events.emit('committed', txn)
  events.emit('aftercommit', { next: null, last: null, txnId: txn.id })
}

/**
 * Attempt `attempt` of `txn` failed with `error`: the transaction of the
 * next attempt (see `next()`) when a conflict is retried, or throws the
 * error (one a transaction that logged entries gave up on says so).
 */
function afterFailure(txn, error, attempt, maxRetries) {
  const conflict = RETRYABLE.has(error?.code)
  const retry = conflict && attempt < maxRetries
  const abandoned = conflict && !retry && Transaction.hasLogged(txn)
  const following = next(txn, retry)
  if (abandoned) throw abandonedAfterLogging(error)
  if (!retry) throw error
  return following
}

/**
 * Runs `callback(txn, attempt)` (attempt counts from 1) in a transaction
 * and commits when it resolves, retrying conflicts. `events.emit(name,
 * payload)` is told rocksdb-js's transaction events. `started`: the first
 * attempt of a `transactionSync()` whose callback returned a Promise
 * (`{ txn, pending, attempt, maxRetries }`), which goes on here and
 * commits on the calling thread.
 */
async function runTransaction(begin, callback, options, events = quiet, started = undefined) {
  const maxRetries = started?.maxRetries ?? checkTransactionArgs(callback, options)
  const sync = started !== undefined
  let txn = started?.txn ?? null
  for (let attempt = started?.attempt ?? 0; ; attempt++) {
    const pending = attempt === started?.attempt ? started.pending : undefined
    txn ??= begin()
    try {
      if (pending === undefined) events.emit('begin-transaction', txn)
      const result = await (pending ?? callback(txn, attempt + 1))
      events.emit('beforecommit', txn)
      await Transaction.finishCallback(txn, sync)
      tellCommitted(events, txn)
      return result
    } catch (error) {
      txn = afterFailure(txn, error, attempt, maxRetries)
      // The transaction that won may still be running (holding its locks, in
      // pessimistic mode): give it turns of the event loop, a little more each
      // time, before trying again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 50)))
    }
  }
}

function runTransactionSync(begin, callback, options, events = quiet) {
  const maxRetries = checkTransactionArgs(callback, options)
  let txn = null
  for (let attempt = 0; ; attempt++) {
    txn ??= begin()
    try {
      events.emit('begin-transaction', txn)
      const result = callback(txn, attempt + 1)
      // A callback that returned a Promise (rocksdb-js allows it): the
      // commit waits for it, and the caller gets a Promise.
      if (result && typeof result.then === 'function') {
        return runTransaction(begin, callback, options, events, { txn, pending: result, attempt, maxRetries })
      }
      events.emit('beforecommit', txn)
      Transaction.finishCallback(txn, true)
      tellCommitted(events, txn)
      return result
    } catch (error) {
      txn = afterFailure(txn, error, attempt, maxRetries)
    }
  }
}

module.exports = { runTransaction, runTransactionSync, coordinatedRetryOf, disableSnapshotOf }
