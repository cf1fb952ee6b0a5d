'use strict'

// rocksdb-js 2.x compatibility: one test per behaviour its README documents
// that this package now follows (see the README's "Compatibility with
// rocksdb-js" for what still differs).

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { RocksDatabase, shutdown, supportedCompression, versions } = require('..')
const { scratch } = require('./helpers')

test('new RocksDatabase(path, options) then db.open(); db.status, db.path, db.name, db.readOnly', (t) => {
  const s = scratch(t)
  const db = s.track(new RocksDatabase(s.path('db'), { name: 'users' }))
  t.is(db.status, 'closed')
  t.is(db.open(), db)
  t.is(db.status, 'opened')
  t.is(db.path, s.path('db'))
  t.is(db.name, 'users')
  t.false(db.readOnly)
  db.close()
  t.is(db.status, 'closed')
})

test('get() returns the value itself when RocksDB has it in memory (MaybePromise); await works either way', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('foo', 'bar')
  const result = db.get('foo')
  const value = result instanceof Promise ? await result : result
  t.is(value, 'bar')
  t.is(await db.get('foo'), 'bar')
})

test('GetOptions.skipDecode returns the stored bytes; getBinaryFast and getBinaryFastSync', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', { a: 1 })
  const bytes = db.getBinarySync('k')
  t.true(Buffer.isBuffer(bytes))
  t.deepEqual(db.getSync('k', { skipDecode: true }), bytes)
  t.deepEqual(await db.get('k', { skipDecode: true }), bytes)
  t.deepEqual(db.getBinaryFastSync('k'), bytes)
  t.deepEqual(await db.getBinaryFast('k'), bytes)
  t.is(db.getBinaryFastSync('missing'), undefined)
})

test('range options key, valuesOnly, onlyCount and RocksDB read options; getValues(key)', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (const k of ['a', 'b', 'c']) db.putSync(k, `value ${k}`)
  t.deepEqual(
    [...db.getRange({ key: 'b' })].map(({ key, value }) => [key, value]),
    [['b', 'value b']],
  )
  t.deepEqual([...db.getRange({ valuesOnly: true })], ['value a', 'value b', 'value c'])
  t.deepEqual([...db.getValues('c')], ['value c'])
  t.is(db.getKeysCount({ key: 'a' }), 1)
  t.is(db.getRange({ onlyCount: true }), 3)
  t.is(db.getRange({ start: 'b', onlyCount: true }), 2)
  // RocksDB read options rocksdb-js takes are accepted.
  t.is([...db.getRange({ fillCache: false, readaheadSize: 0, asyncIO: true })].length, 3)
  t.is(t.throws(() => db.getRange({ valuesOnly: 1 })).code, 'ERR_INVALID_ARG_TYPE')
})

test('getEstimatedKeyCount(); estimateCount() returns { count, confidence }, exact over a range', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 100; i++) db.putSync(`k${String(i).padStart(3, '0')}`, i)
  db.flushSync()
  t.is(db.getEstimatedKeyCount(), 100)
  t.deepEqual(db.estimateCount({ start: 'k010', end: 'k020' }), { count: 10, confidence: 1 })
  const whole = db.estimateCount()
  t.is(whole.count, 100)
  t.true(whole.confidence > 0 && whole.confidence < 1, 'an estimate is not exact')
})

test('destroy() is synchronous: the directory is gone when it returns, for every handle of the path', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.open('db', { name: 'other' })
  db.putSync('foo', 'bar')
  const returned = db.destroy()
  t.false(fs.existsSync(db.path))
  t.false(other.isOpen())
  t.true(returned instanceof Promise, 'and awaiting it still works')
})

