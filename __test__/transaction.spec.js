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

test('reads see one snapshot, taken at the transaction\'s first read', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('k', 'before')
  await db.transaction(async (txn) => {
    db.putSync('other', 'before the first read')
    t.is(txn.getSync('other'), 'before the first read')
    db.putSync('k', 'outside')
    t.is(txn.getSync('k'), 'before')
    t.deepEqual([...txn.getKeys()], ['k', 'other'])
    db.putSync('late', 1)
    t.deepEqual([...txn.getKeys()], ['k', 'other'])
  }, { maxRetries: 0 })
  // It only read, so it had nothing to commit and could not conflict.
  t.is(db.getSync('k'), 'outside')
})

test('a transaction that only writes commits atomically, as one batch, with no conflict to lose', async (t) => {
  const db = scratch(t).open('db')
  for (let i = 0; i < 100; i++) db.putSync(i, 'old')
  let release
  const held = new Promise((resolve) => (release = resolve))
  let runs = 0
  const blind = db.transaction(async (txn) => {
    runs++
    for (let i = 0; i < 100; i += 2) txn.putSync(i, { big: 'x'.repeat(i * 50) })
    for (let i = 1; i < 100; i += 2) txn.removeSync(i)
    await held
  })
  // Nothing is visible before the commit...
  db.putSync(0, 'outside')
  t.is(db.getSync(2), 'old')
  t.is(db.getSync(1), 'old')
  release()
  await blind
  // ...then all of it at once. It read nothing, so the write outside did not
  // make it conflict: it simply committed after it.
  t.is(runs, 1)
  t.deepEqual(db.getSync(0), { big: '' })
  t.deepEqual(db.getSync(98), { big: 'x'.repeat(4900) })
  t.deepEqual([...db.getKeys()], Array.from({ length: 50 }, (_, i) => i * 2))
  const result = db.transactionSync((txn) => {
    txn.putSync('sync', 1)
    return 'done'
  })
  t.is(result, 'done')
  t.is(db.getSync('sync'), 1)
})

test('writes made before the first read are seen by it, in order', (t) => {
  const db = scratch(t).open('db')
  db.putSync('gone', 1)
  db.transactionSync((txn) => {
    txn.putSync('a', 1)
    txn.putSync('a', 2)
    txn.removeSync('gone')
    txn.putSync(['tuple', 0], Buffer.alloc(70_000, 7))
    t.is(txn.getSync('a'), 2)
    t.is(txn.getSync('gone'), undefined)
    t.deepEqual(txn.getSync(['tuple', 0]), Buffer.alloc(70_000, 7))
    txn.putSync('b', 3)
    t.deepEqual([...txn.getKeys()], ['a', 'b', ['tuple', 0]])
  })
  t.deepEqual([...db.getRange()].map(({ key, value }) => [key, Buffer.isBuffer(value) ? value.length : value]), [
    ['a', 2],
    ['b', 3],
    [['tuple', 0], 70_000],
  ])
})

test('a key the transaction read and another writer changed is a conflict, though the transaction wrote another key', async (t) => {
  const db = scratch(t).open('db')
  db.putSync('x', 1)
  let runs = 0
  await db.transaction(async (txn) => {
    runs++
    const x = txn.getSync('x')
    if (runs === 1) db.putSync('x', 10) // x changes after it was read
    txn.putSync('y', x * 2)
  })
  t.is(runs, 2)
  t.is(db.getSync('y'), 20)
})

test('a transaction whose database closes before the commit rejects and writes nothing', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  await t.throwsAsync(
    db.transaction(async (txn) => {
      txn.putSync('k', 1)
      db.close()
    }),
    { code: 'ERR_DATABASE_CLOSED' },
  )
  t.throws(() => db.transactionSync((txn) => {
    txn.putSync('k', 1)
  }), { code: 'ERR_DATABASE_CLOSED' })
  const reopened = s.open('db')
  t.is(reopened.getSync('k'), undefined)
  await t.throwsAsync(
    reopened.transaction(async (txn) => {
      txn.putSync('k', 1)
      reopened.close()
      txn.getSync('k')
    }),
    { code: 'ERR_DATABASE_CLOSED' },
  )
})

