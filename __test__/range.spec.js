'use strict'

const test = require('ava')
const { scratch } = require('./helpers')

function filled(t, count = 100, options) {
  const db = scratch(t).open('db', options)
  for (let i = 0; i < count; i++) db.putSync(i, `v${i}`)
  return db
}

test('getRange yields every entry in key order by default', (t) => {
  const db = filled(t)
  const entries = [...db.getRange()]
  t.is(entries.length, 100)
  t.deepEqual(entries[0], { key: 0, value: 'v0' })
  t.deepEqual(entries.map((e) => e.key), [...Array(100).keys()])
})

test('start is inclusive, end exclusive; exclusiveStart and inclusiveEnd flip them', (t) => {
  const db = filled(t)
  t.deepEqual([...db.getKeys({ start: 10, end: 13 })], [10, 11, 12])
  t.deepEqual([...db.getKeys({ start: 10, end: 13, exclusiveStart: true })], [11, 12])
  t.deepEqual([...db.getKeys({ start: 10, end: 13, inclusiveEnd: true })], [10, 11, 12, 13])
  t.deepEqual([...db.getKeys({ start: 97 })], [97, 98, 99])
  t.deepEqual([...db.getKeys({ end: 3 })], [0, 1, 2])
})

test('reverse walks down from start (inclusive) to end (exclusive)', (t) => {
  const db = filled(t)
  t.deepEqual([...db.getKeys({ start: 15, end: 11, reverse: true })], [15, 14, 13, 12])
  t.deepEqual([...db.getKeys({ start: 15, end: 11, reverse: true, exclusiveStart: true, inclusiveEnd: true })], [14, 13, 12, 11])
  t.deepEqual([...db.getKeys({ reverse: true, limit: 3 })], [99, 98, 97])
  t.deepEqual([...db.getKeys({ reverse: true, end: 97 })], [99, 98])
})

test('limit and offset, including limit 0 and an offset past the end', (t) => {
  const db = filled(t)
  t.deepEqual([...db.getKeys({ offset: 5, limit: 3 })], [5, 6, 7])
  t.deepEqual([...db.getKeys({ limit: 0 })], [])
  t.deepEqual([...db.getKeys({ offset: 1000 })], [])
  t.is(db.getKeysCount({ offset: 90 }), 10)
  t.is(db.getKeysCount({ limit: 0 }), 0)
})

test('an empty range and an empty database yield nothing', (t) => {
  const db = filled(t)
  t.deepEqual([...db.getRange({ start: 50, end: 50 })], [])
  t.deepEqual([...db.getRange({ start: 60, end: 50 })], [])
  const empty = scratch(t).open('empty')
  t.deepEqual([...empty.getRange()], [])
  t.is(empty.getKeysCount(), 0)
})

test('getKeysCount counts a range without reading values', (t) => {
  const db = filled(t)
  t.is(db.getKeysCount(), 100)
  t.is(db.getKeysCount({ start: 10, end: 20 }), 10)
  t.is(db.getKeysCount({ start: 20, end: 10, reverse: true }), 10)
})

test('values: false reads keys only, in getRange too', (t) => {
  const db = filled(t, 10)
  t.deepEqual([...db.getRange({ values: false, limit: 2 })], [0, 1])
})

test('ranges are lazy, re-iterable, and work with for await', async (t) => {
  const db = filled(t, 10)
  const range = db.getRange({ start: 2, end: 5 })
  db.putSync(3, 'changed after the range was made')
  t.deepEqual([...range].map((e) => e.value), ['v2', 'changed after the range was made', 'v4'])
  const seen = []
  for await (const { key } of range) seen.push(key)
  t.deepEqual(seen, [2, 3, 4])
})

test('map, filter, take, forEach and asArray', async (t) => {
  const db = filled(t, 20)
  const range = db.getRange().filter(({ key }) => key % 2 === 0).map(({ key, value }) => `${key}=${value}`)
  t.deepEqual(await range.take(3).asArray, ['0=v0', '2=v2', '4=v4'])
  const keys = []
  db.getKeys({ limit: 3 }).forEach((key) => keys.push(key))
  t.deepEqual(keys, [0, 1, 2])
})

test('an iteration reads from one snapshot, even across batches and concurrent writes', (t) => {
  const db = filled(t, 5000)
  let seen = 0
  for (const { key, value } of db.getRange()) {
    if (seen === 0) {
      db.putSync(4999, 'written during the scan')
      db.putSync(6000, 'added during the scan')
      db.removeSync(2500)
    }
    if (key === 4999) t.is(value, 'v4999')
    seen++
  }
  t.is(seen, 5000)
  t.is(db.getSync(4999), 'written during the scan')
})

test('breaking out early releases the iterator; the database closes cleanly after', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 1000; i++) db.putSync(i, i)
  for (const { key } of db.getRange()) if (key === 3) break
  db.close()
  const again = s.open('db')
  t.is(again.getKeysCount(), 1000)
})