test('transactions: id, getTimestamp()/setTimestamp(), the attempt argument, getKeysCount()', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('a', 1)
  const ids = []
  const before = Date.now()
  await db.transaction(async (txn, attempt) => {
    t.is(attempt, 1)
    ids.push(txn.id)
    t.true(Number.isInteger(txn.id) && txn.id > 0 && txn.id < 2 ** 32)
    const ts = txn.getTimestamp()
    t.true(ts >= before - 1 && ts <= Date.now() + 1, 'milliseconds since the epoch, with a fraction (as rocksdb-js runs it)')
    txn.setTimestamp(1700000000000.5)
    t.is(txn.getTimestamp(), 1700000000000.5)
    txn.setTimestamp()
    t.true(txn.getTimestamp() >= ts)
    for (const bad of [-1, 0, 'x', null, new Date()]) {
      t.throws(() => txn.setTimestamp(bad), { instanceOf: TypeError, message: /^Invalid timestamp, expected positive number/ })
    }
    txn.putSync('b', 2)
    t.is(txn.getKeysCount(), 2, 'its own write is counted')
  })
  db.transactionSync((txn) => ids.push(txn.id))
  t.true(ids[1] > ids[0], 'ids grow per database path')
  // A conflict runs the callback again with the next attempt number.
  const attempts = []
  await db.transaction(async (txn, attempt) => {
    attempts.push(attempt)
    txn.getSync('a')
    if (attempt === 1) db.putSync('a', 'changed by another writer')
    txn.putSync('a', 'mine')
  })
  t.deepEqual(attempts, [1, 2])
  t.is(db.getSync('a'), 'mine')
  // Options of rocksdb-js that concern its transaction log are accepted.
  t.is(await db.transaction((txn) => txn.getSync('a'), { retryOnBusy: true, disableSnapshot: true, coordinatedRetry: false }), 'mine')
})

test('the { transaction } option makes db methods act in the transaction', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('seen', 1)
  await db.transaction(async (transaction) => {
    await db.put('foo', 'baz', { transaction })
    db.putSync('bar', 'qux', { transaction })
    db.removeSync('seen', { transaction })
    t.is(db.getSync('foo', { transaction }), 'baz', 'read your own writes through db')
    t.is(await db.get('bar', { transaction }), 'qux')
    t.is(db.getSync('foo'), undefined, 'not visible outside before the commit')
    t.deepEqual([...db.getKeys({ transaction })], ['bar', 'foo'])
  })
  t.is(db.getSync('foo'), 'baz')
  t.is(db.getSync('bar'), 'qux')
  t.is(db.getSync('seen'), undefined)
})

test('abandonWrites() bars writes and the commit; reads keep working; the callback then commits nothing', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  await db.transaction(async (txn) => {
    txn.putSync('a', 1)
    txn.abandonWrites()
    t.is(txn.getSync('a'), 1, 'reads its own writes still')
    t.is(t.throws(() => txn.putSync('b', 2)).code, 'ERR_TRANSACTION_ABANDONED')
    t.is((await t.throwsAsync(txn.commit())).code, 'ERR_TRANSACTION_ABANDONED')
  })
  t.is(db.getSync('a'), undefined)
})

test('a callback that commits or aborts itself: the transaction ends there', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  await db.transaction(async (txn) => {
    txn.putSync('committed', 1)
    await txn.commit()
  })
  await db.transaction(async (txn) => {
    txn.putSync('aborted', 1)
    txn.abort()
  })
  t.is(db.getSync('committed'), 1)
  t.is(db.getSync('aborted'), undefined)
})

test('events: begin-transaction, beforecommit, committed, aftercommit, told asynchronously in order', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const seen = []
  for (const event of ['begin-transaction', 'beforecommit', 'committed']) db.on(event, () => seen.push(event))
  let after
  db.once('aftercommit', (result) => (after = result))
  let id
  await db.transaction((txn) => {
    id = txn.id
    txn.putSync('a', 1)
  })
  await new Promise((resolve) => setImmediate(resolve))
  t.deepEqual(seen, ['begin-transaction', 'beforecommit', 'committed'])
  t.deepEqual(after, { next: null, last: null, txnId: id })
})

