'use strict'

/**
 * Transaction logs, as rocksdb-js defines them: `db.useLog(name)` gives a
 * `TransactionLog`, whose `addEntry(data, txnId)` adds an entry that the
 * transaction writes (src/transaction_log.rs) just before RocksDB commits
 * it, and whose `query()` reads back the entries of committed transactions,
 * from the files themselves, in rocksdb-js's format (`<db>/transaction_logs/
 * <name>/<sequence>.txnlog`). `parseTransactionLog(file)` reads one file whole.
 */

const fs = require('node:fs')
const path = require('node:path')
const {
  transactionLogOpen,
  transactionLogCommitted,
  transactionLogCounters,
  transactionLogForget,
  transactionLogWrite,
  transactionLogWriteSync,
  transactionLogFinish,
  transactionLogPurged,
  transactionLogLastFlushed,
} = require('./binding')
const { invalidArgType, invalidArgValue } = require('./errors')

const TOKEN = 0x574f4f46
const FILE_HEADER_SIZE = 13
const ENTRY_HEADER_SIZE = 13
const LAST_IN_TRANSACTION = 0x01
/** Bytes after which a log moves on to a new file (rocksdb-js's default). */
const DEFAULT_MAX_SIZE = 16 * 1024 * 1024
/** How long purgeLogs() keeps files by default: 3 days (rocksdb-js's). */
const DEFAULT_RETENTION = 3 * 24 * 60 * 60 * 1000

/** The directory of the logs of the database at `dbPath`. */
function logsDir(dbPath) {
  return path.join(dbPath, 'transaction_logs')
}

/** A log name: a non-empty string (a number is made one) that names one directory. */
function checkLogName(name) {
  if (typeof name === 'number' && Number.isFinite(name)) name = String(name)
  if (typeof name !== 'string') throw invalidArgType('name', 'a string or number', name, 'Log name must be a string or number')
  if (name.length === 0 || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw invalidArgValue('name', `must name one directory: not empty, '.', '..' nor with a path separator. Received ${JSON.stringify(name)}`)
  }
  return name
}

/** The sequence numbers of the files of the log directory `dir`, ascending. */
function sequencesOf(dir) {
  let names
  try {
    names = fs.readdirSync(dir)
  } catch (error) {
    if (error.code === 'ENOENT') return []
    throw error
  }
  return names
    .map((file) => /^(\d+)\.txnlog$/.exec(file))
    .filter(Boolean)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b)
}

/**
 * The entries of a log file's bytes, from `offset` up to `limit`: each
 * `{ timestamp, length, flags, data, position }` (`data` a view of `bytes`).
 * A frame that does not fit ends them (a torn tail, or data past `limit`).
 */
function* framesOf(bytes, offset, limit) {
  let at = offset
  while (at + ENTRY_HEADER_SIZE <= limit) {
    const timestamp = bytes.readDoubleBE(at)
    const length = bytes.readUInt32BE(at + 8)
    if (timestamp === 0 || length === 0 || at + ENTRY_HEADER_SIZE + length > limit) return
    const flags = bytes[at + 12]
    const data = bytes.subarray(at + ENTRY_HEADER_SIZE, at + ENTRY_HEADER_SIZE + length)
    yield { timestamp, length, flags, data, position: at }
    at += ENTRY_HEADER_SIZE + length
  }
}

/** Well-formed frames in a row that say real log data goes on past a break. */
const RESYNC_FRAMES = 8

/** Whether a whole frame starts at `at` and ends by `end`. */
function frameAt(bytes, at, end) {
  if (at + ENTRY_HEADER_SIZE > end || bytes.readDoubleBE(at) === 0) return 0
  const length = bytes.readUInt32BE(at + 8)
  return length > 0 && at + ENTRY_HEADER_SIZE + length <= end ? ENTRY_HEADER_SIZE + length : 0
}

/**
 * Where well-formed frames start again after a break at `from`, before
 * `end`: the first offset from which RESYNC_FRAMES frames follow one
 * another, or a chain of them ends exactly at `end`. `undefined` when none
 * does (the rest is unreadable).
 */
