'use strict'

/**
 * Transaction logs, as rocksdb-js defines them: `db.useLog(name)` gives a
 * `TransactionLog`, whose `addEntry(data, txnId)` adds an entry that the
 * transaction writes (src/transaction_log.rs) just before RocksDB commits
 * it, and whose `query()` reads back the entries of committed transactions,
 * from the files themselves (./transaction-log-read), in rocksdb-js's
 * format (`<db>/transaction_logs/<name>/<sequence>.txnlog`). Here too: the
 * entries a transaction writes at commit, listing, purging and copying logs.
 */

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const {
  transactionLogOpen,
  transactionLogCommitted,
  transactionLogMap,
  transactionLogPositionWord,
  transactionLogFileSize,
  transactionLogCounters,
  transactionLogForget,
  transactionLogAppend,
  transactionLogAppendSync,
  transactionLogFinish,
  transactionLogPurged,
  transactionLogLastFlushed,
} = require('./binding')
const { invalidArgType, invalidArgValue, nativeFailure } = require('./errors')
const { LogQuery, CorruptFrameError, parseTransactionLog, sequencesOf, FILE_HEADER_SIZE } = require('./transaction-log-read')

/** Bytes after which a log moves on to a new file (rocksdb-js's default). */
const DEFAULT_MAX_SIZE = 16 * 1024 * 1024
/** How long purgeLogs() keeps files by default: 3 days (rocksdb-js's). */
const DEFAULT_RETENTION = 3 * 24 * 60 * 60 * 1000
/**
 * A file lives `retention × (1 − this)` before the log moves on to the
 * next (rocksdb-js's default: a quarter of the retention).
 */
const DEFAULT_MAX_AGE_THRESHOLD = 0.75

/** The directory of the logs of the database at `dbPath`. */
function logsDir(dbPath) {
  return path.join(dbPath, 'transaction_logs')
}

/**
 * The position word (see TransactionLog#_getLastCommittedPosition) is read
 * in one load as a float64 and split here into its halves: the offset
 * (low) and the sequence (high), on a little-endian machine.
 */
const WORD = new Float64Array(1)
const WORD_HALVES = new Uint32Array(WORD.buffer)
const READ_WORD = os.endianness() === 'LE'

/** A log name: a non-empty string (a number is made one) that names one directory. */
function checkLogName(name) {
  if (typeof name === 'number' && Number.isFinite(name)) name = String(name)
  if (typeof name !== 'string') throw invalidArgType('name', 'a string or number', name, 'Log name must be a string or number')
  if (name.length === 0 || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw invalidArgValue('name', `must name one directory: not empty, '.', '..' nor with a path separator. Received ${JSON.stringify(name)}`)
  }
  return name
}

/** A log file's sequence number: an integer from 1 (u32). */
function checkSequence(sequence) {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > 0xffffffff) {
    throw invalidArgType('sequence', 'a log file sequence number (an integer from 1)', sequence, 'Expected sequence number to be a positive integer greater than 0')
  }
}

/** A transaction log of a database: see `db.useLog()`. */
class TransactionLog {
  #dbPath
  #maxSize
  #retention
  #maxAgeThreshold
  #findTransaction

  /**
   * @param {string} dbPath the database directory
   * @param {string} name the log's name
   * @param {{ maxSize: number, retention: number, maxAgeThreshold: number }}
   *   settings bytes after which the log moves on to a new file; ms
   *   `purgeLogs()` keeps files; the share of that a file lives before the
   *   next starts (0: no limit)
   * @param {(id: number) => object | undefined} findTransaction the open transaction of an id
   */
  constructor(dbPath, name, { maxSize, retention, maxAgeThreshold }, findTransaction) {
    this.#dbPath = dbPath
    this.#maxSize = maxSize
    this.#retention = retention
    this.#maxAgeThreshold = maxAgeThreshold
    this.#findTransaction = findTransaction
    /** The log's name. */
    this.name = name
    /** The directory of the log's files. */
    this.path = path.join(logsDir(dbPath), name)
    /**
     * Queries' cache of the memory maps of the log's files, by sequence
     * number (weak: a map is unmapped once nothing uses it). Named as
     * rocksdb-js names it, with `_currentLogBuffer` and
     * `_lastCommittedPosition`, which its tools reach.
     * @internal
     */
    this._logBuffers = new Map()
    /** @internal */
    this._currentLogBuffer = undefined
    /** @internal The position word as a `Float64Array`, once read. */
    this._lastCommittedPosition = undefined
    /**
     * The lowest and highest timestamps of files the log moved on from, by
     * sequence number: a query from a timestamp passes over the files that
     * cannot hold it.
     * @internal
     */
    this._timestamps = new Map()
    // The log exists from its first use (listLogs() names it), its first
    // file from its first entry.
    fs.mkdirSync(this.path, { recursive: true })
    const maxAge = maxAgeThreshold > 0 ? retention * (1 - maxAgeThreshold) : 0
    transactionLogOpen(dbPath, name, maxSize, maxAge)
  }

