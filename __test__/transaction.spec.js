'use strict'

const test = require('ava')
const { scratch } = require('./helpers')

test('a transaction commits when its callback resolves and returns its result', async (t) => {
  const db = scratch(t).open('db')
  const result = await db.transaction(async (txn) => {
    await txn.put('a', 1)
    txn.putSync('b', 2)
    t.is(db.getSync('a'), undefined, 'invisible outside before commit')
    return 'done'
  })
  t.is(result, 'done')
  t.is(db.getSync('a'), 1)
  t.is(db.getSync('b'), 2)
})

test('reads inside see the transaction\'s own writes and removals', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('gone', 1)
  await db.transaction(async (txn) => {
    txn.putSync('k', 'mine')
    t.is(txn.getSync('k'), 'mine')
    t.is(await txn.get('k'), 'mine')
    await txn.remove('gone')
    t.is(txn.getSync('gone'), undefined)
  })
  t.is(db.getSync('gone'), undefined)
})

test('a throwing callback aborts: nothing is written and the error propagates', async (t) => {
  const db = scratch(t).open('db')
  await t.throwsAsync(
    db.transaction(async (txn) => {
      txn.putSync('k', 1)
      throw new Error('boom')
    }),
    { message: 'boom' },
  )
  t.is(db.getSync('k'), undefined)
})

test('explicit abort discards writes; a finished transaction refuses use', async (t) => {
  const db = scratch(t).open('db')
  let kept
  await db.transaction((txn) => {
    txn.putSync('k', 1)
    txn.abort()
    kept = txn
  })
  t.is(db.getSync('k'), undefined)
  t.throws(() => kept.putSync('k', 2), { code: 'ERR_TRANSACTION_DONE' })
})

test('reads inside see the snapshot of the moment the transaction began', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('k', 'before')
  await db.transaction(async (txn) => {
    db.putSync('k', 'outside')
    t.is(txn.getSync('k'), 'before')
  }, { maxRetries: 0 }).catch(() => {})
  t.is(db.getSync('k'), 'outside')
})

test('a conflict is retried: the callback runs again and then commits', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('counter', 0)
  let runs = 0
  await db.transaction(async (txn) => {
    runs++
    const value = txn.getSync('counter')
    // The first run loses a race with a write outside the transaction.
    if (runs === 1) db.putSync('counter', 100)
    txn.putSync('counter', value + 1)
  })
  t.is(runs, 2)
  t.is(db.getSync('counter'), 101)
})

test('conflicts beyond maxRetries reject with ERR_TRANSACTION_CONFLICT', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('k', 0)
  let runs = 0
  const error = await t.throwsAsync(
    db.transaction(
      async (txn) => {
        runs++
        txn.getSync('k')
        db.putSync('k', runs) // always conflicts
        txn.putSync('k', -1)
      },
      { maxRetries: 2 },
    ),
  )
  t.is(error.code, 'ERR_TRANSACTION_CONFLICT')
  t.is(runs, 3)
  t.is(db.getSync('k'), 3)
})

test('concurrent transactions are isolated from each other', async (t) => {
  const db = scratch(t).open('db')
  let release
  const gate = new Promise((resolve) => (release = resolve))
  const first = db.transaction(async (txn) => {
    txn.putSync('a', 'first')
    await gate
    t.is(txn.getSync('b'), undefined, 'the other transaction\'s uncommitted write is invisible')
  })
  const second = db.transaction(async (txn) => {
    txn.putSync('b', 'second')
    t.is(txn.getSync('a'), undefined)
  })
  await second
  release()
  await first
  t.is(db.getSync('a'), 'first')
  t.is(db.getSync('b'), 'second')
})

test('transactionSync commits synchronously and aborts on throw', (t) => {
  const db = scratch(t).open('db')
  t.is(db.transactionSync((txn) => (txn.putSync('k', 1), 'ok')), 'ok')
  t.is(db.getSync('k'), 1)
  t.throws(() => db.transactionSync((txn) => {
    txn.putSync('k', 2)
    throw new Error('no')
  }), { message: 'no' })
  t.is(db.getSync('k'), 1)
})

test('transactions in a column family write to that family only', async (t) => {
  const s = scratch(t)
  const users = s.open('db', { name: 'users' })
  const main = s.open('db')
  await users.transaction((txn) => txn.putSync('u', 1))
  t.is(users.getSync('u'), 1)
  t.is(main.getSync('u'), undefined)
})

test('bad arguments and closed or read-only databases', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  await t.throwsAsync(db.transaction('nope'), { instanceOf: TypeError, message: /"callback"/ })
  await t.throwsAsync(db.transaction(() => {}, { maxRetries: -1 }), { instanceOf: TypeError })
  db.close()
  await t.throwsAsync(db.transaction(() => {}), { code: 'ERR_DATABASE_CLOSED' })
  const ro = s.open('db', { readOnly: true })
  t.throws(() => ro.transactionSync(() => {}), { code: 'ERR_DATABASE_READ_ONLY' })
})

test('getRange in a transaction merges its own writes and removals over its snapshot', async (t) => {
  const db = scratch(t).open('db')
  for (let i = 0; i < 10; i++) db.putSync(i * 10, `v${i * 10}`)
  await db.transaction(async (txn) => {
    db.putSync(5, 'after the snapshot')
    txn.putSync(15, 'mine')
    txn.removeSync(20)
    t.deepEqual(
      [...txn.getRange({ start: 0, end: 40 })],
      [
        { key: 0, value: 'v0' },
        { key: 10, value: 'v10' },
        { key: 15, value: 'mine' },
        { key: 30, value: 'v30' },
      ],
    )
    t.deepEqual([...txn.getKeys({ start: 90, end: 10, reverse: true, inclusiveEnd: true })], [90, 80, 70, 60, 50, 40, 30, 15, 10])
    t.deepEqual([...txn.getKeys({ offset: 2, limit: 3 })], [15, 30, 40])
    t.deepEqual([...txn.getKeys({ limit: 0 })], [])
    t.deepEqual(await txn.getRange({ start: 85 }).asArray, [{ key: 90, value: 'v90' }])
  })
  t.deepEqual([...db.getKeys({ end: 31 })], [0, 5, 10, 15, 30])
})

test('a long range in a transaction crosses batches in order, both ways', (t) => {
  const db = scratch(t).open('db', { keyEncoding: 'uint32', encoding: 'binary' })
  for (let i = 0; i < 5000; i += 2) db.putSync(i, Buffer.from([i & 255]))
  db.transactionSync((txn) => {
    for (let i = 1; i < 5000; i += 2) txn.putSync(i, Buffer.from([i & 255]))
    const forward = [...txn.getKeys()]
    t.is(forward.length, 5000)
    t.true(forward.every((key, i) => key === i))
    const backward = [...txn.getRange({ reverse: true, limit: 4000 })]
    t.is(backward.length, 4000)
    t.true(backward.every(({ key, value }, i) => key === 4999 - i && value[0] === (key & 255)))
  })
})

test('a transaction range after the transaction ends throws ERR_TRANSACTION_DONE; bad options are TypeErrors', (t) => {
  const db = scratch(t).open('db')
  db.putSync('a', 1)
  let kept
  db.transactionSync((txn) => {
    kept = txn.getRange()
    t.throws(() => txn.getRange({ limit: 'all' }), { instanceOf: TypeError, message: /options\.limit/ })
    t.throws(() => txn.getKeys({ start: {} }), { instanceOf: TypeError, message: /"key"/ })
  })
  t.throws(() => [...kept], { code: 'ERR_TRANSACTION_DONE' })
})