function resyncAfter(bytes, from, end) {
  for (let start = from; start + ENTRY_HEADER_SIZE <= end; start++) {
    let at = start
    for (let frames = 0; frames < RESYNC_FRAMES; frames++) {
      const size = frameAt(bytes, at, end)
      if (size === 0) break
      at += size
      if (frames + 1 === RESYNC_FRAMES || at === end) return start
    }
  }
  return undefined
}

/**
 * A frame of a log that does not fit (its length runs past the data, or
 * it is zero): the bytes from `position` are unreadable up to
 * `resyncPosition`, where well-formed frames start again (`undefined` when
 * none do).
 */
class CorruptFrameError extends RangeError {
  constructor(file, logId, position, resyncPosition) {
    const rest = resyncPosition === undefined ? 'nothing readable follows' : `frames resume at ${resyncPosition}, ${resyncPosition - position} bytes unreadable`
    super(`Corrupt transaction log entry at ${position} of ${file}: ${rest}`)
    this.name = 'CorruptFrameError'
    this.code = 'ERR_ROCKSDB_CORRUPTION'
    /** The sequence number of the file. */
    this.logId = logId
    this.position = position
    this.resyncPosition = resyncPosition
    this.unreadableBytes = resyncPosition === undefined ? 0 : resyncPosition - position
  }
}

/** Checks a log file's header; its version. */
function checkHeader(bytes, file) {
  if (bytes.length < FILE_HEADER_SIZE || bytes.readUInt32BE(0) !== TOKEN) {
    const error = new Error(`${file} is not a transaction log file (bad header)`)
    error.code = 'ERR_ROCKSDB_CORRUPTION'
    throw error
  }
  return bytes[4]
}

/**
 * rocksdb-js's `parseTransactionLog(file)`: a log file read whole, `{ size,
 * version, timestamp, entries }`, each entry `{ timestamp, length, flags,
 * data }`.
 */
function parseTransactionLog(file) {
  if (typeof file !== 'string' || file.length === 0) throw invalidArgType('file', 'a path', file)
  const bytes = fs.readFileSync(file)
  const version = checkHeader(bytes, file)
  const entries = []
  let end = FILE_HEADER_SIZE
  for (const { timestamp, length, flags, data, position } of framesOf(bytes, FILE_HEADER_SIZE, bytes.length)) {
    entries.push({ timestamp, length, flags, data: Buffer.from(data) })
    end = position + ENTRY_HEADER_SIZE + length
  }
  if (end < bytes.length) {
    const sequence = Number(/(\d+)\.txnlog$/.exec(file)?.[1] ?? 0)
    throw new CorruptFrameError(file, sequence, end, resyncAfter(bytes, end + 1, bytes.length))
  }
  return { size: bytes.length, version, timestamp: bytes.readDoubleBE(5), entries }
}

/**
 * The query of a log, an iterator that can be iterated again: each pass
 * goes on from where the last one stopped, up to what is committed then.
 */
class LogQuery {
  #log
  #options
  #sequence
  #offset
  #bytes = null
  #foundExactStart = false

  constructor(log, options) {
    this.#log = log
    this.#options = options
    const committed = log.committedPosition()
    const flushed = options.startFromLastFlushed ? log.lastFlushedPosition() : null
    if (flushed !== null && flushed.sequence > 0) {
      // From where the entries of transactions RocksDB has not flushed begin.
      this.#sequence = flushed.sequence
      this.#offset = Math.max(flushed.offset, FILE_HEADER_SIZE)
      options.start ??= 0
    } else if (flushed !== null) {
      // Nothing flushed yet: everything.
      this.#sequence = sequencesOf(log.path)[0] ?? committed.sequence
      this.#offset = FILE_HEADER_SIZE
      options.start ??= 0
    } else if (options.start === undefined) {
      // rocksdb-js's: without a start, only what commits from now on.
      this.#sequence = committed.sequence
      this.#offset = Math.max(committed.offset, FILE_HEADER_SIZE)
      options.start = 0
    } else {
      this.#sequence = sequencesOf(log.path)[0] ?? committed.sequence
      this.#offset = FILE_HEADER_SIZE
    }
  }