test('notify(event, ...args) calls the listeners asynchronously and says whether there were any; numbers name events too', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const calls = []
  db.addListener('foo', (...args) => calls.push(['first', ...args]))
  db.on('foo', (...args) => calls.push(['second', ...args]))
  db.addListener(1234, (...args) => calls.push(['number', ...args]))
  t.true(db.notify('foo', 'bar', { value: 'baz' }))
  t.true(db.notify(1234))
  t.deepEqual(calls, [], 'not during the call')
  await null
  t.deepEqual(calls, [
    ['first', 'bar', { value: 'baz' }],
    ['second', 'bar', { value: 'baz' }],
    ['number'],
  ])
  t.false(db.notify('nobody'))
})

test('shutdown() flushes and closes every open database (in a process of its own: it closes them all)', (t) => {
  const s = scratch(t)
  const script = `
    const { RocksDatabase, shutdown } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const a = RocksDatabase.open(${JSON.stringify(s.path('a'))}, { disableWAL: true })
    const b = RocksDatabase.open(${JSON.stringify(s.path('b'))})
    a.putSync('k', 'unflushed without a WAL')
    process.on('exit', () => {
      shutdown()
      if (a.isOpen() || b.isOpen()) process.exitCode = 3
    })`
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  t.is(child.status, 0, child.stderr)
  t.is(s.open('a').getSync('k'), 'unflushed without a WAL', 'flushed before closing')
})

test('supportedCompression and versions', (t) => {
  t.deepEqual([...supportedCompression].sort(), ['lz4', 'none', 'zstd'])
  t.regex(versions.rocksdb, /^\d+\.\d+\.\d+$/)
  t.is(versions['rocksdb-branch'], require('../package.json').version)
  for (const compression of supportedCompression) {
    const s = scratch(t)
    const db = s.open('db', { compression })
    db.putSync('k', 'v'.repeat(1000))
    db.flushSync()
    t.is(db.getSync('k'), 'v'.repeat(1000), compression)
  }
})

test('ranges are ExtendedIterables: slice, concat, flatMap, mapError, at, asArray, async callbacks, for await', async (t) => {
  const { ExtendedIterable } = require('@harperfast/extended-iterable')
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 10; i++) db.putSync(i, i * 10)
  const range = db.getRange()
  t.true(range instanceof ExtendedIterable)
  t.deepEqual([...range.slice(2, 4).map(({ key }) => key)], [2, 3])
  t.deepEqual([...db.getKeys({ end: 2 }).concat(db.getKeys({ start: 8 }))], [0, 1, 8, 9])
  t.deepEqual([...db.getKeys({ end: 2 }).flatMap((key) => [key, key])], [0, 0, 1, 1])
  t.deepEqual(range.at(3), { key: 3, value: 30 })
  t.deepEqual((await db.getKeys({ limit: 3 }).asArray).slice(), [0, 1, 2])
  const caught = [
    ...db
      .getKeys({ end: 3 })
      .map((key) => {
        if (key === 1) throw new Error('one')
        return key
      })
      .mapError((error) => error.message),
  ]
  t.deepEqual(caught, [0, 'one', 2])
  // An async callback makes the range async.
  const doubled = []
  for await (const value of db.getRange({ end: 3, valuesOnly: true }).map(async (value) => value * 2)) doubled.push(value)
  t.deepEqual(doubled, [0, 20, 40])
  t.deepEqual(
    [...db.getKeys().filter((key) => key % 3 === 0).take(2)],
    [0, 3],
    'this package’s take() chains too',
  )
})

