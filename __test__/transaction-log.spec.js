'use strict'

// Transaction logs: entries written with their transaction's commit, in
// rocksdb-js's file format, read back by query() only once committed;
// rotation, the torn tail a crash leaves, SIGKILL, threads, purging.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { RocksDatabase, Transaction, parseTransactionLog, constants } = require('..')
const { scratch } = require('./helpers')

const root = path.resolve(__dirname, '..')
const fileOf = (db, name, sequence = 1) => path.join(db.path, 'transaction_logs', name, `${sequence}.txnlog`)
const texts = (entries) => [...entries].map((entry) => entry.data.toString())

/**
 * Runs `script` in a child Node process, which prints one number a line as
 * it acknowledges writes, and kills it with SIGKILL once it printed more
 * than `lines`: resolves with the numbers it printed.
 */
function killAfter(script, lines) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.split('\n').length > lines) child.kill('SIGKILL')
    })
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(out.split('\n').filter(Boolean).map(Number)) : reject(new Error(`exited ${code}: ${stderr}`))))
  })
}

test('entries are written with the commit, in rocksdb-js’s format, and read back in order', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('audit')
  t.is(db.useLog('audit'), log, 'one log object per name')
  t.is(log.path, path.join(db.path, 'transaction_logs', 'audit'))
  t.deepEqual(db.listLogs(), ['audit'])
  let stamp
  await db.transaction(async (txn) => {
    stamp = txn.getTimestamp()
    log.addEntry(Buffer.from('first'), txn.id)
    log.addEntry(new Uint8Array([1, 2]), txn.id)
    await txn.put('k', 1)
  })
  db.transactionSync((txn) => txn.useLog('audit').addEntry(Buffer.from('sync')))

  // The bytes, as rocksdb-js's docs/transaction-log.md lays them out.
  const bytes = fs.readFileSync(fileOf(db, 'audit'))
  t.is(bytes.readUInt32BE(0), constants.TRANSACTION_LOG_TOKEN)
  t.is(bytes[4], 1, 'format version 1')
  let at = constants.TRANSACTION_LOG_FILE_HEADER_SIZE
  t.is(bytes.readDoubleBE(at), stamp, "an entry carries its transaction's timestamp")
  t.is(bytes.readUInt32BE(at + 8), 5)
  t.is(bytes[at + 12], 0, 'not the last of its transaction')
  at += 13 + 5
  t.is(bytes[at + 12], constants.TRANSACTION_LOG_ENTRY_LAST_FLAG)
  const parsed = parseTransactionLog(fileOf(db, 'audit'))
  t.is(parsed.version, 1)
  t.is(parsed.size, bytes.length)
  t.deepEqual(parsed.entries.map((entry) => [entry.length, entry.flags]), [[5, 0], [2, 1], [4, 1]])

  const entries = [...log.query({ start: 0 })]
  t.deepEqual(entries.map((entry) => [entry.data.toString('hex'), entry.endTxn]), [
    [Buffer.from('first').toString('hex'), false],
    ['0102', true],
    [Buffer.from('sync').toString('hex'), true],
  ])
  t.is(entries[0].timestamp, stamp)
  t.is(log.getLogFileSize(), bytes.length)
  t.is(log.getStats().totals.transactionsWritten >= 2, true)
})