  /**
   * Adds `data` to the log as part of the open transaction `transactionId`
   * (`txn.id`): written just before the transaction commits, and only
   * visible to `query()` once it has.
   */
  addEntry(data, transactionId) {
    if (data instanceof ArrayBuffer) data = new Uint8Array(data)
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'a Buffer, Uint8Array or ArrayBuffer', data, 'Invalid log entry, expected a Buffer or ArrayBuffer')
    if (transactionId === undefined) throw invalidArgType('transactionId', 'the id of an open transaction', transactionId, 'Missing argument, transaction id is required')
    if (!Number.isInteger(transactionId) || transactionId < 0) {
      throw invalidArgType('transactionId', 'the id of an open transaction', transactionId, 'Invalid argument, transaction id must be a non-negative integer')
    }
    const transaction = this.#findTransaction(transactionId)
    if (transaction === undefined) throw invalidArgValue('transactionId', `is ${transactionId}, which no open transaction of this database has`, 'Transaction not found')
    transaction.addLogEntry(this.name, this.#maxSize, Buffer.from(data))
  }

  /**
   * The entries of committed transactions (`readUncommitted: true`: of every
   * transaction written) as `{ timestamp, data, endTxn }`, in log order.
   * Options: `start` (timestamp; without it, only what commits from now
   * on), `end` (exclusive), `exclusiveStart`, `exactStart` (from the first
   * entry stamped `start` on, whatever the later timestamps),
   * `readUncommitted`, `startFromLastFlushed` (from where the entries of
   * transactions the last `flush()` did not cover begin: a replay after a
   * crash). Iterating the result again goes on from where it stopped.
   */
  query(options = {}) {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
    for (const name of ['start', 'end']) {
      if (options[name] !== undefined && typeof options[name] !== 'number') throw invalidArgType(`options.${name}`, 'a number', options[name])
    }
    return new LogQuery(this, { ...options })
  }