test('the open options of rocksdb-js: compression { algorithm, level }, maxWriteBufferNumber, dbWriteBufferSize, maxLogFileSize, infoLogLevel; db.compression', (t) => {
  const s = scratch(t)
  const db = s.open('db', {
    compression: { algorithm: 'zstd', level: 3 },
    maxWriteBufferNumber: 4,
    dbWriteBufferSize: 8 << 20,
    maxLogFileSize: 1 << 20,
    infoLogLevel: 2,
  })
  t.deepEqual(db.compression, { algorithm: 'zstd', level: 3 })
  db.putSync('k', 'v'.repeat(10_000))
  db.flushSync()
  t.is(db.getSync('k'), 'v'.repeat(10_000))
  const file = fs.readdirSync(db.path).find((name) => name.startsWith('OPTIONS-'))
  const text = fs.readFileSync(path.join(db.path, file), 'utf8')
  t.regex(text, /max_write_buffer_number=4/)
  t.regex(text, /db_write_buffer_size=8388608/)
  t.regex(text, /max_log_file_size=1048576/)
  t.regex(text, /info_log_level=WARN_LEVEL/)
  t.regex(text, /compression=kZSTD/)
  t.regex(text, /compression_opts=\{[^}]*level=3/)
  t.deepEqual(s.open('plain').compression, { algorithm: 'lz4' })
  t.is(t.throws(() => s.open('bad', { maxWriteBufferNumber: 0 })).code, 'ERR_INVALID_ARG_VALUE')
  t.is(t.throws(() => s.open('bad', { compression: { algorithm: 'snappy' } })).code, 'ERR_INVALID_ARG_VALUE')
})

test('process-global events: RocksDatabase.on, once, off, notify', async (t) => {
  const calls = []
  const listener = (...args) => calls.push(args)
  RocksDatabase.on('compat-global', listener)
  RocksDatabase.once('compat-global', () => calls.push('once'))
  t.true(RocksDatabase.notify('compat-global', 1, 2))
  await null
  t.deepEqual(calls, [[1, 2], 'once'])
  t.true(RocksDatabase.off('compat-global', listener))
  t.false(RocksDatabase.off('compat-global', listener))
  t.false(RocksDatabase.notify('compat-global'))
})

test('a custom keyEncoder { writeKey, readKey } orders and decodes keys; maxKeySize refuses longer keys', (t) => {
  const s = scratch(t)
  // Keys as fixed-width decimal text, as an application's own encoder might write them.
  const keyEncoder = {
    writeKey(key, buffer, start) {
      return start + buffer.write(String(key).padStart(8, '0'), start, 'latin1')
    },
    readKey(buffer, start, end) {
      return Number(buffer.toString('latin1', start, end))
    },
  }
  const db = s.open('db', { keyEncoder, maxKeySize: 8 })
  for (const key of [30, 4, 200]) db.putSync(key, `v${key}`)
  t.deepEqual([...db.getKeys()], [4, 30, 200])
  t.is(db.getSync(30), 'v30')
  t.deepEqual(db.getBinarySync(4), db.getBinarySync(4))
  t.is(t.throws(() => db.putSync(123456789, 'too long')).code, 'ERR_INVALID_ARG_VALUE')
  t.is(t.throws(() => s.open('bad', { keyEncoder: { writeKey() {} } })).code, 'ERR_INVALID_ARG_TYPE')
  const plain = s.open('plain', { maxKeySize: 4 })
  plain.putSync('abc', 1)
  t.regex(t.throws(() => plain.putSync('abcdefgh', 1)).message, /maxKeySize/)
})

test('createCountEstimator(): estimate, advance page by page, finish', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 60; i++) db.putSync(`k${String(i).padStart(2, '0')}`, i)
  const range = { start: 'k10', end: 'k50' }
  const estimator = db.createCountEstimator(range)
  t.deepEqual(estimator.estimate(), { count: 40, confidence: 1 })
  let lastKey
  let page = 0
  for (const { key } of db.getRange({ ...range, limit: 25 })) {
    lastKey = key
    page++
  }
  estimator.advance(lastKey, page)
  t.deepEqual(estimator.estimate(), { count: 40, confidence: 1 }, 'traversed plus what is left')
  db.putSync('k45x', 'added after the page')
  t.is(estimator.estimate().count, 41)
  estimator.finish()
  t.deepEqual(estimator.estimate(), { count: 25, confidence: 1 }, 'finished: what was traversed')
  t.is(t.throws(() => estimator.advance('k', -1)).code, 'ERR_INVALID_ARG_TYPE')
  const reverse = db.createCountEstimator({ start: 'k50', end: 'k10', reverse: true })
  t.is(reverse.estimate().count, 41)
})

