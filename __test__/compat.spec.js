'use strict'

// rocksdb-js 2.x compatibility: one test per behaviour its README documents
// that this package now follows (see the README's "Compatibility with
// rocksdb-js" for what still differs).

const test = require('ava')
const fs = require('node:fs')
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

test('range options key and valuesOnly; getValues(key)', (t) => {
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
  const before = Date.now() / 1000
  await db.transaction(async (txn, attempt) => {
    t.is(attempt, 1)
    ids.push(txn.id)
    t.true(Number.isInteger(txn.id) && txn.id > 0 && txn.id < 2 ** 32)
    const ts = txn.getTimestamp()
    t.true(ts >= before - 0.01 && ts <= Date.now() / 1000 + 0.01, 'seconds since the epoch, with a fraction')
    txn.setTimestamp(1700000000.5)
    t.is(txn.getTimestamp(), 1700000000.5)
    txn.setTimestamp()
    t.true(txn.getTimestamp() >= ts)
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
    const { RocksDatabase, shutdown } = require(${JSON.stringify(require('node:path').resolve(__dirname, '..'))})
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
