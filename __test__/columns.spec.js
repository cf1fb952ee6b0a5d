'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

test('name opens a column family of the same database; db.columns lists them', (t) => {
  const s = scratch(t)
  const main = s.open('db')
  const users = s.open('db', { name: 'users' })
  const orders = s.open('db', { name: 'orders' })
  users.putSync('k', 'user')
  orders.putSync('k', 'order')
  main.putSync('k', 'main')
  t.is(users.getSync('k'), 'user')
  t.is(orders.getSync('k'), 'order')
  t.is(main.getSync('k'), 'main')
  t.is(users.name, 'users')
  t.deepEqual([...main.columns].sort(), ['default', 'orders', 'users'])
})

test('column families survive reopen and are covered by createCheckpoint', async (t) => {
  const s = scratch(t)
  const users = s.open('db', { name: 'users' })
  users.putSync('ada', { admin: true })
  await users.createCheckpoint(s.path('cp'))
  users.close()
  t.deepEqual(s.open('db', { name: 'users' }).getSync('ada'), { admin: true })
  const cpUsers = s.open('cp', { name: 'users' })
  t.deepEqual(cpUsers.getSync('ada'), { admin: true })
})

test('a value written by one handle reads back identically through another with the same encoding', (t) => {
  const s = scratch(t)
  const a = s.open('db', { name: 'x' })
  const b = s.open('db', { name: 'x' })
  const value = { when: new Date(0), list: [1, 'two'], bytes: Buffer.from([1, 2]) }
  a.putSync(['k', 1], value)
  t.deepEqual(b.getSync(['k', 1]), value)
  const raw = s.open('db', { name: 'x', encoding: 'binary' })
  t.deepEqual(raw.getSync(['k', 1]), a.getBinarySync(['k', 1]))
})

test('clear removes every key of one family only', async (t) => {
  const s = scratch(t)
  const main = s.open('db')
  const other = s.open('db', { name: 'other' })
  for (let i = 0; i < 100; i++) {
    main.putSync(i, i)
    other.putSync(i, i)
  }
  await main.clear()
  t.is(main.getKeysCount(), 0)
  t.is(other.getKeysCount(), 100)
  other.clearSync()
  t.is(other.getKeysCount(), 0)
  await main.clear() // clearing an empty family is fine
})

test('drop removes a column family; on the default family, which RocksDB cannot drop, it removes every key (rocksdb-js)', async (t) => {
  const s = scratch(t)
  const main = s.open('db')
  const temp = s.open('db', { name: 'temp' })
  temp.putSync('k', 1)
  await temp.drop()
  t.false(temp.isOpen())
  t.deepEqual(main.columns, ['default'])
  main.putSync('a', 1)
  main.dropSync()
  t.is(main.getKeysCount(), 0)
  t.true(main.isOpen(), 'the default family stays open')
  main.putSync('b', 2)
  await main.drop()
  t.is(main.getSync('b'), undefined)
  const again = s.open('db', { name: 'temp' })
  t.is(again.getSync('k'), undefined, 'a recreated family starts empty')
})

test('a read-only open of a missing family is an error, not a creation', (t) => {
  const s = scratch(t)
  s.open('db').close()
  t.throws(() => RocksDatabase.open(s.path('db'), { readOnly: true, name: 'nope' }), { code: 'ERR_ROCKSDB_INVALID_ARGUMENT' })
})

test('destroy closes the database and deletes it from disk', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 1)
  await db.destroy()
  t.false(db.isOpen())
  t.false(fs.existsSync(s.path('db')))
})

test('destroy right after async writes lets them settle, then deletes the database', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const writes = Array.from({ length: 100 }, (_, i) => db.put(i, i))
  await db.destroy()
  await Promise.all(writes)
  t.false(fs.existsSync(s.path('db')))
})

test('compact keeps every key and drops the space of removed ones', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { encoding: 'binary', compression: 'none' })
  const value = Buffer.alloc(1000, 1)
  for (let i = 0; i < 2000; i++) db.putSync(i, value)
  db.flushSync()
  for (let i = 0; i < 1000; i++) db.removeSync(i)
  db.flushSync()
  const before = db.getDBIntProperty('rocksdb.total-sst-files-size')
  await db.compact()
  const after = db.getDBIntProperty('rocksdb.total-sst-files-size')
  t.true(after < before * 0.75, `${before} -> ${after}`)
  t.is(db.getKeysCount(), 1000)
  db.compactSync({ start: 1000, end: 1500 })
  t.is(db.getKeysCount({ start: 1000, end: 1500 }), 500)
})

