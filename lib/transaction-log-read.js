'use strict'

/**
 * Reading transaction log files (rocksdb-js's format, see
 * ./transaction-log): their entries in order, a query's iteration up to
 * the committed end, corruption found on the way, a file read whole.
 */

const fs = require('node:fs')
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
  const view = viewOf(bytes)
  let at = offset
  for (let size; (size = frameAt(view, at, limit)) > 0; at += size) {
    const length = size - ENTRY_HEADER_SIZE
    const data = bytes.subarray(at + ENTRY_HEADER_SIZE, at + size)
    yield { timestamp: view.getFloat64(at), length, flags: bytes[at + 12], data, position: at }
  }
}

/** A DataView of `bytes` (which V8 reads faster than a Buffer's read methods). */
function viewOf(bytes) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
}

/** Well-formed frames in a row that say real log data goes on past a break. */
const RESYNC_FRAMES = 8

/**
 * The bytes of the whole frame (entry header and data) at `at` of `view`
 * (a DataView of a log file's bytes), ending by `end`; 0 when there is none
 * there: a zero timestamp or length, or data running past `end`.
 */
function frameAt(view, at, end) {
  if (at + ENTRY_HEADER_SIZE > end || view.getFloat64(at) === 0) return 0
  const length = view.getUint32(at + 8)
  return length > 0 && at + ENTRY_HEADER_SIZE + length <= end ? ENTRY_HEADER_SIZE + length : 0
}

/**
 * Where well-formed frames start again after a break at `from`, before
 * `end`: the first offset from which RESYNC_FRAMES frames follow one
 * another, or a chain of them ends exactly at `end`. `undefined` when none
 * does (the rest is unreadable).
 */
function resyncAfter(bytes, from, end) {
  const view = viewOf(bytes)
  for (let start = from; start + ENTRY_HEADER_SIZE <= end; start++) {
    let at = start
    for (let frames = 0; frames < RESYNC_FRAMES; frames++) {
      const size = frameAt(view, at, end)
      if (size === 0) break
      at += size
      if (frames + 1 === RESYNC_FRAMES || at === end) return start
    }
  }
  return undefined
}

/**
 * A frame of a log that does not fit (a zero timestamp or length, or data
 * running past what is written) where every byte must be one: the bytes
 * from `position` are unreadable up to `resyncPosition`, where well-formed
 * frames start again (`undefined` when none do). `message` says what is
 * wrong, in rocksdb-js's words.
 */
class CorruptFrameError extends RangeError {
  constructor(message, logId, position, resyncPosition) {
    const rest = resyncPosition === undefined ? '' : `; valid framing resumes at ${resyncPosition.toString(16)}, ${resyncPosition - position} byte(s) unreadable`
    super(message + rest)
    this.name = 'CorruptFrameError'
    this.code = 'ERR_ROCKSDB_CORRUPTION'
    /** The sequence number of the file. */
    this.logId = logId
    this.position = position
    this.resyncPosition = resyncPosition
    this.unreadableBytes = resyncPosition === undefined ? 0 : resyncPosition - position
  }
}

/**
 * What is wrong with the frame at `at` of `bytes`, whose frames must run
 * up to `end` (see CorruptFrameError).
 */
function brokenFrame(bytes, at, end, logId) {
  const where = `at position ${at.toString(16)} of log ${logId}`
  if (at + ENTRY_HEADER_SIZE > end) return `Corrupt transaction log: truncated entry header ${where} (available=${end - at})`
  const length = bytes.readUInt32BE(at + 8)
  if (length === 0) return `Corrupt transaction log entry ${where}: zero-length entry`
  if (bytes.readDoubleBE(at) === 0) return `Corrupt transaction log entry ${where}: zero timestamp`
  return `Corrupt transaction log entry ${where}: declared length ${length} overruns the log (limit=${end})`
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
    const reason = `Corrupt entry at offset ${end.toString(16)} of ${file}: ${brokenFrame(bytes, end, bytes.length, sequence)}`
    throw new CorruptFrameError(reason, sequence, end, resyncAfter(bytes, end + 1, bytes.length))
  }
  return { size: bytes.length, version, timestamp: bytes.readDoubleBE(5), entries }
}

