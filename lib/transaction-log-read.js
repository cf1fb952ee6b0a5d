'use strict'

/**
 * Reading transaction log files (rocksdb-js's format, see
 * ./transaction-log): their entries in order, a query's iteration up to
 * the committed end, corruption found on the way, a file read whole.
 */

const fs = require('node:fs')
const path = require('node:path')
const { invalidArgType } = require('./errors')

const TOKEN = 0x574f4f46
const FILE_HEADER_SIZE = 13
const ENTRY_HEADER_SIZE = 13
const LAST_IN_TRANSACTION = 0x01

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
  for (let size; (size = frameAt(bytes, at, limit)) > 0; at += size) {
    const length = size - ENTRY_HEADER_SIZE
    const data = bytes.subarray(at + ENTRY_HEADER_SIZE, at + size)
    yield { timestamp: bytes.readDoubleBE(at), length, flags: bytes[at + 12], data, position: at }
  }
}

/** Well-formed frames in a row that say real log data goes on past a break. */
const RESYNC_FRAMES = 8

/**
 * The bytes of the whole frame (entry header and data) at `at`, ending by
 * `end`; 0 when there is none there: a zero timestamp or length, or data
 * running past `end`.
 */
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
  /** The committed watermark this pass reads up to; null: read it again. */
  #committed = null

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
    // The committed watermark is read once and kept while entries come
    // below it (a native call per entry would cost more than the entry);
    // read again when they run out, before the iterator says it is done.
    let fresh = this.#committed === null
    for (;;) {
      // Reading stops at the committed watermark, or for readUncommitted
      // at the end of what is written.
      const committed = this.#options.readUncommitted ? null : (this.#committed ??= log.committedPosition())
      const done = () => {
        if (fresh || committed === null) return true
        this.#committed = null
        fresh = true
        return false
      }
      if (committed !== null && committed.sequence < this.#sequence) {
        if (done()) return DONE
        continue
      }
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
      if (atWatermark) {
        if (done()) return DONE
        continue
      }
      const later = sequencesOf(log.path).find((sequence) => sequence > this.#sequence)
      if (later === undefined) {
        if (done()) return DONE
        continue
      }
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

module.exports = { LogQuery, CorruptFrameError, parseTransactionLog, sequencesOf, framesOf, TOKEN, FILE_HEADER_SIZE, ENTRY_HEADER_SIZE, LAST_IN_TRANSACTION }
