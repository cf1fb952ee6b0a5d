'use strict'

/**
 * What a database handle reports about itself: RocksDB's properties and
 * statistics, key counts and estimates, the sequence number, its column
 * families and compression, and the check of its block checksums. Built on
 * ./writes.
 */

const { invalidArgType, invalidArgValue } = require('../errors')
const { checkRangeOptions } = require('../range')
const { DatabaseWrites } = require('./writes')
const { rangeAliases } = require('./ranges')
const { kDb, kPooled, kFailed } = require('./internal')

// The column family properties getStats() reports under RocksDB's names.
const FAMILY_PROPERTIES = [
  'rocksdb.estimate-num-keys',
  'rocksdb.estimate-live-data-size',
  'rocksdb.total-sst-files-size',
  'rocksdb.live-sst-files-size',
  'rocksdb.cur-size-all-mem-tables',
  'rocksdb.num-running-flushes',
  'rocksdb.num-running-compactions',
  'rocksdb.estimate-pending-compaction-bytes',
  'rocksdb.block-cache-usage',
]

// The statistics getStats() reports without `all`: reads, writes, the cache,
// compaction and their latencies.
const CURATED_STATISTICS = new Set([
  'rocksdb.block.cache.hit',
  'rocksdb.block.cache.miss',
  'rocksdb.bytes.read',
  'rocksdb.bytes.written',
  'rocksdb.number.keys.read',
  'rocksdb.number.keys.written',
  'rocksdb.memtable.hit',
  'rocksdb.memtable.miss',
  'rocksdb.compact.read.bytes',
  'rocksdb.compact.write.bytes',
  'rocksdb.flush.write.bytes',
  'rocksdb.wal.bytes',
  'rocksdb.stall.micros',
  'rocksdb.db.get.micros',
  'rocksdb.db.write.micros',
  'rocksdb.db.seek.micros',
])

/** rocksdb-js's statistics constants: `stats.StatsLevel` for the `statsLevel` option. */
const stats = Object.freeze({
  StatsLevel: Object.freeze({
    DisableAll: 0,
    ExceptTickers: 1,
    ExceptHistogramOrTimers: 2,
    ExceptTimers: 3,
    ExceptDetailedTimers: 4,
    ExceptTimeForMutex: 5,
    All: 6,
  }),
})

/** Checks the name of a RocksDB property. */
function checkPropertyName(name) {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
  if (name.includes('\0')) throw invalidArgValue('name', 'must not contain null bytes')
  return name
}

/** Properties and statistics; see `RocksDatabase`. */
class DatabaseStats extends DatabaseWrites {
  /**
   * Reads every SST file and checks RocksDB's block checksums, on a worker
   * thread. Rejects with `ERR_ROCKSDB_CORRUPTION` naming the damaged file.
   */
  async verifyChecksums() {
    try {
      await this[kPooled]((db) => db.verifyChecksums())
    } catch (error) {
      throw this[kFailed](error)
    }
  }

  /** RocksDB's latest sequence number; it grows with every write. */
  getLatestSequenceNumber() {
    return this[kDb].latestSequenceNumber()
  }

  /** The column families of the database on disk. */
  get columns() {
    return this[kDb].columns()
  }

  /**
   * The compression of new SST files, as rocksdb-js reports it:
   * `{ algorithm }`, with `level` when one was set.
   */
  get compression() {
    const algorithm = this.options.compression ?? 'lz4'
    return this.options.compressionLevel === undefined ? { algorithm } : { algorithm, level: this.options.compressionLevel }
  }

  /** A RocksDB property as text (such as `'rocksdb.stats'`), or `undefined`. */
  getDBProperty(name) {
    return this[kDb].getProperty(checkPropertyName(name)) ?? undefined
  }

  /** A numeric RocksDB property (such as `'rocksdb.estimate-num-keys'`), or `undefined`. */
  getDBIntProperty(name) {
    return this[kDb].getIntProperty(checkPropertyName(name)) ?? undefined
  }