test('nothing of an aborted transaction is logged; a conflict keeps its entries unseen until its retry commits, and logs them once', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('audit')
  await db.transaction(async (txn) => {
    log.addEntry(Buffer.from('never'), txn.id)
    txn.abort()
  })
  t.false(fs.existsSync(fileOf(db, 'audit')), 'no file: nothing was written')
  t.deepEqual(texts(log.query({ start: 0 })), [])

  db.putSync('n', 0)
  const txn = new Transaction(db.store)
  const n = db.getSync('n', { transaction: txn })
  log.addEntry(Buffer.from('counted'), txn.id)
  db.putSync('n', n + 1, { transaction: txn })
  db.putSync('n', 10)
  await t.throwsAsync(txn.commit(), { code: 'ERR_BUSY' })
  t.deepEqual(texts(log.query({ start: 0 })), [], 'written, not committed: unseen')
  t.deepEqual(texts(log.query({ start: 0, readUncommitted: true })), ['counted'], 'readUncommitted sees it')
  log.addEntry(Buffer.from('again'), txn.id)
  db.putSync('n', db.getSync('n', { transaction: txn }) + 1, { transaction: txn })
  await txn.commit()
  t.deepEqual(texts(log.query({ start: 0 })), ['counted'], 'committed by the retry, and written once')
  t.is(db.getSync('n'), 11)

  // transaction() runs the callback again on the same transaction.
  let runs = 0
  await db.transaction(async (inner, attempt) => {
    runs++
    if (attempt === 1) {
      log.addEntry(Buffer.from('retried'), inner.id)
      inner.getSync('n')
      db.putSync('n', 20)
    }
    inner.putSync('n', (inner.getSync('n') ?? 0) + 1)
  })
  t.is(runs, 2)
  t.deepEqual(texts(log.query({ start: 0 })), ['counted', 'retried'])
})

test('query options: start, end, exclusiveStart, exactStart, and a query that goes on as the log grows', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('q')
  const tail = log.query()
  t.deepEqual(texts(tail), [], 'without start: what commits from now on')
  for (const [stamp, text] of [[100, 'a'], [200, 'b'], [300, 'c']]) {
    const txn = new Transaction(db.store)
    txn.setTimestamp(stamp)
    log.addEntry(Buffer.from(text), txn.id)
    await txn.commit()
  }
  t.deepEqual(texts(tail), ['a', 'b', 'c'], 'iterated again, the query goes on')
  t.deepEqual(texts(tail), [])
  t.deepEqual(texts(log.query({ start: 200 })), ['b', 'c'])
  t.deepEqual(texts(log.query({ start: 200, exclusiveStart: true })), ['c'])
  t.deepEqual(texts(log.query({ start: 100, end: 300 })), ['a', 'b'], 'end is exclusive')
  t.deepEqual(texts(log.query({ start: 200, exactStart: true })), ['b', 'c'])
  t.deepEqual(texts(log.query({ start: 150, exactStart: true })), [], 'no entry stamped 150')
  t.deepEqual(texts(log.query({ start: 200, exactStart: true, end: 200 })), ['b'], 'the entry that names the start is taken whatever end says')
  t.throws(() => log.query({ start: 'x' }), { instanceOf: TypeError, message: /options\.start/ })
})

test('files rotate past transactionLogMaxSize; a transaction is never split; queries read across files', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 200 })
  const log = db.useLog('r')
  for (let i = 0; i < 6; i++) {
    await db.transaction(async (txn) => {
      log.addEntry(Buffer.alloc(40, 48 + i), txn.id)
      log.addEntry(Buffer.alloc(40, 48 + i), txn.id)
    })
  }
  const files = fs.readdirSync(log.path).sort()
  t.true(files.length >= 3, `rotated: ${files}`)
  for (const file of files) {
    const { entries } = parseTransactionLog(path.join(log.path, file))
    t.is(entries.length % 2, 0, `${file} holds whole transactions`)
    t.is(entries.at(-1).flags, 1)
  }
  t.deepEqual(texts(log.query({ start: 0 })).map((text) => text[0]), ['0', '0', '1', '1', '2', '2', '3', '3', '4', '4', '5', '5'])
  t.is(log.getLogFileSize(), files.reduce((sum, file) => sum + fs.statSync(path.join(log.path, file)).size, 0))
  t.is(log.getLogFileSize(1), fs.statSync(fileOf(db, 'r', 1)).size)
})

