'use strict'

/**
 * Transaction logs of a database handle, as rocksdb-js has them:
 * `useLog(name)`, `listLogs()`, `purgeLogs()`; see ../transaction-log.
 * Built on ./coordination.
 */

const fs = require('node:fs')
const path = require('node:path')
const { TransactionLog, listLogs, purgeLogs, checkLogName, DEFAULT_MAX_SIZE, DEFAULT_RETENTION, DEFAULT_MAX_AGE_THRESHOLD } = require('../transaction-log')
const { Transaction } = require('../transaction')
const { DatabaseCoordination } = require('./coordination')
const { databaseNotOpen } = require('../errors')

/** Transaction logs; see `RocksDatabase`. */
class DatabaseLogs extends DatabaseCoordination {
  // The logs this handle gave out, by name: useLog() gives the same one
  // again while it is in use. Held weakly, as rocksdb-js holds them: a log
  // nobody uses any more is collected, with the memory maps it read through.
  #logs = new Map()

  /**
   * The transaction log `name` of this database (every handle and thread of
   * the process shares its files, `<path>/transaction_logs/<name>/`). Its
   * `addEntry(data, txn.id)` logs `data` as part of a transaction, written
   * just before the transaction commits; `query()` reads committed entries
   * back. Making a log that did not exist emits `'new-transaction-log'`
   * (with its name) to the database's listeners.
   */
  useLog(name) {
    name = checkLogName(name)
    if (!this.isOpen()) throw databaseNotOpen()
    let log = this.#logs.get(name)?.deref()
    if (log === undefined) {
      const settings = {
        maxSize: this.options.transactionLogMaxSize ?? DEFAULT_MAX_SIZE,
        retention: this.options.transactionLogRetention ?? DEFAULT_RETENTION,
        maxAgeThreshold: this.options.transactionLogMaxAgeThreshold ?? DEFAULT_MAX_AGE_THRESHOLD,
      }
      const dir = path.join(this.path, 'transaction_logs', name)
      const created = !fs.existsSync(dir)
      log = new TransactionLog(this.path, name, settings, (id) => Transaction.find(this.path, id))
      this.#logs.set(name, new WeakRef(log))
      // As rocksdb-js purges at a log's load: files past the retention go at
      // its first use here, but for those purgeLogs() keeps (the newest, and
      // those a replay from the last flush needs), so a process that never
      // calls purgeLogs() does not keep its logs for ever.
      if (!created && !this.readOnly && !purgedAtFirstUse.has(dir)) {
        purgedAtFirstUse.add(dir)
        purgeLogs(this.path, { name }, settings.retention)
      }
      // rocksdb-js's event, heard by every handle of the database.
      if (created) this.notify('new-transaction-log', name)
    }
    return log
  }

  /** The names of this database's transaction logs. */
  listLogs() {
    return listLogs(this.path)
  }

  /**
   * Deletes log files last written before `options.before` (ms; default:
   * `transactionLogRetention` ago, 3 days), never a log's newest file nor
   * one a replay from the last flush needs (every file while no flush was
   * recorded); `destroy: true` deletes every file and the logs themselves; `name`
   * limits it to one log. Returns the deleted files' paths, or with
   * `includeEntryCounts: true` `{ path, entries }` for each.
   */
  purgeLogs(options) {
    const purged = purgeLogs(this.path, options, this.options.transactionLogRetention ?? DEFAULT_RETENTION)
    if (options?.destroy) {
      for (const name of this.#logs.keys()) if (options.name === undefined || String(options.name) === name) this.#logs.delete(name)
    }
    return purged
  }

  /**
   * `getStats()` with rocksdb-js's summary of the database's transaction
   * logs (`txnlog.*`: summed over every log; see `log.getStats()`).
   */
  getStats(all = false) {
    return Object.assign(super.getStats(all), this.#logSummary())
  }

  /** `getStat()`, which also knows the `txnlog.*` summary. */
  getStat(name) {
    if (typeof name === 'string' && name.startsWith('txnlog.')) return this.#logSummary()[name]
    return super.getStat(name)
  }

  /** The `txnlog.*` summary of the database's logs. */
  #logSummary() {
    const summary = Object.fromEntries(LOG_SUMMARY_KEYS.map((key) => [`txnlog.${key}`, 0]))
    const names = this.listLogs()
    summary['txnlog.logCount'] = names.length
    for (const name of names) {
      const stats = this.useLog(name).getStats()
      const add = (key, value) => (summary[`txnlog.${key}`] += value)
      for (const key of ['fileCount', 'totalSizeBytes', 'pendingTransactions', 'uncommittedTransactions', 'replayGapBytes']) add(key, stats[key])
      for (const key of ['mappedBytes', 'overlayBytes', 'activeMaps']) add(key, stats.memory[key])
      for (const key of ['transactionsWritten', 'bytesWritten']) add(key, stats.totals[key])
    }
    return summary
  }
}

/** The log directories purged at their first use in this thread. */
const purgedAtFirstUse = new Set()

/** The keys of the `txnlog.*` summary, as rocksdb-js names them. */
const LOG_SUMMARY_KEYS = [
  'logCount',
  'fileCount',
  'totalSizeBytes',
  'mappedBytes',
  'overlayBytes',
  'activeMaps',
  'pendingTransactions',
  'uncommittedTransactions',
  'transactionsWritten',
  'bytesWritten',
  'replayGapBytes',
]

module.exports = { DatabaseLogs }