  /** Where committed entries end: `{ sequence, offset }`. */
  committedPosition() {
    if (!READ_WORD) return transactionLogCommitted(this.#dbPath, this.name)
    this._lastCommittedPosition ??= new Float64Array(this._getLastCommittedPosition().buffer)
    WORD[0] = this._lastCommittedPosition[0]
    return { sequence: WORD_HALVES[1], offset: WORD_HALVES[0] }
  }

  /**
   * rocksdb-js's internal: the committed watermark as an 8-byte Buffer that
   * moves as transactions end, one word `sequence << 32 | offset` in the
   * machine's byte order (read it whole, as a float64, not as two halves).
   * @internal
   */
  _getLastCommittedPosition() {
    return Buffer.from(transactionLogPositionWord(this.#dbPath, this.name))
  }

  /**
   * rocksdb-js's internal: a read-only memory map of the log file
   * `sequence` as a Buffer (its bytes, then zeros; the file being written
   * shows later appends in it), or `undefined` when there is no such file
   * or it is empty. Unmapped once collected.
   * @internal
   */
  _getMemoryMapOfFile(sequence) {
    checkSequence(sequence)
    const map = transactionLogMap(this.#dbPath, this.name, sequence)
    return map == null ? undefined : Buffer.from(map)
  }

  /**
   * Where the entries of transactions RocksDB has flushed to SST files end,
   * as the last `flush()` recorded it (`txn.state`); `{ sequence: 0,
   * offset: 0 }` before any.
   */
  lastFlushedPosition() {
    return transactionLogLastFlushed(this.#dbPath, this.name)
  }

  /**
   * Bytes of the log file `sequence` (of whole transactions: one being
   * written is not counted until it is), or of all of them; 0 when there
   * is no such file.
   */
  getLogFileSize(sequence) {
    if (sequence !== undefined) {
      checkSequence(sequence)
      return transactionLogFileSize(this.#dbPath, this.name, sequence)
    }
    return sequencesOf(this.path).reduce((total, number) => total + (this.#statOf(number)?.size ?? 0), 0)
  }

  /** The `fs.Stats` of the file `sequence`, or `undefined` when there is none. */
  #statOf(sequence) {
    try {
      return fs.statSync(path.join(this.path, `${sequence}.txnlog`))
    } catch (error) {
      if (error.code === 'ENOENT') return undefined
      throw error
    }
  }

  /**
   * The log's files, positions, memory maps and what this process did to
   * it, in rocksdb-js's shape (sizes in bytes, times in ms). `memory`:
   * the maps readers hold (`mappedBytes` is address space, most of it
   * never touched; `overlayBytes` the part that shows files). `purge`:
   * files older than the retention that a purge would delete, or keeps
   * because a replay may need them (not covered by a flush).
   */
  getStats() {
    const sequences = sequencesOf(this.path)
    const counters = transactionLogCounters(this.#dbPath, this.name)
    // One look at each file: sizes, and ages.
    const stats = new Map(sequences.map((sequence) => [sequence, this.#statOf(sequence)]))
    const totalSizeBytes = [...stats.values()].reduce((total, stat) => total + (stat?.size ?? 0), 0)
    const currentFileSize = stats.get(counters.currentSequence)?.size ?? 0
    const now = Date.now()
    const oldest = stats.get(sequences[0])
    const flushed = this.lastFlushedPosition()
    const committed = this.committedPosition()
    // Of the files past the retention, as purgeLogs() decides: those from
    // the one the last flush reached on are kept (a replay needs them), the
    // others go, but for the newest (written to).
    let purgeableFiles = 0
    let retainedUnflushedFiles = 0
    for (const [sequence, stat] of stats) {
      if (stat === undefined || now - stat.mtimeMs <= this.#retention) continue
      if (flushed.sequence === 0 || sequence >= flushed.sequence) retainedUnflushedFiles++
      else if (sequence !== sequences.at(-1)) purgeableFiles++
    }
    return {
      name: this.name,
      path: this.path,
      fileCount: sequences.length,
      currentSequenceNumber: counters.currentSequence,
      oldestSequenceNumber: sequences[0] ?? 0,
      totalSizeBytes,
      currentFileSize,
      pendingTransactions: 0,
      uncommittedTransactions: counters.uncommittedTransactions,
      replayGapBytes: gapBetween(stats, flushed, { sequence: counters.currentSequence, offset: currentFileSize }),
      nextLogPosition: { sequence: counters.currentSequence, offset: currentFileSize },
      lastCommittedPosition: committed,
      lastFlushedPosition: flushed,
      memory: { activeMaps: counters.activeMaps, mappedBytes: counters.mappedBytes, overlayBytes: counters.overlayBytes },
      purge: { oldestFileAgeMs: oldest === undefined ? 0 : now - oldest.mtimeMs, purgeableFiles, retainedUnflushedFiles, lastPurgeMs: counters.lastPurgeMs },
      config: { maxFileSize: this.#maxSize, retentionMs: this.#retention, maxAgeThreshold: this.#maxAgeThreshold },
      totals: {
        transactionsWritten: counters.transactionsWritten,
        entriesWritten: counters.entriesWritten,
        bytesWritten: counters.bytesWritten,
        rotations: counters.rotations,
        writeFailures: counters.writeFailures,
        purgeRuns: counters.purgeRuns,
        filesPurged: counters.filesPurged,
        bytesPurged: counters.bytesPurged,
      },
    }
  }
}

/**
 * Bytes of the log between `from` and `to` (positions), given the files'
 * stats by sequence: what a replay from the last flush reads. From the
 * first file when nothing was flushed.
 */
function gapBetween(stats, from, to) {
  let bytes = 0
  for (const [sequence, stat] of stats) {
    if (stat === undefined || sequence < from.sequence || sequence > to.sequence) continue
    const end = sequence === to.sequence ? to.offset : stat.size
    const start = sequence === from.sequence ? from.offset : FILE_HEADER_SIZE
    bytes += Math.max(0, end - Math.max(start, FILE_HEADER_SIZE))
  }
  return bytes
}

/**
 * The log entries of one transaction of the database at `dbPath`, by log:
 * each log's written in one append just before the commit, and ended (for
 * readers of committed entries) when it commits or aborts. Written once: a
 * conflict's retry commits what the first attempt wrote, and entries added
 * after it are not added again (as rocksdb-js does, so a retry of the
 * transaction's work does not log it twice).
 */
class LogBatch {
  #dbPath
  /** Entries to write, by log name: `{ maxSize, entries }`. */
  #pending = new Map()
  /** Where they were written: `{ name, sequence, offset }`. */
  #written = []

  constructor(dbPath) {
    this.#dbPath = dbPath
  }

  /** Adds `data` to the log `name` (files of `maxSize` bytes), unless the batch was written. */
  add(name, maxSize, data) {
    if (this.#written.length > 0) return
    let log = this.#pending.get(name)
    if (log === undefined) this.#pending.set(name, (log = { maxSize, entries: [] }))
    log.entries.push(data)
  }

  /** Whether entries were written (and wait for the commit to end). */
  get logged() {
    return this.#written.length > 0
  }

  /** Whether entries wait to be written. */
  get pending() {
    return this.#pending.size > 0
  }

  /**
   * The pending entries as a native commit appends them (`{ name,
   * maxFileSize, entries }` for each log), taken out of the batch: the
   * commit gives back where it wrote them, for `written()`.
   */
  take() {
    const appends = [...this.#pending].map(([name, { maxSize, entries }]) => ({ name, maxFileSize: maxSize, entries }))
    this.#pending.clear()
    return appends
  }

  /** Where a native commit wrote the entries `take()` gave it. */
  written(marks) {
    for (const { name, sequence, offset } of marks) this.#written.push({ name, sequence, offset })
  }

  /**
   * Appends the pending entries and commits, in one native call:
   * `commit(appends)` (see `take()`) resolves with where it wrote them, the
   * sequence number after the commit, and the commit's failure if it
   * failed after the append (the entries then stay written, for a
   * conflict's retry to commit: see `end()`).
   */
  async commitIn(commit) {
    const result = await commit(this.take())
    this.written(result.logs)
    if (typeof result.errorCode === 'string') throw nativeFailure(result.errorCode, result.errorMessage)
    this.end(result.sequence)
  }

  /** Writes the pending entries on the pool, stamped `timestamp`. */
  async write(timestamp) {
    if (this.pending) this.written(await transactionLogAppend(this.#dbPath, timestamp, this.take()))
  }

  /** `write()` on the calling thread. */
  writeSync(timestamp) {
    if (this.pending) this.written(transactionLogAppendSync(this.#dbPath, timestamp, this.take()))
  }

  /**
   * The transaction ended: readers of committed entries go past what it
   * wrote. `committedAt`: a RocksDB sequence number read after it
   * committed (a flush that reaches it covers the transaction); none when
   * it aborted.
   */
  end(committedAt = -1) {
    for (const { name, sequence, offset } of this.#written.splice(0)) transactionLogFinish(this.#dbPath, name, sequence, offset, committedAt)
  }
}

/**
 * A RocksDB sequence number read from the native handle `db` after a
 * commit (see LogBatch#end): the commit's writes have it or an earlier
 * one. When the handle closed right after the commit (which stands), none
 * can be read: then no flush RocksDB makes by itself is taken to cover the
 * transaction (nor what follows it in the log) until a `flush()` records
 * past it, a longer replay, never a lost write.
 */
function sequenceAfter(db) {
  try {
    return db.latestSequenceNumber()
  } catch {
    return Number.MAX_VALUE
  }
}

/** `log` with the transaction `id` bound: `txn.useLog(name)`. */
function boundLog(log, id) {
  return {
    name: log.name,
    path: log.path,
    addEntry: (data) => log.addEntry(data, id),
    query: (options) => log.query(options),
  }
}

/** The names of the logs of the database at `dbPath`. */
function listLogs(dbPath) {
  try {
    return fs
      .readdirSync(logsDir(dbPath), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()
  } catch (error) {
    if (error.code === 'ENOENT') return []
    throw error
  }
}

/**
 * Deletes the log files of the database at `dbPath` last written before
 * `options.before` (default: the retention ago), never a log's newest file
 * (it is written to) nor one a replay from the last flush needs (every file
 * while no flush was recorded), or with `destroy` every file and the logs
 * themselves;
 * `options.name` limits it to one log. The deleted files' paths, or with
 * `includeEntryCounts` `{ path, entries }`.
 */
function purgeLogs(dbPath, options, retention) {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  const before = options.before ?? Date.now() - retention
  if (typeof before !== 'number') throw invalidArgType('options.before', 'a timestamp (ms)', before)
  const names = options.name === undefined ? listLogs(dbPath) : [checkLogName(options.name)]
  const purged = []
  for (const name of names) {
    const dir = path.join(logsDir(dbPath), name)
    const sequences = sequencesOf(dir)
    const newest = sequences.at(-1)
    // Files from the one the last flush reached on hold entries a replay
    // may need: kept whatever their age; all of them while no flush was
    // recorded (a replay then starts at the first).
    const flushed = options.destroy ? 0 : transactionLogLastFlushed(dbPath, name).sequence
    let files = 0
    let bytes = 0
    for (const sequence of sequences) {
      const file = path.join(dir, `${sequence}.txnlog`)
      const stat = fs.statSync(file)
      if (!options.destroy && (sequence === newest || sequence >= flushed || stat.mtimeMs >= before)) continue
      const entries = options.includeEntryCounts ? countEntries(file) : undefined
      fs.rmSync(file, { force: true })
      files++
      bytes += stat.size
      purged.push(options.includeEntryCounts ? { path: file, entries } : file)
    }
    if (options.destroy) {
      fs.rmSync(dir, { recursive: true, force: true })
      transactionLogForget(dbPath, name)
    } else {
      transactionLogPurged(dbPath, name, files, bytes)
    }
  }
  return purged
}

/**
 * Copies the transaction logs of the open database `db` into
 * `<targetDir>/transaction_logs/`, each file up to where its committed
 * entries end (a copy that ends on an entry, with every transaction in it
 * committed), and each log's `txn.state`. Resolves with the files copied,
 * `{ name: '<log>/<file>', size, mtimeMs }` (`mtimeMs`, a log file's last
 * write, which a restore gives back).
 */
async function snapshotLogs(db, targetDir) {
  const copied = []
  for (const name of db.listLogs()) {
    const log = db.useLog(name)
    const committed = log.committedPosition()
    const into = path.join(targetDir, 'transaction_logs', name)
    await fs.promises.mkdir(into, { recursive: true })
    for (const sequence of sequencesOf(log.path)) {
      if (sequence > committed.sequence) continue
      const file = `${sequence}.txnlog`
      const target = path.join(into, file)
      // The file's age decides when purgeLogs() deletes it: a restore
      // gives it back (rocksdb-js's backups keep it too).
      const { mtimeMs } = await fs.promises.stat(path.join(log.path, file))
      await fs.promises.copyFile(path.join(log.path, file), target)
      // Entries written since the watermark was read are cut off again.
      if (sequence === committed.sequence) await fs.promises.truncate(target, committed.offset)
      const { size } = await fs.promises.stat(target)
      if (size < FILE_HEADER_SIZE) {
        await fs.promises.rm(target)
        continue
      }
      copied.push({ name: `${name}/${file}`, size, mtimeMs })
    }
    try {
      await fs.promises.copyFile(path.join(log.path, 'txn.state'), path.join(into, 'txn.state'))
      copied.push({ name: `${name}/txn.state`, size: 8 })
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
    }
  }
  return copied
}

function countEntries(file) {
  try {
    return parseTransactionLog(file).entries.length
  } catch {
    return 0
  }
}

module.exports = {
  snapshotLogs,
  TransactionLog,
  CorruptFrameError,
  LogBatch,
  boundLog,
  sequenceAfter,
  parseTransactionLog,
  listLogs,
  purgeLogs,
  checkLogName,
  DEFAULT_MAX_SIZE,
  DEFAULT_RETENTION,
  DEFAULT_MAX_AGE_THRESHOLD,
}