test('a log file older than transactionLogMaxAgeThreshold allows is left for a new one, however little it holds', async (t) => {
  const s = scratch(t)
  // Files live 2000 ms × (1 − 0.9) = 200 ms; with 0, as long as they like.
  const aged = s.open('aged', { transactionLogRetention: 2000, transactionLogMaxAgeThreshold: 0.9 })
  const ageless = s.open('ageless', { transactionLogRetention: 2000, transactionLogMaxAgeThreshold: 0 })
  const add = (db, text) => db.transaction(async (txn) => db.useLog('l').addEntry(Buffer.from(text), txn.id))
  const files = (db) => fs.readdirSync(db.useLog('l').path).filter((f) => f.endsWith('.txnlog')).sort()
  for (const db of [aged, ageless]) {
    await add(db, 'a')
    await add(db, 'b')
    t.deepEqual(files(db), ['1.txnlog'], 'young: one file')
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const db of [aged, ageless]) await add(db, 'c')
  t.deepEqual(files(aged), ['1.txnlog', '2.txnlog'])
  t.deepEqual(parseTransactionLog(fileOf(aged, 'l', 2)).entries.map((entry) => entry.data.toString()), ['c'])
  t.deepEqual(texts(aged.useLog('l').query({ start: 0 })), ['a', 'b', 'c'])
  t.is(aged.useLog('l').getStats().config.maxAgeThreshold, 0.9)
  t.deepEqual(files(ageless), ['1.txnlog'], 'no age limit')
  t.throws(() => s.open('bad', { transactionLogMaxAgeThreshold: 2 }), { instanceOf: RangeError, message: /transactionLogMaxAgeThreshold/ })
  t.throws(() => s.open('bad', { transactionLogMaxAgeThreshold: -0.5 }), { instanceOf: TypeError, message: /transactionLogMaxAgeThreshold/ })
})

test('a torn tail a crash left is cut when the log is next used, and writing goes on after it', async (t) => {
  const s = scratch(t)
  let db = s.open('db')
  const write = async (handle, text) => {
    const log = handle.useLog('torn')
    await handle.transaction(async (txn) => log.addEntry(Buffer.from(text), txn.id))
  }
  await write(db, 'kept')
  db.close()
  const file = fileOf(db, 'torn')
  const whole = fs.statSync(file).size
  // Half a frame: a header that promises more than follows.
  const torn = Buffer.alloc(20)
  torn.writeDoubleBE(Date.now(), 0)
  torn.writeUInt32BE(5000, 8)
  fs.appendFileSync(file, torn)
  db = s.open('db')
  const log = db.useLog('torn')
  t.is(fs.statSync(file).size, whole, 'cut back to the last whole entry')
  await write(db, 'after')
  t.deepEqual(texts(log.query({ start: 0 })), ['kept', 'after'])
  t.deepEqual(
    parseTransactionLog(file).entries.map((entry) => entry.data.toString()),
    ['kept', 'after'],
  )
})

test('SIGKILL after acknowledged commits loses no logged entry', async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(${JSON.stringify(dbPath)})
    const log = db.useLog('crash')
    ;(async () => {
      for (let i = 0; ; i++) {
        await db.transaction(async (txn) => {
          log.addEntry(Buffer.from('entry-' + i), txn.id)
          await txn.put('k' + i, i)
        })
        process.stdout.write(i + '\\n')
      }
    })()`
  const acknowledged = await killAfter(script, 200)
  const db = s.track(RocksDatabase.open(dbPath))
  const logged = new Set(texts(db.useLog('crash').query({ start: 0, readUncommitted: true })))
  for (const i of acknowledged) {
    t.true(logged.has('entry-' + i), `acknowledged entry ${i} is in the log`)
    t.is(db.getSync('k' + i), i)
  }
  t.true(acknowledged.length > 150)
})

test('worker threads log into one log at once; every entry is whole', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(workerData.path)
    const log = db.useLog('shared')
    ;(async () => {
      for (let i = 0; i < 100; i++) {
        await db.transaction(async (txn) => {
          log.addEntry(Buffer.from(workerData.name + '-' + i + '-a'), txn.id)
          log.addEntry(Buffer.from(workerData.name + '-' + i + '-b'), txn.id)
        })
      }
      db.close()
      parentPort.postMessage('done')
    })()`
  const workers = ['w1', 'w2', 'w3'].map((name) => new Worker(script, { eval: true, workerData: { path: db.path, name } }))
  await Promise.all(workers.map((worker) => new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))))
  const entries = texts(db.useLog('shared').query({ start: 0 }))
  t.is(entries.length, 600)
  for (let i = 0; i < entries.length; i += 2) {
    t.is(entries[i].replace(/-a$/, ''), entries[i + 1].replace(/-b$/, ''), "a transaction's entries stay together")
  }
})

