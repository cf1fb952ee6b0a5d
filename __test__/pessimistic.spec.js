'use strict'

const test = require('ava')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

/** A Promise and the function that resolves it. */
function gate() {
  let open
  const promise = new Promise((resolve) => (open = resolve))
  return { promise, open }
}

test('a pessimistic database reads, writes, ranges and commits like an optimistic one', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { pessimistic: true })
  db.putSync('a', 1)
  await db.put('b', 2)
  const result = await db.transaction(async (txn) => {
    txn.putSync('c', txn.getSync('a') + txn.getSync('b'))
    t.deepEqual([...txn.getKeys()], ['a', 'b', 'c'])
    return 'committed'
  })
  t.is(result, 'committed')
  t.deepEqual(await db.getRange().asArray, [
    { key: 'a', value: 1 },
    { key: 'b', value: 2 },
    { key: 'c', value: 3 },
  ])
  db.removeSync('a')
  t.is(db.getSync('a'), undefined)
  const before = db.getLatestSequenceNumber()
  db.putSync('d', 4)
  t.true(db.getLatestSequenceNumber() > before)
  db.close()
  // The files are RocksDB's usual ones: an optimistic open reads them.
  const again = s.open('db')
  t.is(again.getSync('c'), 3)
})

test('a pessimistic transaction locks a key at its write: a second writer fails at once, the first commits', async (t) => {
  const db = scratch(t).open('db', { pessimistic: true })
  db.putSync('k', 'base')
  const held = gate()
  const first = db.transaction(async (txn) => {
    txn.putSync('k', 'first')
    await held.promise
  }, { maxRetries: 0 })
  await new Promise(setImmediate)
  t.throws(() => db.transactionSync((txn) => txn.putSync('k', 'second'), { maxRetries: 0 }), {
    code: 'ERR_BUSY',
  })
  // Outside any transaction, a write to the locked key fails too.
  t.throws(() => db.putSync('k', 'outside'), { code: 'ERR_ROCKSDB_TIMED_OUT' })
  held.open()
  await first
  t.is(db.getSync('k'), 'first')
  db.putSync('k', 'after')
  t.is(db.getSync('k'), 'after')
})

test('the same race in optimistic mode: the second writer wins and the first, which read the key, fails at commit', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('k', 'base')
  const held = gate()
  const first = db.transaction(async (txn) => {
    t.is(txn.getSync('k'), 'base')
    txn.putSync('k', 'first')
    await held.promise
  }, { maxRetries: 0 })
  await new Promise(setImmediate)
  db.transactionSync((txn) => txn.putSync('k', 'second'), { maxRetries: 0 })
  held.open()
  await t.throwsAsync(first, { code: 'ERR_BUSY' })
  t.is(db.getSync('k'), 'second')
})

test('pessimistic reads take no locks: a writer of a key another transaction read goes through', async (t) => {
  const db = scratch(t).open('db', { pessimistic: true })
  db.putSync('k', 1)
  const held = gate()
  let runs = 0
  const reader = db.transaction(async (txn) => {
    runs++
    t.is(txn.getSync('k'), 1)
    await held.promise
    txn.putSync('other', 1)
  })
  await new Promise(setImmediate)
  db.transactionSync((txn) => txn.putSync('k', 2), { maxRetries: 0 })
  held.open()
  await reader
  t.is(runs, 1)
  t.is(db.getSync('k'), 2)
  t.is(db.getSync('other'), 1)
})

test('a pessimistic conflict is retried after a pause and succeeds once the lock is released', async (t) => {
  const db = scratch(t).open('db', { pessimistic: true })
  const held = gate()
  const first = db.transaction(async (txn) => {
    txn.putSync('counter', 1)
    await held.promise
  })
  await new Promise(setImmediate)
  let attempts = 0
  const second = db.transaction(async (txn) => {
    attempts++
    txn.putSync('counter', (txn.getSync('counter') ?? 0) + 10)
  }, { maxRetries: 8 })
  setTimeout(held.open, 5)
  await Promise.all([first, second])
  t.true(attempts > 1, `attempts: ${attempts}`)
  t.is(db.getSync('counter'), 11)
})

test('a transaction that read a key changed since its snapshot fails at its write', async (t) => {
  const db = scratch(t).open('db', { pessimistic: true })
  db.putSync('k', 1)
  await t.throwsAsync(
    db.transaction(async (txn) => {
      t.is(txn.getSync('k'), 1)
      db.putSync('k', 2)
      txn.putSync('k', txn.getSync('k') + 1)
    }, { maxRetries: 0 }),
    { code: 'ERR_BUSY' },
  )
  t.is(db.getSync('k'), 2)
})

test('pessimistic databases: clear, column families and checkpoints work; what RocksDB cannot do there says so', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { pessimistic: true })
  const users = s.open('db', { pessimistic: true, name: 'users' })
  for (let i = 0; i < 25000; i++) db.putSync(i, i)
  users.putSync('ada', { admin: true })
  db.clearSync()
  t.is(db.getKeysCount(), 0)
  t.deepEqual(users.getSync('ada'), { admin: true })
  db.putSync('x', 1)
  db.flushSync()
  t.is(typeof db.getDBIntProperty('rocksdb.estimate-num-keys'), 'number')
  await db.createCheckpoint(s.path('copy'))
  const copy = s.open('copy', { pessimistic: true, name: 'users' })
  t.deepEqual(copy.getSync('ada'), { admin: true })
  t.throws(() => db.compactSync(), { code: 'ERR_ROCKSDB_NOT_SUPPORTED' })
  t.throws(() => users.getDBProperty('rocksdb.stats'), { code: 'ERR_ROCKSDB_NOT_SUPPORTED' })
})

test('handles of one database must agree on pessimistic; lockTimeout is checked', (t) => {
  const s = scratch(t)
  s.open('db')
  t.throws(() => RocksDatabase.open(s.path('db'), { pessimistic: true, name: 'other' }), {
    code: 'ERR_DATABASE_OPEN',
    message: /optimistic/,
  })
  t.throws(() => s.open('p', { pessimistic: 'yes' }), { instanceOf: TypeError, message: /options\.pessimistic/ })
  t.throws(() => s.open('p', { pessimistic: true, lockTimeout: -5 }), { instanceOf: TypeError, message: /options\.lockTimeout/ })
  t.throws(() => s.open('p', { pessimistic: true, lockTimeout: 1.5 }), { instanceOf: TypeError, message: /options\.lockTimeout/ })
})

test('with a lock timeout, an async write outside a transaction waits for the lock on the thread pool', async (t) => {
  const db = scratch(t).open('db', { pessimistic: true, lockTimeout: 5000 })
  const held = gate()
  const first = db.transaction(async (txn) => {
    txn.putSync('k', 'txn')
    await held.promise
  })
  await new Promise(setImmediate)
  const write = db.put('k', 'outside')
  // The event loop is free while the write waits: this timer runs.
  await new Promise((resolve) => setTimeout(resolve, 20))
  held.open()
  await first
  await write
  t.is(db.getSync('k'), 'outside')
})
