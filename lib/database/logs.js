'use strict'

/**
 * Transaction logs of a database handle, as rocksdb-js has them:
 * `useLog(name)`, `listLogs()`, `purgeLogs()`; see ../transaction-log.
 * Built on ./coordination.
 */

const { TransactionLog, listLogs, purgeLogs, checkLogName, DEFAULT_MAX_SIZE, DEFAULT_RETENTION } = require('../transaction-log')
const { Transaction } = require('../transaction')
const { DatabaseCoordination } = require('./coordination')
const { databaseNotOpen } = require('../errors')

/** Transaction logs; see `RocksDatabase`. */
class DatabaseLogs extends DatabaseCoordination {
  // The logs this handle gave out, by name: useLog() gives the same one again.
  #logs = new Map()

  /**
   * The transaction log `name` of this database (every handle and thread of
   * the process shares its files, `<path>/transaction_logs/<name>/`). Its
   * `addEntry(data, txn.id)` logs `data` as part of a transaction, written
   * just before the transaction commits; `query()` reads committed entries
   * back.
   */
  useLog(name) {
    name = checkLogName(name)
    if (!this.isOpen()) throw databaseNotOpen()
    let log = this.#logs.get(name)
    if (log === undefined) {
      const maxSize = this.options.transactionLogMaxSize ?? DEFAULT_MAX_SIZE
      log = new TransactionLog(this.path, name, maxSize, (id) => Transaction.find(this.path, id))
      this.#logs.set(name, log)
    }
    return log
  }

  /** The names of this database's transaction logs. */
  listLogs() {
    return listLogs(this.path)
  }

  /**
   * Deletes log files last written before `options.before` (ms; default:
   * `transactionLogRetention` ago, 3 days), never a log's newest file;
   * `destroy: true` deletes every file and the logs themselves; `name`
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
}

module.exports = { DatabaseLogs }