test('purgeLogs: by age, never the newest file, destroy, entry counts; listLogs', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 100 })
  const log = db.useLog('p')
  for (let i = 0; i < 3; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(60, 97 + i), txn.id))
  const files = fs.readdirSync(log.path).sort()
  t.is(files.length, 3)
  t.deepEqual(db.purgeLogs(), [], 'nothing older than the retention (3 days)')
  const old = new Date(Date.now() - 60_000)
  for (const file of files) fs.utimesSync(path.join(log.path, file), old, old)
  t.deepEqual(db.purgeLogs({ before: Date.now() }), [], 'no flush recorded yet: a replay would need every file')
  db.flushSync()
  const purged = db.purgeLogs({ before: Date.now(), includeEntryCounts: true })
  t.deepEqual(purged, [
    { path: path.join(log.path, '1.txnlog'), entries: 1 },
    { path: path.join(log.path, '2.txnlog'), entries: 1 },
  ], 'the newest file stays: it is written to')
  t.deepEqual(texts(log.query({ start: 0 })).map((text) => text[0]), ['c'])
  db.useLog('other')
  t.deepEqual(db.listLogs(), ['other', 'p'])
  t.deepEqual(db.purgeLogs({ destroy: true, name: 'p' }), [path.join(log.path, '3.txnlog')])
  t.deepEqual(db.listLogs(), ['other'])
  const again = db.useLog('p')
  await db.transaction(async (txn) => again.addEntry(Buffer.from('new'), txn.id))
  t.deepEqual(texts(again.query({ start: 0 })), ['new'], 'a destroyed log starts anew')
})

test("a log's first use in a process purges its files past the retention, but for the newest and those a replay needs", async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  const db = s.open('db', { transactionLogMaxSize: 100 })
  const log = db.useLog('aged')
  for (let i = 0; i < 3; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(60, i), txn.id))
  const week = new Date(Date.now() - 7 * 86_400_000)
  const files = () => fs.readdirSync(log.path).filter((file) => file.endsWith('.txnlog')).sort()
  const age = () => files().forEach((file) => fs.utimesSync(path.join(log.path, file), week, week))
  db.close()
  const firstUse = () =>
    require('node:child_process').execFileSync(process.execPath, ['-e', `
      const { RocksDatabase } = require(${JSON.stringify(root)})
      const db = RocksDatabase.open(${JSON.stringify(dbPath)})
      db.useLog('aged')
      db.close()`])
  age()
  firstUse()
  t.deepEqual(files(), ['1.txnlog', '2.txnlog', '3.txnlog'], 'no flush recorded: a replay needs them all')
  const again = s.open('db')
  again.flushSync()
  again.close()
  age()
  firstUse()
  t.deepEqual(files(), ['3.txnlog'], 'flushed past the older ones; the newest stays')
})

test('bad arguments are TypeErrors; a closed database refuses; a file that is no log is a coded error', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.throws(() => db.useLog(undefined), { instanceOf: TypeError, message: /^Log name must be a string or number/ })
  t.throws(() => db.useLog('../x'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(db.useLog(612).name, '612', 'numbers name logs')
  const log = db.useLog('e')
  await db.transaction(async (txn) => {
    t.throws(() => log.addEntry('text', txn.id), { instanceOf: TypeError, message: /^Invalid log entry/ })
    t.throws(() => log.addEntry(Buffer.from('x')), { instanceOf: TypeError, message: /^Missing argument, transaction id is required/ })
    t.throws(() => log.addEntry(Buffer.from('x'), -1), { instanceOf: TypeError, message: /non-negative integer/ })
    t.throws(() => log.addEntry(Buffer.from('x'), txn.id + 1000), { instanceOf: TypeError, message: /^Transaction not found/ })
  })
  const bogus = s.path('bogus.txnlog')
  fs.writeFileSync(bogus, 'not a log at all')
  t.throws(() => parseTransactionLog(bogus), { code: 'ERR_ROCKSDB_CORRUPTION' })
  db.close()
  t.throws(() => db.useLog('e2'), { code: 'ERR_DATABASE_CLOSED' })
})

test('a checkpoint holds every acknowledged write of families written without the WAL, and none of the logs', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { disableWAL: true })
  const family = s.open('db', { name: 'table', disableWAL: true })
  const log = db.useLog('audit')
  await db.transaction(async (txn) => {
    await family.put('record', { v: 1 }, { transaction: txn })
    log.addEntry(Buffer.from('record v1'), txn.id)
  })
  await db.put('plain', 2)
  await db.createCheckpoint(s.path('checkpoint'))
  const copy = s.track(RocksDatabase.open(s.path('checkpoint')))
  const copyFamily = s.track(RocksDatabase.open(s.path('checkpoint'), { name: 'table' }))
  t.deepEqual(copyFamily.getSync('record'), { v: 1 }, 'flushed into the checkpoint as it was made')
  t.is(copy.getSync('plain'), 2)
  t.deepEqual(copy.listLogs(), [], 'the logs stay with the database')
})