  [Symbol.iterator]() {
    return this
  }

  /** Whether an entry stamped `timestamp` is in the query's range. */
  #matches(timestamp) {
    const { start, end = Number.MAX_VALUE, exactStart, exclusiveStart } = this.#options
    if (timestamp >= end) return false
    if (this.#foundExactStart) return !exclusiveStart || timestamp !== start
    if (exactStart) {
      if (timestamp !== start) return false
      this.#foundExactStart = true
      return !exclusiveStart
    }
    return exclusiveStart ? timestamp > start : timestamp >= start
  }

  next() {
    const log = this.#log
    for (;;) {
      // Reading stops at the committed watermark, or for readUncommitted
      // at the end of what is written.
      const committed = this.#options.readUncommitted ? null : log.committedPosition()
      if (committed !== null && committed.sequence < this.#sequence) return DONE
      const atWatermark = committed !== null && committed.sequence === this.#sequence
      const limit = atWatermark ? committed.offset : Infinity
      let found = this.#scan(limit)
      if (found !== undefined) return found
      // What was read of the file is used up: it may have grown since.
      if (this.#bytes === null || this.#bytes.length < limit) {
        this.#load()
        found = this.#scan(limit)
        if (found !== undefined) return found
      }
      if (atWatermark) return DONE
      const later = sequencesOf(log.path).find((sequence) => sequence > this.#sequence)
      if (later === undefined) return DONE
      this.#sequence = later
      this.#offset = FILE_HEADER_SIZE
      this.#bytes = null
    }
  }

  /** Reads the current file again. */
  #load() {
    try {
      this.#bytes = fs.readFileSync(path.join(this.#log.path, `${this.#sequence}.txnlog`))
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
      this.#bytes = null
    }
  }

  /** The next entry in range of what was read of the current file, up to `limit`. */
  #scan(limit) {
    const bytes = this.#bytes
    if (bytes === null) return undefined
    const end = Math.min(limit, bytes.length)
    for (const frame of framesOf(bytes, this.#offset, end)) {
      this.#offset = frame.position + ENTRY_HEADER_SIZE + frame.length
      if (this.#matches(frame.timestamp)) {
        return { done: false, value: { timestamp: frame.timestamp, endTxn: (frame.flags & LAST_IN_TRANSACTION) !== 0, data: frame.data } }
      }
    }
    // Bytes that are no frame, where every byte must be one: before the
    // committed watermark, or in a file the log has moved on from. (Past
    // the watermark of the newest file they may be a write in flight.)
    const complete = limit <= bytes.length || (limit === Infinity && this.#sequence < this.#log.committedPosition().sequence)
    if (this.#offset < end && complete) {
      const position = this.#offset
      const resync = resyncAfter(bytes, position + 1, end)
      // The iterator goes on after the break: from where frames resume,
      // or past the unreadable rest.
      this.#offset = resync ?? end
      throw new CorruptFrameError(path.join(this.#log.path, `${this.#sequence}.txnlog`), this.#sequence, position, resync)
    }
    return undefined
  }
}

const DONE = Object.freeze({ done: true, value: undefined })

/** A transaction log of a database: see `db.useLog()`. */
class TransactionLog {
  #dbPath
  #maxSize
  #retention
  #findTransaction

  /**
   * @param {string} dbPath the database directory
   * @param {string} name the log's name
   * @param {{ maxSize: number, retention: number }} settings bytes after
   *   which the log moves on to a new file; ms `purgeLogs()` keeps files
   * @param {(id: number) => object | undefined} findTransaction the open transaction of an id
   */
  constructor(dbPath, name, { maxSize, retention }, findTransaction) {
    this.#dbPath = dbPath
    this.#maxSize = maxSize
    this.#retention = retention
    this.#findTransaction = findTransaction
    /** The log's name. */
    this.name = name
    /** The directory of the log's files. */
    this.path = path.join(logsDir(dbPath), name)
    // The log exists from its first use (listLogs() names it), its first
    // file from its first entry.
    fs.mkdirSync(this.path, { recursive: true })
    transactionLogOpen(dbPath, name, maxSize)
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
    return transactionLogCommitted(this.#dbPath, this.name)
  }

  /**
   * Where the entries of transactions RocksDB has flushed to SST files end,
   * as the last `flush()` recorded it (`txn.state`); `{ sequence: 0,
   * offset: 0 }` before any.
   */
  lastFlushedPosition() {
    return transactionLogLastFlushed(this.#dbPath, this.name)
  }

  /** Bytes of the log file `sequence`, or of all of them. */
  getLogFileSize(sequence) {
    const sizeOf = (number) => {
      try {
        return fs.statSync(path.join(this.path, `${number}.txnlog`)).size
      } catch (error) {
        if (error.code === 'ENOENT') return 0
        throw error
      }
    }
    if (sequence !== undefined) return sizeOf(sequence)
    return sequencesOf(this.path).reduce((total, number) => total + sizeOf(number), 0)
  }

  /**
   * The log's files, positions and what this process did to it, in
   * rocksdb-js's shape (sizes in bytes, times in ms). `memory` is zero:
   * files are read with `fs`, not mapped.
   */
  getStats() {
    const sequences = sequencesOf(this.path)
    const counters = transactionLogCounters(this.#dbPath, this.name)
    const totalSizeBytes = this.getLogFileSize()
    const currentFileSize = this.getLogFileSize(counters.currentSequence)
    let oldestFileAgeMs = 0
    if (sequences.length > 0) {
      try {
        oldestFileAgeMs = Date.now() - fs.statSync(path.join(this.path, `${sequences[0]}.txnlog`)).mtimeMs
      } catch {}
    }
    return {
      name: this.name,
      path: this.path,
      fileCount: sequences.length,
      currentSequenceNumber: counters.currentSequence,
      oldestSequenceNumber: sequences[0] ?? 0,
      totalSizeBytes,
      currentFileSize,
      uncommittedTransactions: counters.uncommittedTransactions,
      nextLogPosition: { sequence: counters.currentSequence, offset: currentFileSize },
      lastCommittedPosition: this.committedPosition(),
      lastFlushedPosition: this.lastFlushedPosition(),
      memory: { activeMaps: 0, mappedBytes: 0, overlayBytes: 0 },
      purge: { oldestFileAgeMs, purgeableFiles: 0, retainedUnflushedFiles: 0 },
      config: { maxFileSize: this.#maxSize, retentionMs: this.#retention },
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

  /** Writes the pending entries on the pool, stamped `timestamp`. */
  async write(timestamp) {
    for (const [name, { maxSize, entries }] of this.#pending) {
      const { sequence, offset } = await transactionLogWrite(this.#dbPath, name, maxSize, timestamp, entries)
      this.#written.push({ name, sequence, offset })
    }
    this.#pending.clear()
  }

  /** `write()` on the calling thread. */
  writeSync(timestamp) {
    for (const [name, { maxSize, entries }] of this.#pending) {
      const { sequence, offset } = transactionLogWriteSync(this.#dbPath, name, maxSize, timestamp, entries)
      this.#written.push({ name, sequence, offset })
    }
    this.#pending.clear()
  }

  /** The transaction ended: readers of committed entries go past what it wrote. */
  end() {
    for (const { name, sequence, offset } of this.#written.splice(0)) transactionLogFinish(this.#dbPath, name, sequence, offset)
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
 * (it is written to), or with `destroy` every file and the logs themselves;
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
    // may need: kept whatever their age.
    const flushed = options.destroy ? 0 : transactionLogLastFlushed(dbPath, name).sequence || Infinity
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
 * `{ name: '<log>/<file>', size }`.
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
      await fs.promises.copyFile(path.join(log.path, file), target)
      // Entries written since the watermark was read are cut off again.
      if (sequence === committed.sequence) await fs.promises.truncate(target, committed.offset)
      const { size } = await fs.promises.stat(target)
      if (size < FILE_HEADER_SIZE) {
        await fs.promises.rm(target)
        continue
      }
      copied.push({ name: `${name}/${file}`, size })
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
  parseTransactionLog,
  listLogs,
  purgeLogs,
  checkLogName,
  DEFAULT_MAX_SIZE,
  DEFAULT_RETENTION,
}