test('notify() reaches the listeners of handles of the same path in other worker threads', async (t) => {
  const { Worker } = require('node:worker_threads')
  const s = scratch(t)
  const db = s.open('db')
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    const { RocksDatabase } = require(workerData.module)
    const db = RocksDatabase.open(workerData.path)
    db.on('ping', (...args) => {
      parentPort.postMessage(['heard', ...args])
      db.notify('pong', 'from the worker')
    })
    parentPort.postMessage(['ready'])
    parentPort.on('message', () => { db.close(); process.exit(0) })
    `,
    { eval: true, workerData: { module: path.resolve(__dirname, '..'), path: db.path } },
  )
  t.teardown(() => worker.terminate())
  const messages = []
  const next = () => new Promise((resolve) => worker.once('message', (message) => resolve(messages.push(message))))
  await next()
  const pong = new Promise((resolve) => db.once('pong', resolve))
  db.notify('ping', 1, { a: 'b' })
  await next()
  t.deepEqual(messages, [['ready'], ['heard', 1, { a: 'b' }]])
  t.is(await pong, 'from the worker')
  t.is(t.throws(() => db.notify('ping', () => {})).code, 'ERR_INVALID_ARG_VALUE', 'a function cannot cross threads')
  worker.postMessage('stop')
})

test('notify() on one handle reaches the other handles of the path in this thread, once each', async (t) => {
  const s = scratch(t)
  const a = s.open('db')
  const b = s.open('db', { name: 'other' })
  const heard = []
  a.on('change', (who) => heard.push(['a', who]))
  const bHeard = new Promise((resolve) =>
    b.on('change', (who) => {
      heard.push(['b', who])
      resolve()
    }),
  )
  a.notify('change', 'from a')
  await bHeard
  // Anything delivered twice would have arrived by now.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.deepEqual(heard.sort(), [
    ['a', 'from a'],
    ['b', 'from a'],
  ])
})

test('statistics: enableStats and statsLevel; getStat() of tickers, histograms and properties; getStats(all)', (t) => {
  const { stats } = require('..')
  const s = scratch(t)
  const db = s.open('db', { enableStats: true, statsLevel: stats.StatsLevel.All })
  for (let i = 0; i < 100; i++) db.putSync(`k${i}`, i)
  db.flushSync()
  for (let i = 0; i < 10; i++) db.getSync(`k${i}`)
  t.is(db.getStat('rocksdb.number.keys.written'), 100)
  const gets = db.getStat('rocksdb.db.get.micros')
  t.true(gets.count >= 10, 'a histogram counts the reads')
  for (const field of ['sum', 'average', 'median', 'percentile95', 'percentile99', 'max']) t.is(typeof gets[field], 'number', field)
  t.is(db.getStat('rocksdb.estimate-num-keys'), 100, 'properties too')
  t.is(db.getStat('no.such.stat'), undefined)
  const curated = db.getStats()
  const everything = db.getStats(true)
  t.is(curated['rocksdb.number.keys.written'], 100)
  t.is(curated['rocksdb.estimate-num-keys'], 100)
  t.is(curated.estimatedKeys, 100, 'this package’s names stay')
  t.true(Object.keys(everything).length > Object.keys(curated).length + 50)
  const plain = s.open('plain')
  t.is(plain.getStat('rocksdb.number.keys.written'), undefined, 'nothing without enableStats')
  t.is(t.throws(() => s.open('bad', { statsLevel: 9 })).code, 'ERR_OUT_OF_RANGE')
})

test('listeners(event) counts; removeListener() and off() say whether they found the listener', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const callback = () => {}
  t.is(db.listeners('foo'), 0)
  db.addListener('foo', callback)
  t.is(db.listeners('foo'), 1)
  t.true(db.removeListener('foo', callback))
  t.false(db.removeListener('foo', callback))
  t.false(db.off('foo', callback))
  t.is(db.listeners('foo'), 0)
})