test("a log's first use emits 'new-transaction-log' to every handle of the database, once", async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.open('db')
  const heard = []
  db.on('new-transaction-log', (name) => heard.push(['db', name]))
  other.on('new-transaction-log', (name) => heard.push(['other', name]))
  db.useLog('foo')
  db.useLog('foo')
  other.useLog('foo')
  db.useLog(7)
  for (let waited = 0; heard.length < 4 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
  t.deepEqual(heard.sort(), [['db', '7'], ['db', 'foo'], ['other', '7'], ['other', 'foo']])
})

test('a corrupt frame in committed entries is a CorruptFrameError; the query goes on where frames resume', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('c')
  for (let i = 0; i < 12; i++) await db.transaction(async (txn) => log.addEntry(Buffer.from(`entry-${String(i).padStart(2, '0')}`), txn.id))
  const file = fileOf(db, 'c')
  const bytes = fs.readFileSync(file)
  // The third entry claims far more data than the file holds.
  const third = constants.TRANSACTION_LOG_FILE_HEADER_SIZE + 2 * (13 + 8)
  bytes.writeUInt32BE(0xffffff, third + 8)
  fs.writeFileSync(file, bytes)
  const query = log.query({ start: 0 })
  t.deepEqual([query.next().value.data.toString(), query.next().value.data.toString()], ['entry-00', 'entry-01'])
  const error = t.throws(() => query.next(), { instanceOf: RangeError, code: 'ERR_ROCKSDB_CORRUPTION' })
  t.is(error.name, 'CorruptFrameError')
  t.is(error.position, third)
  t.is(error.resyncPosition, third + 13 + 8, 'frames resume at the next entry')
  t.is(error.logId, 1)
  t.deepEqual(texts(query), ['entry-03', 'entry-04', 'entry-05', 'entry-06', 'entry-07', 'entry-08', 'entry-09', 'entry-10', 'entry-11'])
  t.throws(() => parseTransactionLog(file), { name: 'CorruptFrameError' })
})