test('properties, estimateCount and getStats read RocksDB', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 500; i++) db.putSync(i, i)
  t.is(db.getEstimatedKeyCount(), 500)
  t.deepEqual(db.estimateCount(), { count: 500, confidence: 0.5 })
  t.is(typeof db.getDBProperty('rocksdb.stats'), 'string')
  t.is(db.getDBProperty('rocksdb.no-such-property'), undefined)
  const stats = db.getStats()
  t.is(stats.estimatedKeys, 500)
  t.is(stats.entryCount, 500, "lmdb-js's name of it")
  t.true(stats.memtableBytes > 0)
  t.true(stats.sequence >= 500)
  t.throws(() => db.getDBProperty(5), { instanceOf: TypeError, message: /"name"/ })
})

test('open options users rely on are accepted and checked', (t) => {
  const s = scratch(t)
  const db = s.open('db', { disableWAL: true, parallelismThreads: 2, writeBufferSize: 1 << 20, maxOpenFiles: 100, noBlockCache: true })
  db.putSync('k', 1)
  db.flushSync() // without the WAL, only a flush makes the write durable
  db.close()
  t.is(s.open('db').getSync('k'), 1)
  t.throws(() => RocksDatabase.open(s.path('x'), { writeBufferSize: -1 }), { instanceOf: TypeError, message: /writeBufferSize/ })
  t.throws(() => RocksDatabase.open(s.path('x'), { disableWAL: 'no' }), { instanceOf: TypeError, message: /disableWAL/ })
  t.throws(() => RocksDatabase.open(s.path('x'), { name: '' }), { instanceOf: TypeError, message: /options\.name/ })
})

test('custom encoder, ordered-binary values and encoding false', (t) => {
  const s = scratch(t)
  const json = s.open('db', {
    name: 'json',
    encoder: { encode: (v) => Buffer.from(JSON.stringify(v)), decode: (b) => JSON.parse(b.toString()) },
  })
  json.putSync('k', { a: [1] })
  t.deepEqual(json.getSync('k'), { a: [1] })
  t.is(json.getBinarySync('k').toString(), '{"a":[1]}')
  const ob = s.open('db', { name: 'ob', encoding: 'ordered-binary' })
  ob.putSync('k', ['x', 2])
  t.deepEqual(ob.getSync('k'), ['x', 2])
  const raw = s.open('db', { name: 'raw', encoding: false })
  raw.putSync('k', Buffer.from('bytes'))
  t.is(raw.getSync('k').toString(), 'bytes')
  t.throws(() => s.open('db', { encoder: { encode: 1 } }), { instanceOf: TypeError, message: /options\.encoder/ })
})

test('every method of a closed handle is ERR_DATABASE_CLOSED', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { name: 'x' })
  db.close()
  for (const call of [() => db.clearSync(), () => db.dropSync(), () => db.compactSync(), () => db.getDBProperty('rocksdb.stats'), () => db.estimateCount(), () => db.columns, () => db.getStats()]) {
    t.throws(call, { code: 'ERR_DATABASE_CLOSED' })
  }
  await t.throwsAsync(db.clear(), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.compact(), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.drop(), { code: 'ERR_DATABASE_CLOSED' })
})

test("compressionForAllColumnFamilies: rocksdb-js's option, which needs a compression; the families open at the database's open take the opener's", (t) => {
  const s = scratch(t)
  for (const name of ['catalog', 'records']) {
    const db = RocksDatabase.open(s.path('db'), { name, compression: 'none' })
    db.putSync('k', 'v')
    db.close()
  }
  t.throws(() => RocksDatabase.open(s.path('db'), { name: 'catalog', compressionForAllColumnFamilies: true }), {
    instanceOf: TypeError,
    message: /requires an explicit compression option/,
  })
  const catalog = s.open('db', { name: 'catalog', compression: 'lz4', compressionForAllColumnFamilies: true })
  const records = s.open('db', { name: 'records', compression: 'lz4' })
  t.is(records.getSync('k'), 'v')
  // What RocksDB opened each family with, from its newest OPTIONS file.
  const optionsFile = fs
    .readdirSync(catalog.path)
    .filter((file) => file.startsWith('OPTIONS-'))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
    .at(-1)
  const text = fs.readFileSync(path.join(catalog.path, optionsFile), 'utf8')
  for (const name of ['catalog', 'records']) {
    const section = text.split(`[CFOptions "${name}"]`)[1].split('\n[')[0]
    t.regex(section, /\n\s*compression=kLZ4Compression/, `${name} opened with lz4`)
  }
})
