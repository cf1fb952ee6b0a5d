'use strict'

// Reading transaction logs through memory maps and the position word:
// a map of the file being written shows later appends, the word moves as
// transactions commit, a cut of a mapped file never faults a reader, damage
// in the middle of a file keeps the entries after it, and the statistics
// that count maps, purges and the replay gap.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { constants, transactionLogMapCount, coolTransactionLogs } = require('..')
const { scratch } = require('./helpers')

const { TRANSACTION_LOG_FILE_HEADER_SIZE: FILE_HEADER, TRANSACTION_LOG_ENTRY_HEADER_SIZE: ENTRY_HEADER } = constants
const fileOf = (db, name, sequence = 1) => path.join(db.path, 'transaction_logs', name, `${sequence}.txnlog`)
const texts = (entries) => [...entries].map((entry) => entry.data.toString())

/** The position word of `log` split: `{ sequence, offset }`. */
function wordOf(buffer) {
  const word = new Float64Array(buffer.buffer, buffer.byteOffset, 1)[0]
  const halves = new Uint32Array(new Float64Array([word]).buffer)
  return { sequence: halves[1], offset: halves[0] }
}

test('a map of the file being written shows later appends; the position word moves with each commit', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 1 << 20 })
  const log = db.useLog('maps')
  t.is(log._getMemoryMapOfFile(1), undefined, 'no file yet: no map')
  const word = log._getLastCommittedPosition()
  t.is(word.length, 8)
  await db.transaction(async (txn) => log.addEntry(Buffer.from('one'), txn.id))
  const map = log._getMemoryMapOfFile(1)
  t.is(map.subarray(0, 4).toString(), 'WOOF')
  t.true(map.length >= 1 << 20, 'room to grow to the file size limit')
  t.deepEqual(wordOf(word), { sequence: 1, offset: FILE_HEADER + ENTRY_HEADER + 3 })
  for (let i = 0; i < 300; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(100, i), txn.id))
  const end = FILE_HEADER + ENTRY_HEADER + 3 + 300 * (ENTRY_HEADER + 100)
  t.deepEqual(wordOf(word), { sequence: 1, offset: end }, 'the same word, moved on')
  // 30 KB later, in the map taken at the first entry: the bytes on disk.
  t.deepEqual(Buffer.from(map.subarray(0, end)), fs.readFileSync(fileOf(db, 'maps')))
  t.true(map.subarray(end, end + 4096).every((byte) => byte === 0), 'zeros past what is written')
  t.is(log.getLogFileSize(1), end)
  t.is(log.getLogFileSize(2), 0)
  t.throws(() => log._getMemoryMapOfFile(-1), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => log.getLogFileSize(0), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE', message: /positive integer greater than 0/ })
})

test('a query tails the log in one map: what commits later is read from it without another map', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('tail')
  await db.transaction(async (txn) => log.addEntry(Buffer.from('before'), txn.id))
  const query = log.query({ start: 0 })
  t.deepEqual(texts(query), ['before'])
  let read = []
  for (let i = 0; i < 200; i++) {
    await db.transaction(async (txn) => log.addEntry(Buffer.from(`e${i}`), txn.id))
    read = read.concat(texts(query))
  }
  t.is(read.length, 200)
  t.is(read.at(-1), 'e199')
  t.is(log._logBuffers.size, 1, 'one file, one map')
  t.is(log.getStats().memory.activeMaps, 1)
})

test('a file cut while mapped reads as zeros in the map past the cut, never a fault', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('cut')
  // Three pages of entries, all shown by the map.
  for (let i = 0; i < 14; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(1000, 65 + i), txn.id))
  const map = log._getMemoryMapOfFile(1)
  const file = fileOf(db, 'cut')
  const size = fs.statSync(file).size
  t.true(size > 3 * 4096)
  // Another program overwrites everything after the first entry with
  // bytes that are no frames and adds one: a torn tail to the log, which
  // the next handle to use it cuts.
  const firstEnd = FILE_HEADER + ENTRY_HEADER + 1000
  const fd = fs.openSync(file, 'r+')
  fs.writeSync(fd, Buffer.alloc(size - firstEnd + 1, 0xff), 0, size - firstEnd + 1, firstEnd)
  fs.closeSync(fd)
  const other = s.open('db')
  other.useLog('cut')
  t.is(fs.statSync(file).size, firstEnd, 'the torn tail was cut')
  // Every byte of the old map is read: a fault here would end the process.
  let sum = 0
  for (let at = 0; at < map.length; at += 512) sum += map[at]
  t.true(sum > 0)
  t.true(map.subarray(2 * 4096, size).every((byte) => byte === 0), 'the pages cut read as zeros')
  t.deepEqual(texts(log.query({ start: 0 })), ['A'.repeat(1000)])
  await other.transaction(async (txn) => other.useLog('cut').addEntry(Buffer.from('after'), txn.id))
  t.deepEqual(texts(log.query({ start: 0 })), ['A'.repeat(1000), 'after'], 'writing goes on after the cut')
})