test('flush() records where flushed transactions end (txn.state); after SIGKILL, replaying from there restores a family written without the WAL', async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  // The writer: a family without the WAL, each transaction logging what it
  // wrote, a flush now and then; it prints each acknowledged transaction.
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(${JSON.stringify(dbPath)}, { name: 'table', disableWAL: true })
    const log = db.useLog('replay')
    ;(async () => {
      for (let i = 0; ; i++) {
        await db.transaction(async (txn) => {
          await txn.put('k' + i, i)
          log.addEntry(Buffer.from(JSON.stringify(['k' + i, i])), txn.id)
        })
        if (i % 50 === 49) await db.flush()
        process.stdout.write(i + '\\n')
      }
    })()`
  const acknowledged = await killAfter(script, 180)
  const state = fs.readFileSync(path.join(dbPath, 'transaction_logs', 'replay', 'txn.state'))
  t.is(state.length, 8, 'the flushes recorded a position')
  const db = s.track(RocksDatabase.open(dbPath, { name: 'table', disableWAL: true }))
  const log = db.useLog('replay')
  t.true(log.lastFlushedPosition().offset > 0)
  const lost = acknowledged.filter((i) => db.getSync('k' + i) !== i)
  t.log(`${lost.length} acknowledged writes were only in memtables when the process died`)
  // Harper's boot replay: from the last flush, committed or not.
  for (const { data } of log.query({ startFromLastFlushed: true, readUncommitted: true })) {
    const [key, value] = JSON.parse(data)
    db.putSync(key, value)
  }
  for (const i of acknowledged) t.is(db.getSync('k' + i), i, `acknowledged write ${i} is back`)
})

test("RocksDB's own flushes (a full memtable) move txn.state too; after SIGKILL, the replay from there restores every acknowledged write", async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  // A writer that never calls flush(): small memtables, which RocksDB
  // flushes by itself, of a family without the WAL, with a second family
  // written in the same transactions (a flush writes both at once).
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const options = { disableWAL: true, writeBufferSize: 64 * 1024 }
    const db = RocksDatabase.open(${JSON.stringify(dbPath)}, { name: 'table', ...options })
    const index = RocksDatabase.open(${JSON.stringify(dbPath)}, { name: 'index', ...options })
    const log = db.useLog('replay')
    ;(async () => {
      for (let i = 0; ; i++) {
        await db.transaction(async (txn) => {
          await txn.put('k' + i, 'v'.repeat(300) + i)
          await index.put('i' + i, i, { transaction: txn })
          log.addEntry(Buffer.from(JSON.stringify(i)), txn.id)
        })
        process.stdout.write(i + '\\n')
      }
    })()`
  const acknowledged = await killAfter(script, 1500)
  const options = { disableWAL: true, writeBufferSize: 64 * 1024 }
  const db = s.track(RocksDatabase.open(dbPath, { name: 'table', ...options }))
  const index = s.track(RocksDatabase.open(dbPath, { name: 'index', ...options }))
  const log = db.useLog('replay')
  const flushed = log.lastFlushedPosition()
  t.true(flushed.offset > 0, 'RocksDB flushed by itself, and it was recorded')
  const replay = [...log.query({ startFromLastFlushed: true, readUncommitted: true })].map(({ data }) => JSON.parse(data))
  const all = [...log.query({ start: 0, readUncommitted: true })].length
  t.true(replay.length < all, `the replay (${replay.length} entries) starts past what was flushed (of ${all})`)
  const lost = acknowledged.filter((i) => db.getSync('k' + i) === undefined || index.getSync('i' + i) !== i)
  t.log(`${lost.length} acknowledged writes were only in memtables when the process died; ${replay.length} entries to replay`)
  for (const i of replay) {
    db.putSync('k' + i, 'v'.repeat(300) + i)
    index.putSync('i' + i, i)
  }
  const missing = acknowledged.filter((i) => db.getSync('k' + i) !== 'v'.repeat(300) + i || index.getSync('i' + i) !== i)
  t.deepEqual(missing, [], 'every acknowledged write is back in both families')
})

test('retryOnBusy: false rejects the first conflict; one of a transaction that wrote log entries says they were abandoned in the log', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('busy')
  db.putSync('k', 0)
  let attempts = 0
  const error = await t.throwsAsync(
    db.transaction(
      async (txn) => {
        attempts++
        log.addEntry(Buffer.from('lost'), txn.id)
        const value = txn.getSync('k')
        db.putSync('k', 100)
        txn.putSync('k', value + 1)
      },
      { retryOnBusy: false },
    ),
    { code: 'ERR_BUSY' },
  )
  t.is(attempts, 1, 'not retried')
  t.regex(error.message, /^Transaction was abandoned after writing to the transaction log/)
  t.is(db.getSync('k'), 100)
  // The entries stay in the file (rocksdb-js's format has no way to take
  // them back), and readers are not held back by them.
  t.deepEqual(parseTransactionLog(fileOf(db, 'busy')).entries.map((entry) => entry.data.toString()), ['lost'])
  await db.transaction(async (txn) => log.addEntry(Buffer.from('next'), txn.id))
  t.deepEqual(texts(log.query({ start: 0 })), ['lost', 'next'])
})