test('an iterator that outlives close() ends with ERR_DATABASE_CLOSED and never crashes', (t) => {
  const db = filled(t, 5000)
  const iterator = db.getRange()[Symbol.iterator]()
  t.deepEqual(iterator.next().value, { key: 0, value: 'v0' })
  db.close()
  t.throws(() => {
    for (let r = iterator.next(); !r.done; r = iterator.next());
  }, { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => [...db.getRange()], { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.getKeysCount(), { code: 'ERR_DATABASE_CLOSED' })
})

test('binary keys with zero bytes and unicode string keys sort bytewise', (t) => {
  const s = scratch(t)
  const bin = s.open('bin', { keyEncoding: 'binary', encoding: 'binary' })
  const keys = [Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([0, 1]), Buffer.from([1]), Buffer.from([255, 0])]
  for (const key of [...keys].reverse()) bin.putSync(key, key)
  t.deepEqual([...bin.getKeys()].map((k) => [...k]), keys.map((k) => [...k]))
  const text = s.open('text')
  for (const key of ['é', 'z', 'a', '日本', '😀']) text.putSync(key, key)
  t.deepEqual([...text.getKeys()], ['a', 'z', 'é', '日本', '😀'])
})

test('uint32 keys sort numerically', (t) => {
  const db = scratch(t).open('db', { keyEncoding: 'uint32' })
  for (const key of [300, 2, 70000, 0, 4294967295]) db.putSync(key, key)
  t.deepEqual([...db.getKeys()], [0, 2, 300, 70000, 4294967295])
  t.throws(() => db.putSync(-1, 1), { instanceOf: TypeError, message: /"key"/ })
})

test('range options of the wrong type are TypeErrors naming them', (t) => {
  const db = filled(t, 3)
  t.throws(() => db.getRange({ limit: 'ten' }), { instanceOf: TypeError, message: /options\.limit/ })
  t.throws(() => db.getRange({ limit: -1 }), { instanceOf: TypeError, message: /options\.limit/ })
  t.throws(() => db.getKeys({ reverse: 1 }), { instanceOf: TypeError, message: /options\.reverse/ })
  t.throws(() => db.getRange('all'), { instanceOf: TypeError, message: /"options"/ })
  t.throws(() => db.getRange({ start: {} }), { instanceOf: TypeError, message: /"key"/ })
})

test('a full scan of many entries crosses many batches', (t) => {
  const db = filled(t, 30000)
  let count = 0
  let previous = -1
  let ordered = true
  for (const { key } of db.getRange()) {
    ordered &&= key > previous
    previous = key
    count++
  }
  t.true(ordered)
  t.is(count, 30000)
})

test('ranges around the size of the first batch end exactly where they should', (t) => {
  const db = filled(t, 1100)
  for (const count of [1, 31, 32, 33, 64, 1024, 1025]) {
    t.is([...db.getKeys({ end: count })].length, count, `end ${count}`)
    t.is([...db.getKeys({ limit: count })].length, count, `limit ${count}`)
    t.is([...db.getKeys({ start: 1100 - count })].length, count, `tail ${count}`)
    t.deepEqual([...db.getKeys({ start: count, reverse: true, limit: 2 })], [count, count - 1].filter((k) => k >= 0))
  }
})

test('entries larger than the shared read buffer come through whole, in order', (t) => {
  const db = scratch(t).open('db', { encoding: 'binary', keyEncoding: 'uint32' })
  // 30 KiB values: two fit in the first batch; a 200 KiB value alone does not.
  const sizes = [200 * 1024, 30 * 1024, 30 * 1024, 30 * 1024, 200 * 1024, 10, 30 * 1024]
  const stored = sizes.map((size, i) => Buffer.alloc(size, i + 1))
  stored.forEach((value, i) => db.putSync(i, value))
  for (const options of [{}, { limit: 7 }, { start: 1 }, { reverse: true }]) {
    const entries = [...db.getRange(options)]
    const expected = options.reverse ? [...stored.keys()].reverse() : [...stored.keys()].slice(options.start ?? 0)
    t.deepEqual(
      entries.map((e) => e.key),
      expected,
    )
    for (const { key, value } of entries) t.true(value.equals(stored[key]), `value of ${key}`)
  }
})

test('entries read by a range own their bytes: later reads do not change them', (t) => {
  const s = scratch(t)
  const bin = s.open('bin', { encoding: 'binary', keyEncoding: 'binary' })
  for (let i = 0; i < 50; i++) bin.putSync(Buffer.from([1, i]), Buffer.alloc(64, i))
  const first = [...bin.getRange({ limit: 20 })]
  const copies = first.map(({ key, value }) => ({ key: Buffer.from(key), value: Buffer.from(value) }))
  for (let i = 0; i < 5; i++) [...bin.getRange({ start: Buffer.from([1, 30]) })]
  bin.getSync(Buffer.from([1, 49]))
  t.deepEqual(first, copies)

  const packed = s.open('packed')
  for (let i = 0; i < 50; i++) packed.putSync(i, { bytes: Buffer.alloc(32, i), i })
  const entries = [...packed.getRange({ limit: 10 })]
  for (const _ of packed.getRange({ start: 40 }));
  entries.forEach(({ value }, i) => t.true(value.bytes.equals(Buffer.alloc(32, i))))
})

test('iterations interleaved with each other and with point reads stay correct', (t) => {
  const db = filled(t, 500)
  const a = db.getRange({ start: 0 })[Symbol.iterator]()
  const b = db.getRange({ start: 250, reverse: true })[Symbol.iterator]()
  for (let i = 0; i < 250; i++) {
    t.deepEqual(a.next().value, { key: i, value: `v${i}` })
    t.deepEqual(b.next().value, { key: 250 - i, value: `v${250 - i}` })
    t.is(db.getSync(499 - i), `v${499 - i}`)
  }
  a.return()
  b.return()
})

test('bounds too long for the shared key buffer still work', (t) => {
  const db = scratch(t).open('db', { keyEncoding: 'binary' })
  const long = (byte) => Buffer.alloc(3000, byte)
  for (let i = 1; i <= 5; i++) db.putSync(long(i), i)
  t.deepEqual([...db.getRange({ start: long(2), end: long(4) })].map((e) => e.value), [2, 3])
  t.is(db.getKeysCount({ start: long(2), end: long(4), inclusiveEnd: true }), 3)
})