  /** RocksDB's estimate of the number of keys (`rocksdb.estimate-num-keys`). */
  getEstimatedKeyCount() {
    return this.getDBIntProperty('rocksdb.estimate-num-keys') ?? 0
  }

  /**
   * rocksdb-js's `{ count, confidence }`. Over a range (`start`, `end`,
   * ...) the count is exact (`confidence` 1): it is counted natively without
   * decoding, which costs as the range is large. Over the whole database
   * it is RocksDB's estimate, which overwrites and removals not yet
   * compacted make too high; its confidence is 0.5 then.
   */
  estimateCount(options) {
    options = rangeAliases(checkRangeOptions(options))
    const ranged = ['start', 'end', 'key'].some((name) => options[name] !== undefined)
    if (ranged) return { count: this.getKeysCount(options), confidence: 1 }
    return { count: this.getEstimatedKeyCount(), confidence: 0.5 }
  }

  /**
   * Sizes and counts of this column family, under this package's names
   * (`estimatedKeys`, `liveDataBytes`, `sstFilesBytes`, `memtableBytes`,
   * `sequence`, `text`; `entryCount`, lmdb-js's name of `estimatedKeys`) and under RocksDB's property names, as rocksdb-js
   * reports them; with `enableStats`, RocksDB's statistics too: the most
   * telling tickers and histograms, or all of them with `all`.
   */
  getStats(all = false) {
    const int = (name) => this.getDBIntProperty(name) ?? 0
    const estimatedKeys = int('rocksdb.estimate-num-keys')
    const stats = {
      estimatedKeys,
      // lmdb-js's name, which Harper reads from either engine.
      entryCount: estimatedKeys,
      liveDataBytes: int('rocksdb.estimate-live-data-size'),
      sstFilesBytes: int('rocksdb.total-sst-files-size'),
      memtableBytes: int('rocksdb.cur-size-all-mem-tables'),
      sequence: this.getLatestSequenceNumber(),
      text: this.getDBProperty('rocksdb.stats'),
    }
    for (const name of FAMILY_PROPERTIES) stats[name] = int(name)
    for (const [name, value] of this.#statistics()) {
      if (all || CURATED_STATISTICS.has(name)) stats[name] = value
    }
    return stats
  }

  /**
   * One statistic: a RocksDB ticker (a number) or histogram (`{ count, sum,
   * average, median, percentile95, percentile99, max }`) when opened with
   * `enableStats`, or a numeric property such as
   * `rocksdb.estimate-num-keys`; `undefined` when there is none.
   */
  getStat(name) {
    checkPropertyName(name)
    const statistic = this.#statistics().get(name)
    if (statistic !== undefined) return statistic
    return this.getDBIntProperty(name)
  }

  /** RocksDB's statistics, parsed from its text dump; empty without `enableStats`. */
  #statistics() {
    const text = this[kDb].statistics()
    const statistics = new Map()
    if (!text) return statistics
    for (const line of text.split('\n')) {
      const [name, ...rest] = line.trim().split(' ')
      if (!name) continue
      const fields = {}
      const body = rest.join(' ')
      for (const match of body.matchAll(/(\w+) : ([\d.]+)/g)) fields[match[1]] = Number(match[2])
      if (fields.P50 !== undefined) {
        statistics.set(name, {
          count: fields.COUNT ?? 0,
          sum: fields.SUM ?? 0,
          average: fields.COUNT ? (fields.SUM ?? 0) / fields.COUNT : 0,
          median: fields.P50,
          percentile95: fields.P95,
          percentile99: fields.P99,
          max: fields.P100,
        })
      } else if (fields.COUNT !== undefined) {
        statistics.set(name, fields.COUNT)
      }
    }
    return statistics
  }
}

module.exports = { DatabaseStats, stats }