test('startFromLastFlushed reads from where the last flush left off; purgeLogs keeps the files a replay needs', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 100 })
  const log = db.useLog('f')
  const add = (text) => db.transaction(async (txn) => log.addEntry(Buffer.alloc(60, text), txn.id))
  await add('a')
  await add('b')
  t.deepEqual(log.lastFlushedPosition(), { sequence: 0, offset: 0 })
  t.deepEqual(texts(log.query({ startFromLastFlushed: true })).map((text) => text[0]), ['a', 'b'], 'no flush yet: everything')
  db.flushSync()
  t.deepEqual(log.getStats().lastFlushedPosition, log.committedPosition())
  await add('c')
  await add('d')
  t.deepEqual(texts(log.query({ startFromLastFlushed: true })).map((text) => text[0]), ['c', 'd'])
  const old = new Date(Date.now() - 60_000)
  for (const file of fs.readdirSync(log.path)) fs.utimesSync(path.join(log.path, file), old, old)
  const flushedFile = log.lastFlushedPosition().sequence
  const purged = db.purgeLogs({ before: Date.now() }).map((file) => Number(path.basename(file, '.txnlog')))
  t.true(purged.every((sequence) => sequence < flushedFile), `purged ${purged}, the flush reached file ${flushedFile}`)
  t.deepEqual(texts(log.query({ startFromLastFlushed: true })).map((text) => text[0]), ['c', 'd'], 'what a replay needs is still there')
})

test('validateTransactionLogStore: a clean log, a bad header, a torn tail (a warning, an error when strict), a bad txn.state, a missing directory', async (t) => {
  const { validateTransactionLogStore } = require('..')
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('v')
  for (let i = 0; i < 3; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(10, i), txn.id))
  db.flushSync()
  const clean = await validateTransactionLogStore(log.path)
  t.true(clean.valid)
  t.deepEqual([clean.errors, clean.warnings], [[], []])
  t.like(clean.files[0], { file: '1.txnlog', sequence: 1, entries: 3, valid: true, validBytes: fs.statSync(fileOf(db, 'v')).size })

  const file = fileOf(db, 'v')
  const whole = fs.readFileSync(file)
  const torn = Buffer.alloc(20)
  torn.writeDoubleBE(Date.now(), 0)
  torn.writeUInt32BE(5000, 8)
  fs.appendFileSync(file, torn)
  const lenient = await validateTransactionLogStore(log.path)
  t.true(lenient.valid)
  t.regex(lenient.files[0].warnings[0], /Torn\/partial entry/)
  t.is(lenient.files[0].entries, 3)
  const strict = await validateTransactionLogStore(log.path, { strict: true })
  t.false(strict.valid)
  t.regex(strict.files[0].errors[0], /Torn\/partial entry/)

  const badHeader = Buffer.from(whole)
  badHeader.writeUInt32BE(0xdeadbeef, 0)
  fs.writeFileSync(file, badHeader)
  const bad = await validateTransactionLogStore(log.path)
  t.false(bad.valid)
  t.regex(bad.files[0].errors[0], /token/)
  fs.writeFileSync(file, whole)

  fs.writeFileSync(path.join(log.path, 'txn.state'), Buffer.from([1, 2, 3]))
  const state = await validateTransactionLogStore(log.path)
  t.false(state.valid)
  t.regex(state.errors[0], /txn\.state is 3 bytes/)
  await t.throwsAsync(validateTransactionLogStore(s.path('nowhere')), { message: /does not exist/ })
})