test('damage in the middle of a log is reported, and the entries after it are kept at the next start, not cut as a torn tail', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('damaged')
  for (let i = 0; i < 12; i++) await db.transaction(async (txn) => log.addEntry(Buffer.from(`entry-${String(i).padStart(2, '0')}`), txn.id))
  db.close()
  const file = fileOf(db, 'damaged')
  const bytes = fs.readFileSync(file)
  const second = FILE_HEADER + ENTRY_HEADER + 8
  bytes.writeUInt32BE(0xffffff, second + 8)
  fs.writeFileSync(file, bytes)
  // A new process opens the log as a restart does (its store reads the
  // files), then reads it back and writes one more entry.
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const db = RocksDatabase.open(${JSON.stringify(db.path)})
    const log = db.useLog('damaged')
    const size = require('node:fs').statSync(${JSON.stringify(file)}).size
    const query = log.query({ start: 0 })
    const read = []
    let error
    for (;;) {
      try {
        const step = query.next()
        if (step.done) break
        read.push(step.value.data.toString())
      } catch (caught) {
        error = { name: caught.name, message: caught.message, resyncPosition: caught.resyncPosition }
      }
    }
    db.transactionSync((txn) => log.addEntry(Buffer.from('after'), txn.id))
    console.log(JSON.stringify({ size, read, error }))
  `
  const { execFileSync } = require('node:child_process')
  const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
  t.is(result.size, bytes.length, 'nothing cut')
  t.is(result.read.length, 11, 'the first entry and the ten after the break')
  t.is(result.read[0], 'entry-00')
  t.is(result.read[1], 'entry-02')
  t.is(result.error.name, 'CorruptFrameError')
  t.regex(result.error.message, /declared length 16777215 overruns the log/)
  t.is(result.error.resyncPosition, second + ENTRY_HEADER + 8)
  t.is(fs.statSync(file).size, bytes.length + ENTRY_HEADER + 5, 'the new entry went after the kept ones')
})

test("getStats(): maps, the replay gap, purge gauges and the last purge; the database's txnlog.* summary", async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 2000, transactionLogRetention: 1, transactionLogMaxAgeThreshold: 0 })
  t.is(db.getStats()['txnlog.logCount'], 0)
  t.is(db.getStat('txnlog.mappedBytes'), 0)
  const a = db.useLog('a')
  const b = db.useLog('b')
  for (let i = 0; i < 6; i++) await db.transaction(async (txn) => a.addEntry(Buffer.alloc(500, i), txn.id))
  await db.transaction(async (txn) => b.addEntry(Buffer.alloc(10), txn.id))
  t.is([...a.query({ start: 0 })].length, 6)
  let stats = a.getStats()
  t.true(stats.fileCount >= 2, 'rotated')
  t.true(stats.memory.activeMaps >= 1)
  t.true(stats.memory.mappedBytes >= stats.memory.overlayBytes)
  t.true(stats.memory.overlayBytes > 0)
  t.is(stats.replayGapBytes, 6 * (ENTRY_HEADER + 500), 'nothing flushed: every entry would be replayed')
  await new Promise((resolve) => setTimeout(resolve, 20))
  stats = a.getStats()
  t.is(stats.purge.retainedUnflushedFiles, stats.fileCount, 'every file kept: nothing flushed')
  t.is(stats.purge.purgeableFiles, 0)
  t.true(stats.purge.oldestFileAgeMs >= 1)
  await db.flush()
  stats = a.getStats()
  t.is(stats.replayGapBytes, 0, 'flushed: nothing to replay')
  t.is(stats.purge.purgeableFiles, stats.fileCount - 1)
  t.is(stats.purge.retainedUnflushedFiles, 1, 'the file the flush reached')
  t.is(stats.purge.lastPurgeMs, 0)
  db.purgeLogs({ name: 'a' })
  t.true(a.getStats().purge.lastPurgeMs > Date.now() - 60_000)
  const summary = db.getStats()
  t.is(summary['txnlog.logCount'], 2)
  t.is(summary['txnlog.transactionsWritten'], 7)
  t.is(summary['txnlog.totalSizeBytes'], a.getStats().totalSizeBytes + b.getStats().totalSizeBytes)
  t.is(db.getStat('txnlog.fileCount'), summary['txnlog.fileCount'])
  t.is(db.getStat('txnlog.bogus'), undefined)
})

test.serial('a log nobody uses is collected, and the memory maps it read through are unmapped', async (t) => {
  // Serial: no other test of this file maps logs meanwhile.
  require('node:v8').setFlagsFromString('--expose-gc')
  const gc = require('node:vm').runInNewContext('gc')
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 200 })
  const before = transactionLogMapCount()
  let weak
  ;(() => {
    const log = db.useLog('gone')
    for (let i = 0; i < 3; i++) db.transactionSync((txn) => log.addEntry(Buffer.alloc(150, i), txn.id))
    t.is([...log.query({ start: 0 })].length, 3)
    weak = new WeakRef(log)
  })()
  t.is(transactionLogMapCount(), before + 3, 'three files, three maps')
  const cooled = coolTransactionLogs()
  t.true(cooled.maps >= 0 && cooled.bytes >= 0)
  const tick = () => new Promise((resolve) => setTimeout(resolve, 25))
  for (let i = 0; i < 40; i++) {
    // A WeakRef read keeps its target alive to the end of the task, so the
    // collection runs in a task of its own.
    await tick()
    gc()
    await tick()
    if (weak.deref() === undefined && transactionLogMapCount() === before) break
  }
  t.is(weak.deref(), undefined, 'the log was collected')
  t.is(transactionLogMapCount(), before, 'its maps were unmapped')
  const again = db.useLog('gone')
  t.is([...again.query({ start: 0 })].length, 3, 'a new log object reads the same files')
})

test('a transaction whose entries cannot be logged does not commit, async or sync; the log goes on once it can write again', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 50 })
  const log = db.useLog('f')
  await db.transaction(async (txn) => {
    log.addEntry(Buffer.alloc(40, 1), txn.id)
    await txn.put('a', 1)
  })
  // The next entry needs a new file, and its directory is gone: a file
  // stands in its place.
  fs.renameSync(log.path, `${log.path}.aside`)
  fs.writeFileSync(log.path, 'not a directory')
  await t.throwsAsync(
    db.transaction(async (txn) => {
      log.addEntry(Buffer.alloc(40, 2), txn.id)
      await txn.put('b', 2)
    }),
    { code: 'ERR_TARGET_EXISTS' },
  )
  t.is(db.getSync('b'), undefined, 'not committed (async)')
  t.throws(
    () =>
      db.transactionSync((txn) => {
        log.addEntry(Buffer.alloc(40, 3), txn.id)
        txn.putSync('c', 3)
      }),
    { code: 'ERR_TARGET_EXISTS' },
  )
  t.is(db.getSync('c'), undefined, 'not committed (sync)')
  fs.rmSync(log.path)
  fs.renameSync(`${log.path}.aside`, log.path)
  await db.transaction(async (txn) => {
    log.addEntry(Buffer.alloc(40, 4), txn.id)
    await txn.put('d', 4)
  })
  t.is(db.getSync('d'), 4)
  t.deepEqual(
    [...log.query({ start: 0 })].map((entry) => entry.data[0]),
    [1, 4],
    'the log holds the committed transactions, and nothing of the others',
  )
})

test('a query from a timestamp passes over the files that cannot hold it, and still finds entries stamped out of order', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 100, transactionLogMaxAgeThreshold: 0 })
  const log = db.useLog('stamps')
  const { Transaction } = require('..')
  const add = async (stamp) => {
    const txn = new Transaction(db.store)
    txn.setTimestamp(stamp)
    log.addEntry(Buffer.alloc(60, stamp % 256), txn.id)
    await txn.commit()
  }
  // One entry a file, stamped 100, 200, ... 2000; then one stamped 50.
  for (let i = 1; i <= 20; i++) await add(i * 100)
  await add(50)
  await add(2100)
  const stamps = (options) => [...log.query(options)].map((entry) => entry.timestamp)
  t.deepEqual(stamps({ start: 1850 }), [1900, 2000, 2100])
  t.deepEqual(stamps({ start: 40 }).length, 22)
  t.deepEqual(stamps({ start: 50, exactStart: true }), [50, 2100], 'from the entry stamped 50, in the 21st file')
  t.deepEqual(stamps({ start: 1200, exactStart: true }).slice(0, 3), [1200, 1300, 1400])
  // Asked again, the files before the one that can hold it are not read.
  log._logBuffers.clear()
  const read = []
  const real = log._getMemoryMapOfFile.bind(log)
  log._getMemoryMapOfFile = (sequence) => (read.push(sequence), real(sequence))
  t.deepEqual(stamps({ start: 1850 }), [1900, 2000, 2100])
  delete log._getMemoryMapOfFile
  t.true(read.every((sequence) => sequence >= 19), `only the last files were mapped: ${read}`)
})