test('a transaction whose column family is dropped meanwhile rejects with the RocksDB code', async (t) => {
  const s = scratch(t)
  const family = s.open('db', { name: 'doomed' })
  const other = s.open('db', { name: 'doomed' })
  await t.throwsAsync(
    family.transaction(async (txn) => {
      txn.putSync('k', 1)
      other.dropSync()
      txn.getSync('k')
    }, { maxRetries: 0 }),
    { code: 'ERR_COLUMN_FAMILY_DROPPED' },
  )
  await t.throwsAsync(
    family.transaction(async (txn) => {
      txn.putSync('k', 1)
    }),
    { code: 'ERR_COLUMN_FAMILY_DROPPED' },
  )
  t.deepEqual(s.open('db').columns, ['default'])
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

test('conflicts beyond maxRetries reject with ERR_BUSY', async (t) => {
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
  t.is(error.code, 'ERR_BUSY')
  t.is(runs, 3)
  t.is(db.getSync('k'), 3)
})

test('concurrent transactions are isolated from each other', async (t) => {
  const db = scratch(t).open('db')
  let release
  const gate = new Promise((resolve) => (release = resolve))
  const seen = []
  const first = db.transaction(async (txn) => {
    t.is(txn.getSync('c'), undefined) // takes the snapshot
    txn.putSync('a', 'first')
    await gate
    seen.push(txn.getSync('b'))
  })
  const second = db.transaction(async (txn) => {
    txn.putSync('b', 'second')
    t.is(txn.getSync('a'), undefined, 'the other transaction\'s uncommitted write is invisible')
  })
  await second
  release()
  await first
  // The first run read b at its snapshot, before the second committed it; b
  // had changed when it came to commit, so it ran again and saw it.
  t.deepEqual(seen, [undefined, 'second'])
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
  await t.throwsAsync(db.transaction('nope'), { instanceOf: TypeError, message: /^Callback must be a function$/ })
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
    t.is(txn.getSync(0), 'v0') // the first read takes the snapshot
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

test('a transaction acts for a handle of another column family of its database, committing both at once', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.open('db', { name: 'other', encoding: 'binary' })
  other.putSync('seen', Buffer.from('before'))
  await db.transaction(async (txn) => {
    db.putSync('k', 'mine', { transaction: txn })
    // The other handle's family and encodings, in this transaction.
    other.putSync('k', Buffer.from('theirs'), { transaction: txn })
    await other.put('j', Buffer.from('async'), { transaction: txn })
    other.removeSync('seen', { transaction: txn })
    t.deepEqual(other.getSync('k', { transaction: txn }), Buffer.from('theirs'))
    t.deepEqual(await other.get('j', { transaction: txn }), Buffer.from('async'))
    t.is(other.getSync('seen', { transaction: txn }), undefined)
    t.is(db.getSync('k', { transaction: txn }), 'mine')
    // Not visible outside before the commit; the families stay apart.
    t.is(other.getSync('k'), undefined)
    t.is(db.getSync('j'), undefined)
    t.deepEqual([...other.getKeys({ transaction: txn })], ['j', 'k'], "the other family's range, as the transaction sees it")
  })
  t.is(db.getSync('k'), 'mine')
  t.deepEqual(other.getSync('k'), Buffer.from('theirs'))
  t.deepEqual(other.getSync('j'), Buffer.from('async'))
  t.is(other.getSync('seen'), undefined)
  t.is(db.getSync('j'), undefined)
  // An aborted one leaves both families as they were.
  await t.throwsAsync(
    db.transaction((txn) => {
      other.putSync('k', Buffer.from('rolled back'), { transaction: txn })
      db.putSync('k', 'rolled back', { transaction: txn })
      throw new Error('abort')
    }),
    { message: 'abort' },
  )
  t.deepEqual(other.getSync('k'), Buffer.from('theirs'))
  t.is(db.getSync('k'), 'mine')
})

test('a transaction of another database is refused, and writes nothing there', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const elsewhere = s.open('elsewhere')
  await db.transaction(async (txn) => {
    t.is(t.throws(() => elsewhere.putSync('k', 'wrong', { transaction: txn })).code, 'ERR_INVALID_ARG_VALUE')
    t.is(t.throws(() => elsewhere.removeSync('k', { transaction: txn })).code, 'ERR_INVALID_ARG_VALUE')
    t.is(t.throws(() => elsewhere.getSync('k', { transaction: txn })).code, 'ERR_INVALID_ARG_VALUE')
    t.is(t.throws(() => elsewhere.getRange({ transaction: txn })).code, 'ERR_INVALID_ARG_VALUE')
    t.is((await t.throwsAsync(elsewhere.put('k', 'wrong', { transaction: txn }))).code, 'ERR_INVALID_ARG_VALUE')
    t.is((await t.throwsAsync(elsewhere.get('k', { transaction: txn }))).code, 'ERR_INVALID_ARG_VALUE')
    t.is(t.throws(() => db.putSync('k', 1, { transaction: {} })).code, 'ERR_INVALID_ARG_TYPE')
    db.putSync('k', 'mine', { transaction: txn })
  })
  t.is(db.getSync('k'), 'mine')
  t.is(elsewhere.getSync('k'), undefined)
})

test('a pessimistic transaction also writes another column family of its database in the same commit', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { pessimistic: true })
  const other = s.open('db', { name: 'other', pessimistic: true })
  await db.transaction((txn) => {
    other.putSync('k', 'theirs', { transaction: txn })
    db.putSync('k', 'mine', { transaction: txn })
    t.is(other.getSync('k', { transaction: txn }), 'theirs')
    t.is(other.getSync('k'), undefined)
  })
  t.is(other.getSync('k'), 'theirs')
  t.is(db.getSync('k'), 'mine')
})

test('transactionSync with a callback that returns a Promise (as rocksdb-js allows): the commit waits for it, a rejection aborts, a conflict runs it again', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const pending = db.transactionSync(async (txn) => {
    await new Promise((resolve) => setTimeout(resolve, 10))
    txn.putSync('a', 1)
    return 'done'
  })
  t.true(pending instanceof Promise, 'the caller gets a Promise')
  t.is(db.getSync('a'), undefined, 'nothing committed before it resolves')
  t.is(await pending, 'done')
  t.is(db.getSync('a'), 1)

  await t.throwsAsync(
    db.transactionSync(async (txn) => {
      txn.putSync('b', 1)
      throw new Error('no')
    }),
    { message: 'no' },
  )
  t.is(db.getSync('b'), undefined, 'a rejection aborts')

  db.putSync('n', 0)
  const attempts = []
  const result = await db.transactionSync(async (txn, attempt) => {
    attempts.push(attempt)
    const n = txn.getSync('n')
    // The first attempt loses to a write made meanwhile.
    if (attempt === 1) db.putSync('n', 10)
    await new Promise((resolve) => setTimeout(resolve, 5))
    txn.putSync('n', n + 1)
    return n + 1
  })
  t.deepEqual(attempts, [1, 2])
  t.is(result, 11)
  t.is(db.getSync('n'), 11)
})