test('backups with transactionLogs: the logs go with the database, up to their committed end; verify and restore carry them', async (t) => {
  const { backups } = require('..')
  const { PassThrough } = require('node:stream')
  const s = scratch(t)
  const db = s.open('db')
  const log = db.useLog('audit')
  for (let i = 0; i < 5; i++) {
    await db.transaction(async (txn) => {
      log.addEntry(Buffer.from(`e${i}`), txn.id)
      await txn.put(`k${i}`, i)
    })
  }
  db.flushSync()
  // A transaction whose commit conflicted: written, not committed, not copied.
  db.putSync('n', 0)
  const pending = new Transaction(db.store)
  db.putSync('n', db.getSync('n', { transaction: pending }) + 1, { transaction: pending })
  log.addEntry(Buffer.from('uncommitted'), pending.id)
  db.putSync('n', 5)
  await t.throwsAsync(pending.commit(), { code: 'ERR_BUSY' })

  const store = s.path('store')
  t.is(await db.backup(store, { transactionLogs: true }), 1)
  const manifest = JSON.parse(fs.readFileSync(path.join(store, 'backups', '1.json')))
  t.deepEqual(manifest.transactionLogs.map((file) => file.name), ['audit/1.txnlog', 'audit/txn.state'])
  t.is(manifest.transactionLogs[0].size, log.committedPosition().offset, 'copied up to the committed end')
  pending.abort()
  t.is(await db.backup(store), 2, 'a backup without the option')
  t.is((await backups.verify(store, 1)).backupId, 1, 'the logs of backup 1 survived the garbage collection of backup 2')

  const restored = s.path('restored')
  await backups.restore(store, restored, { backupId: 1 })
  const copy = s.track(RocksDatabase.open(restored))
  t.deepEqual(texts(copy.useLog('audit').query({ start: 0 })), ['e0', 'e1', 'e2', 'e3', 'e4'])
  t.deepEqual(copy.useLog('audit').lastFlushedPosition(), log.lastFlushedPosition(), 'txn.state came along')
  t.is(copy.getSync('k4'), 4)

  // A damaged log file in the store fails verify, naming it.
  const stored = path.join(store, 'files', manifest.transactionLogs[0].blake3)
  fs.chmodSync(stored, 0o644)
  const bytes = fs.readFileSync(stored)
  bytes[20] ^= 1
  fs.writeFileSync(stored, bytes)
  const error = await t.throwsAsync(backups.verify(store, 1), { code: 'ERR_ROCKSDB_CORRUPTION' })
  t.regex(error.message, /audit\/1\.txnlog/)
})

test('log files keep their last write through backups and restores, to a store and through a stream (purgeLogs goes by it)', async (t) => {
  const { backups } = require('..')
  const { PassThrough } = require('node:stream')
  const s = scratch(t)
  const db = s.open('db', { transactionLogMaxSize: 100 })
  const log = db.useLog('aged')
  for (let i = 0; i < 3; i++) await db.transaction(async (txn) => log.addEntry(Buffer.alloc(60, i), txn.id))
  const files = ['1.txnlog', '2.txnlog', '3.txnlog']
  const ages = [10, 5, 0].map((days) => new Date(Date.now() - days * 86_400_000))
  files.forEach((file, index) => fs.utimesSync(path.join(log.path, file), ages[index], ages[index]))
  // In whole seconds: a tar keeps no finer time.
  const mtimes = (dir) => files.map((file) => Math.floor(fs.statSync(path.join(dir, 'transaction_logs', 'aged', file)).mtimeMs / 1000))
  const expected = ages.map((age) => Math.floor(age.getTime() / 1000))

  const store = s.path('store')
  await db.backup(store, { transactionLogs: true })
  const restored = s.path('restored')
  await backups.restore(store, restored)
  t.deepEqual(mtimes(restored), expected, 'from a store')

  const archive = []
  const out = new PassThrough()
  out.on('data', (chunk) => archive.push(chunk))
  await db.backup(out, { transactionLogs: true })
  const unpacked = s.path('unpacked')
  const input = new PassThrough()
  input.end(Buffer.concat(archive))
  await backups.restoreStream(input, unpacked)
  t.deepEqual(mtimes(unpacked), expected, 'through a stream')
  const copy = s.track(RocksDatabase.open(unpacked))
  t.is([...copy.useLog('aged').query({ start: 0 })].length, 3, 'the streamed logs read back')
  // Purging by age treats the restored files as the originals: the 10-day
  // old file goes (it is no newer than the last flush), the others stay.
  copy.flushSync()
  t.deepEqual(copy.purgeLogs({ name: 'aged', before: Date.now() - 7 * 86_400_000 }), [path.join(unpacked, 'transaction_logs', 'aged', '1.txnlog')])
})