/**
 * The memory map of the file `sequence` of `log` (see
 * TransactionLog#_getMemoryMapOfFile) that shows at least `need` bytes:
 * the one already in the log's cache, or a new one. `undefined` when the
 * file cannot be mapped.
 */
function mapOf(log, sequence, need) {
  const cached = log._logBuffers.get(sequence)?.deref()
  if (cached !== undefined && cached.length >= need) return cached
  const map = log._getMemoryMapOfFile(sequence)
  if (map === undefined) return undefined
  log._logBuffers.set(sequence, new WeakRef(map))
  // Entries of maps that were collected go, a few at a time.
  let looked = 0
  for (const [other, reference] of log._logBuffers) {
    if (reference.deref() === undefined) log._logBuffers.delete(other)
    if (++looked === 4) break
  }
  return map
}

/**
 * The lowest and highest timestamps of the entries of the log file
 * `sequence` of `log`, `size` bytes that will not change (a file the log
 * moved on from): `{ min, max }`, from the log's cache or read once.
 * Unknown (`{ min: -Infinity, max: Infinity }`) when its frames do not run
 * whole to its end.
 */
function timestampsOf(log, sequence, size) {
  const cached = log._timestamps.get(sequence)
  if (cached?.size === size) return cached
  const range = { size, min: Infinity, max: -Infinity }
  const map = mapOf(log, sequence, size)
  let at = FILE_HEADER_SIZE
  if (map !== undefined && map.length >= size) {
    const view = viewOf(map)
    for (let frame; (frame = frameAt(view, at, size)) > 0; at += frame) {
      const timestamp = view.getFloat64(at)
      if (timestamp < range.min) range.min = timestamp
      if (timestamp > range.max) range.max = timestamp
    }
  }
  if (at !== size) {
    range.min = -Infinity
    range.max = Infinity
  }
  log._timestamps.set(sequence, range)
  return range
}

/**
 * The query of a log, an iterator that can be iterated again: each pass
 * goes on from where the last one stopped, up to what is committed then.
 * It reads the log's files through memory maps (the file being written
 * shows its new entries in the same map) and the committed watermark
 * through the log's position word, so an entry costs no system call.
 */
class LogQuery {
  #log
  #options
  #sequence
  #offset
  /** The map of the current file, once it is needed, and a DataView of it. */
  #map = undefined
  #view = undefined
  /** Where this file's entries end, as last read; undefined: read it again. */
  #limit = undefined
  #foundExactStart = false
  // The range, from the options.
  #start
  #until
  #exactStart
  #exclusiveStart

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
      this.#sequence = this.#firstFileFor(options, committed)
      this.#offset = FILE_HEADER_SIZE
    }
    this.#start = options.start
    this.#until = options.end ?? Number.MAX_VALUE
    this.#exactStart = Boolean(options.exactStart)
    this.#exclusiveStart = Boolean(options.exclusiveStart)
  }

  /**
   * The first file that can hold an entry the query starts at (stamped
   * `start`, or from `start` on): files the log moved on from whose
   * timestamps cannot hold it are passed over, so a query from a recent
   * timestamp does not read the whole log.
   */
  #firstFileFor({ start, exactStart }, committed) {
    const sequences = sequencesOf(this.#log.path)
    for (const sequence of sequences) {
      if (sequence >= committed.sequence) return sequence
      const size = this.#log.getLogFileSize(sequence)
      const { min, max } = timestampsOf(this.#log, sequence, size)
      if (exactStart ? min <= start && start <= max : max >= start) return sequence
    }
    return committed.sequence
  }

  [Symbol.iterator]() {
    return this
  }

  /** Whether an entry stamped `timestamp` is in the query's range. */
  #matches(timestamp) {
    const start = this.#start
    const end = this.#until
    const exclusiveStart = this.#exclusiveStart
    if (this.#foundExactStart) return (!exclusiveStart || timestamp !== start) && timestamp < end
    if (this.#exactStart) {
      // The entry that names the start is taken whatever `end` says (as
      // rocksdb-js does); `end` bounds the ones after it.
      if (timestamp !== start) return false
      this.#foundExactStart = true
      return !exclusiveStart
    }
    return (exclusiveStart ? timestamp > start : timestamp >= start) && timestamp < end
  }

  next() {
    // The file's end is read again only when its entries, as far as they
    // were known, are used up; and the log moves on to the next file only
    // when this one is used up at an end read just now.
    let fresh = false
    for (;;) {
      if (this.#limit !== undefined) {
        const found = this.#scan(this.#limit)
        if (found !== undefined) return found
      }
      if (!fresh) {
        this.#limit = this.#end()
        fresh = true
        continue
      }
      const later = this.#movedPast() ? sequencesOf(this.#log.path).find((sequence) => sequence > this.#sequence) : undefined
      if (later === undefined) return DONE
      this.#sequence = later
      this.#offset = FILE_HEADER_SIZE
      this.#map = undefined
      this.#view = undefined
      this.#limit = undefined
      fresh = false
    }
  }

  /**
   * Where the entries readable now of the current file end: the committed
   * watermark in it, the whole file once the log moved past it, or (for
   * readUncommitted) every transaction written.
   */
  #end() {
    const log = this.#log
    if (this.#options.readUncommitted) return log.getLogFileSize(this.#sequence)
    const committed = log.committedPosition()
    if (committed.sequence < this.#sequence) return 0
    if (committed.sequence === this.#sequence) return committed.offset
    return log.getLogFileSize(this.#sequence)
  }

  /** Whether the log writes to a later file than the current one. */
  #movedPast() {
    const log = this.#log
    return log.committedPosition().sequence > this.#sequence || (this.#options.readUncommitted && log.getLogFileSize(this.#sequence + 1) > 0)
  }

  /**
   * The next entry in range of the current file before `limit`, up to
   * which every byte is a frame: bytes that are not are corruption.
   */
  #scan(limit) {
    if (this.#offset >= limit) return undefined
    if (this.#map === undefined || this.#map.length < limit) {
      this.#map = mapOf(this.#log, this.#sequence, limit)
      this.#view = undefined
    }
    const map = this.#map
    // A file that cannot be mapped has no entries to give (rocksdb-js's).
    if (map === undefined) return undefined
    const end = Math.min(limit, map.length)
    // framesOf() by hand: this loop is what a query costs per entry.
    const view = (this.#view ??= viewOf(map))
    let at = this.#offset
    for (let size; (size = frameAt(view, at, end)) > 0; ) {
      const timestamp = view.getFloat64(at)
      const next = at + size
      if (this.#matches(timestamp)) {
        this.#offset = next
        return { done: false, value: { timestamp, endTxn: (map[at + 12] & LAST_IN_TRANSACTION) !== 0, data: map.subarray(at + ENTRY_HEADER_SIZE, next) } }
      }
      at = next
    }
    this.#offset = at
    if (at >= limit) return undefined
    const position = this.#offset
    const resync = resyncAfter(map, position + 1, end)
    // The iterator goes on after the break: from where frames resume, or
    // past the unreadable rest.
    this.#offset = resync ?? limit
    throw new CorruptFrameError(brokenFrame(map, position, end, this.#sequence), this.#sequence, position, resync)
  }
}

const DONE = Object.freeze({ done: true, value: undefined })

module.exports = { LogQuery, CorruptFrameError, parseTransactionLog, sequencesOf, framesOf, TOKEN, FILE_HEADER_SIZE, ENTRY_HEADER_SIZE, LAST_IN_TRANSACTION }
