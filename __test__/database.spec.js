'use strict'

const test = require('ava')
const fs = require('node:fs')
const { RocksDatabase, ERROR_CODES } = require('..')
const { scratch } = require('./helpers')
const { OPEN_OPTION_NAMES } = require('../lib/options')

test('open creates missing directories and reads back what was written', async (t) => {
  const s = scratch(t)
  const db = s.open('a/b/c/db')
  t.true(db.isOpen())
  t.true(fs.existsSync(s.path('a/b/c/db/CURRENT')))
  await db.put('greeting', { hello: 'world' })
  t.deepEqual(await db.get('greeting'), { hello: 'world' })
  db.putSync('n', 42)
  t.is(db.getSync('n'), 42)
})

test('new RocksDatabase() then open() is the same as RocksDatabase.open()', (t) => {
  const s = scratch(t)
  const db = s.track(new RocksDatabase(s.path('db')))
  t.false(db.isOpen())
  t.is(db.open(), db)
  t.true(db.isOpen())
  db.putSync('k', 'v')
  t.is(db.getSync('k'), 'v')
})

test('openAsync opens on a worker thread: the event loop runs meanwhile, and the handle is as open() gives', async (t) => {
  const s = scratch(t)
  const first = s.open('db')
  first.putSync('kept', 1)
  await first.close()
  let turned = false
  setImmediate(() => {
    turned = true
  })
  // A sync open wrapped in a Promise would resume before setImmediate.
  const db = await RocksDatabase.openAsync(s.path('db'))
  t.teardown(() => db.close())
  t.true(turned)
  t.true(db.isOpen())
  t.is(db.getSync('kept'), 1)
  // Opening an open handle is nothing; concurrent calls share one open.
  t.is(await db.openAsync(), db)
  const other = new RocksDatabase(s.path('other'))
  t.teardown(() => other.close())
  const [a, b] = await Promise.all([other.openAsync(), other.openAsync()])
  t.is(a, other)
  t.is(b, other)
  other.putSync('k', 'v')
  t.is(other.getSync('k'), 'v')
})

test('openAsync rejects with the coded error open() throws; close() during it rejects with ERR_DATABASE_CLOSED', async (t) => {
  const s = scratch(t)
  const sync = t.throws(() => RocksDatabase.open(s.path('missing'), { createIfMissing: false }))
  const missing = await t.throwsAsync(RocksDatabase.openAsync(s.path('missing'), { createIfMissing: false }))
  t.true(missing.code.startsWith('ERR_ROCKSDB_'), missing.code)
  t.is(missing.code, sync.code)
  t.is(missing.message, sync.message)
  const bad = await t.throwsAsync(RocksDatabase.openAsync(s.path('bad'), { writeBufferSize: 'big' }))
  t.true(bad instanceof TypeError)
  t.regex(bad.message, /writeBufferSize/)

  const db = new RocksDatabase(s.path('db'))
  const opening = t.throwsAsync(db.openAsync())
  t.is(t.throws(() => db.open()).code, 'ERR_DATABASE_OPEN')
  await db.close()
  t.is((await opening).code, 'ERR_DATABASE_CLOSED')
  t.false(db.isOpen())
  // Nothing of it stays open: the path opens again, here and by open().
  const again = await RocksDatabase.openAsync(s.path('db'))
  again.putSync('k', 1)
  await again.close()
  t.is(s.open('db').getSync('k'), 1)
})

test('a missing key reads as undefined, sync and async', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.is(db.getSync('nope'), undefined)
  t.is(await db.get('nope'), undefined)
  t.is(db.getBinarySync('nope'), undefined)
  t.is(await db.getBinary('nope'), undefined)
})

test('remove and removeSync delete keys; removing a missing key is fine', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('a', 1)
  db.putSync('b', 2)
  db.removeSync('a')
  await db.remove('b')
  await db.remove('never-there')
  t.is(db.getSync('a'), undefined)
  t.is(await db.get('b'), undefined)
})

test('data survives close and reopen, including after flush', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 100; i++) db.putSync(i, `v${i}`)
  await db.flush()
  db.putSync('after-flush', true)
  db.close()
  const again = s.open('db')
  t.is(again.getSync(99), 'v99')
  t.is(again.getSync('after-flush'), true)
})

test('msgpack values round-trip: objects, arrays, strings, numbers, Dates, Buffers', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const values = {
    object: { a: 1, nested: { b: [1, 2, { c: 'd' }] } },
    array: [1, 'two', null, true, 3.5],
    string: 'ünïcødé ✓ 𝄞',
    integer: -123456789,
    float: Math.PI,
    date: new Date('2024-02-29T12:34:56.789Z'),
    buffer: Buffer.from([0, 1, 2, 255]),
    null: null,
    bool: false,
  }
  for (const [key, value] of Object.entries(values)) db.putSync(key, value)
  for (const [key, value] of Object.entries(values)) t.deepEqual(db.getSync(key), value, key)
  t.true(db.getSync('date') instanceof Date)
  t.true(Buffer.isBuffer(db.getSync('buffer')))
})

test('getBinary returns the stored msgpack bytes', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 'hi')
  const bytes = await db.getBinary('k')
  t.true(Buffer.isBuffer(bytes))
  // msgpack fixstr: 0xa0 | length, then the UTF-8 bytes
  t.deepEqual([...bytes], [0xa2, 0x68, 0x69])
  t.deepEqual(db.getBinarySync('k'), bytes)
})

test("encoding: 'binary' stores raw bytes, strings as UTF-8, and refuses other values", async (t) => {
  const s = scratch(t)
  const db = s.open('db', { encoding: 'binary', keyEncoding: 'binary' })
  const key = Buffer.from([0, 0, 1])
  const value = Buffer.from([9, 8, 7, 0])
  db.putSync(key, value)
  t.deepEqual(db.getSync(key), value)
  await db.put(Buffer.from([1]), new Uint8Array([5]))
  t.deepEqual([...(await db.get(Buffer.from([1])))], [5])
  // Strings are stored as their UTF-8 bytes, as rocksdb-js stores them.
  db.putSync('string key', 'text')
  t.deepEqual(db.getSync(Buffer.from('string key')), Buffer.from('text'))
  const error = t.throws(() => db.putSync(key, 42), { instanceOf: TypeError })
  t.is(error.code, 'ERR_INVALID_ARG_TYPE')
  t.regex(error.message, /"value"/)
  t.regex(error.message, /^Invalid value put in database \(number\)/)
  t.throws(() => db.putSync(7, value), { instanceOf: TypeError, message: /"key"/ })
  t.throws(() => db.putSync('', value), { instanceOf: TypeError, message: /Zero length key.*"key"/ })
})

test('ordered-binary keys: strings, numbers, arrays and Buffers address distinct entries', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const keys = ['1', 1, [1], ['a', 1], ['a', '1'], Buffer.from('xyz'), true, -5.5]
  keys.forEach((key, i) => db.putSync(key, i))
  keys.forEach((key, i) => t.is(db.getSync(key), i, JSON.stringify(key)))
})

test('ordered-binary keys sort by type then value: numbers numerically, strings by code point', (t) => {
  const s = scratch(t)
  const db = s.open('db', { encoding: 'binary' })
  const keys = [-1000, -1.5, 0, 2, 10, 1e9, 'A', 'a', 'aa', 'b', ['a', 2], ['a', 10]]
  // The encoded bytes, compared as RocksDB compares them, order like the values.
  const { toBufferKey } = require('ordered-binary')
  const sorted = [...keys].sort((x, y) => Buffer.compare(toBufferKey(x), toBufferKey(y)))
  t.deepEqual(sorted.slice(0, 6), [-1000, -1.5, 0, 2, 10, 1e9])
  t.deepEqual(sorted.filter((k) => typeof k === 'string'), ['A', 'a', 'aa', 'b'])
  t.deepEqual(sorted.filter(Array.isArray), [['a', 2], ['a', 10]])
  for (const key of keys) db.putSync(key, Buffer.from('x'))
  t.deepEqual(db.getSync(10), Buffer.from('x'))
})

test('empty keys and keys of the wrong type are TypeErrors naming the key', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (const key of ['', [], undefined, null, {}, () => 1, 10n, [{}]]) {
    const error = t.throws(() => db.putSync(key, 1), { instanceOf: TypeError })
    t.regex(error.message, /"key"/)
    t.true(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'].includes(error.code))
    await t.throwsAsync(db.get(key), { instanceOf: TypeError })
  }
})

test('a key too large for ordered-binary and a value msgpack cannot encode are TypeErrors naming them', async (t) => {
  const db = scratch(t).open('db')
  const huge = 'k'.repeat(100_000)
  const tooLarge = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /"key".*too large/ }
  t.throws(() => db.putSync(huge, 1), tooLarge)
  t.throws(() => db.getSync(huge), tooLarge)
  await t.throwsAsync(db.put(huge, 1), tooLarge)
  await t.throwsAsync(db.get(huge), tooLarge)
  t.throws(() => [...db.getRange({ start: huge })], tooLarge)
  t.throws(() => db.transactionSync((txn) => txn.putSync([huge, 1], 1)), tooLarge)
  // A long key of raw bytes is fine.
  const raw = scratch(t).open('raw', { keyEncoding: 'binary' })
  raw.putSync(Buffer.alloc(100_000, 1), 'long')
  t.is(raw.getSync(Buffer.alloc(100_000, 1)), 'long')

  const unencodable = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /"value".*msgpack/ }
  t.throws(() => db.putSync('k', Symbol('no')), unencodable)
  await t.throwsAsync(db.put('k', { nested: Symbol('no') }), unencodable)
  t.throws(() => db.transactionSync((txn) => txn.putSync('k', Symbol('no'))), unencodable)
  const ordered = scratch(t).open('ordered', { encoding: 'ordered-binary' })
  t.throws(() => ordered.putSync('k', huge), { instanceOf: TypeError, message: /"value".*too large/ })
  t.is(db.getSync('k'), undefined)
})

test('options of the wrong type get a TypeError naming the option', (t) => {
  const s = scratch(t)
  const cases = [
    [{ readOnly: 'yes' }, 'options.readOnly'],
    [{ compression: 5 }, 'options.compression'],
    [{ compression: 'snappy-ish' }, 'options.compression'],
    [{ encoding: 'json5' }, 'options.encoding'],
    [{ keyEncoding: 7 }, 'options.keyEncoding'],
    ['fast', 'options'],
  ]
  for (const [options, name] of cases) {
    const error = t.throws(() => RocksDatabase.open(s.path('db'), options), { instanceOf: TypeError })
    t.true(error.message.includes(`"${name}"`), error.message)
  }
  t.throws(() => RocksDatabase.open(42), { instanceOf: TypeError, message: /"path"/ })
  t.throws(() => RocksDatabase.open(''), { instanceOf: TypeError, message: /"path"/ })
})

for (const compression of ['none', 'lz4', 'zstd']) {
  test(`compression '${compression}' writes SST files that read back`, (t) => {
    const s = scratch(t)
    const db = s.open('db', { compression })
    const value = 'compressible '.repeat(200)
    for (let i = 0; i < 500; i++) db.putSync(i, value)
    db.flushSync()
    db.close()
    const again = s.open('db', { compression })
    t.is(again.getSync(250), value)
    const sst = fs.readdirSync(s.path('db')).filter((f) => f.endsWith('.sst'))
    t.true(sst.length > 0)
    const size = sst.reduce((sum, f) => sum + fs.statSync(s.path('db', f)).size, 0)
    if (compression === 'none') t.true(size > 500 * value.length, `uncompressed ${size}`)
    else t.true(size < 500 * value.length / 4, `${compression} ${size}`)
  })
}

test('readOnly refuses writes with ERR_DATABASE_READ_ONLY and still reads', async (t) => {
  const s = scratch(t)
  const writer = s.open('db')
  writer.putSync('k', 'v')
  writer.close()
  const reader = s.open('db', { readOnly: true })
  t.true(reader.readOnly)
  t.is(reader.getSync('k'), 'v')
  t.throws(() => reader.putSync('k', 'w'), { code: 'ERR_DATABASE_READ_ONLY' })
  await t.throwsAsync(reader.put('k', 'w'), { code: 'ERR_DATABASE_READ_ONLY' })
  await t.throwsAsync(reader.remove('k'), { code: 'ERR_DATABASE_READ_ONLY' })
})

test('readOnly on a missing database fails with a RocksDB code instead of creating it', (t) => {
  const s = scratch(t)
  const error = t.throws(() => RocksDatabase.open(s.path('missing'), { readOnly: true }))
  t.true(error.code.startsWith('ERR_ROCKSDB_'), error.code)
  t.false(fs.existsSync(s.path('missing', 'CURRENT')))
})

test('two handles of one path in a process share one RocksDB; closing one leaves the other open', (t) => {
  const s = scratch(t)
  const a = s.open('db')
  const b = s.open('db')
  a.putSync('k', 'from a')
  t.is(b.getSync('k'), 'from a')
  a.close()
  t.is(b.getSync('k'), 'from a')
  b.putSync('k2', 2)
  t.is(b.getSync('k2'), 2)
})

test('another process opening a database held open here gets the RocksDB lock error', (t) => {
  const s = scratch(t)
  s.open('db')
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(require('node:path').resolve(__dirname, '..'))})
    try { RocksDatabase.open(${JSON.stringify(s.path('db'))}); console.log('{}') }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  const child = require('node:child_process').spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  const outcome = JSON.parse(child.stdout.trim())
  t.is(outcome.code, 'ERR_ROCKSDB_IO_ERROR')
  t.regex(outcome.message, /lock/i)
})

test('verifyChecksums reads every SST file of the live database; a flipped byte is ERR_ROCKSDB_CORRUPTION', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { compression: 'none' })
  for (let i = 0; i < 2000; i++) db.putSync(`k${i}`, 'v'.repeat(100))
  db.flushSync()
  await db.verifyChecksums()
  await db.close()
  const sst = fs.readdirSync(db.path).find((f) => f.endsWith('.sst'))
  const file = `${db.path}/${sst}`
  const bytes = fs.readFileSync(file)
  bytes[100] ^= 0xff // inside the first data block
  fs.writeFileSync(file, bytes)
  const again = s.open('db', { compression: 'none' })
  await t.throwsAsync(again.verifyChecksums(), { code: 'ERR_ROCKSDB_CORRUPTION' })
  await again.close()
  await t.throwsAsync(again.verifyChecksums(), { code: 'ERR_DATABASE_CLOSED' })
})

test('a closed database is an error with ERR_DATABASE_CLOSED, never a crash', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 1)
  db.close()
  db.close() // idempotent
  t.false(db.isOpen())
  t.throws(() => db.getSync('k'), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.putSync('k', 2), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.removeSync('k'), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.flushSync(), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.get('k'), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.put('k', 2), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.remove('k'), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.flush(), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.createCheckpoint(s.path('cp')), { code: 'ERR_DATABASE_CLOSED' })
  t.false(fs.existsSync(s.path('cp')))
  // and it can be opened again
  t.is(db.open().getSync('k'), 1)
  const never = new RocksDatabase(s.path('other'))
  t.throws(() => never.getSync('k'), { code: 'ERR_DATABASE_CLOSED' })
})

test('close with reads and writes in flight settles them all without crashing', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const pending = []
  for (let i = 0; i < 200; i++) pending.push(db.put(i, i), db.get(i))
  db.close()
  const results = await Promise.allSettled(pending)
  for (const result of results) {
    if (result.status === 'rejected') t.is(result.reason.code, 'ERR_DATABASE_CLOSED')
  }
  // Every write that was acknowledged is on disk after reopening.
  const again = s.open('db')
  for (let i = 0; i < 200; i++) {
    if (results[2 * i].status === 'fulfilled') t.is(again.getSync(i), i)
  }
})

/** RocksDB's count of write batches and of keys written, from its DB stats. */
function writeCounts(db) {
  const [, batches, keys] = /Cumulative writes: (\d+) writes, (\d+) keys/.exec(db.getDBProperty('rocksdb.dbstats'))
  return { batches: Number(batches), keys: Number(keys) }
}

test('async puts and removes made together go to RocksDB as one batch, in the order made', async (t) => {
  const db = scratch(t).open('db')
  const before = writeCounts(db)
  const writes = []
  for (let i = 0; i < 1000; i++) writes.push(db.put(i, `v${i}`))
  for (let i = 0; i < 1000; i += 2) writes.push(db.remove(i))
  writes.push(db.put(0, 'last word'))
  await Promise.all(writes)
  const after = writeCounts(db)
  t.is(after.keys - before.keys, 1501)
  t.is(after.batches - before.batches, 1)
  t.is(db.getSync(0), 'last word')
  t.is(db.getSync(2), undefined)
  t.is(db.getSync(999), 'v999')
  t.is(db.getKeysCount(), 501)
  // Awaited one by one, each put is a batch of its own.
  for (let i = 0; i < 5; i++) await db.put(`one ${i}`, i)
  t.is(writeCounts(db).batches - after.batches, 5)
})

test('writes made while a batch is being written wait for it and go out together', async (t) => {
  const db = scratch(t).open('db')
  const before = writeCounts(db)
  const first = db.put('first', 1)
  await Promise.resolve() // the first batch is on its way
  const rest = []
  for (let i = 0; i < 100; i++) rest.push(db.put(i, i))
  await Promise.all([first, ...rest])
  t.is(writeCounts(db).batches - before.batches, 2)
  t.is(db.getSync(99), 99)
})

test('a bad write among async writes rejects alone; a batch that fails rejects all its writes', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const good = db.put('good', 1)
  const bad = db.put('', 2)
  const alsoBad = db.put({}, 3)
  await good
  await t.throwsAsync(bad, { instanceOf: TypeError, message: /"key"/ })
  await t.throwsAsync(alsoBad, { instanceOf: TypeError })
  t.is(db.getSync('good'), 1)
  // Another handle drops the family before the batch is written.
  const family = s.open('db', { name: 'doomed' })
  const other = s.open('db', { name: 'doomed' })
  const doomed = [family.put('a', 1), family.put('b', 2), family.remove('c')]
  other.dropSync()
  for (const write of doomed) await t.throwsAsync(write, { code: 'ERR_COLUMN_FAMILY_DROPPED' })
})

test('async writes made just before close() are written', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const writes = [db.put('a', 1), db.put('b', 2), db.remove('c')]
  db.close()
  await Promise.all(writes)
  await t.throwsAsync(db.put('late', 1), { code: 'ERR_DATABASE_CLOSED' })
  const again = s.open('db')
  t.is(again.getSync('a'), 1)
  t.is(again.getSync('b'), 2)
  t.is(again.getSync('late'), undefined)
})

test('get() answers from memory with the value itself (rocksdb-js’s MaybePromise) and with a Promise only when the disk is needed', async (t) => {
  const s = scratch(t)
  let db = s.open('db')
  db.putSync('memtable', { in: 'memory' })
  const memtable = db.get('memtable')
  t.false(memtable instanceof Promise, 'a value in the memtable is returned as it is')
  t.deepEqual(memtable, { in: 'memory' })
  t.is(db.get('missing'), undefined)
  t.deepEqual(db.getBinary('memtable'), db.getBinarySync('memtable'))
  t.deepEqual(await db.get('memtable'), { in: 'memory' }, 'awaiting works either way')

  for (let i = 0; i < 1000; i++) db.putSync(i, `value ${i}`)
  db.flushSync()
  db.close()
  db = s.open('db') // a new RocksDB instance: its block cache is empty
  const cold = db.get(500)
  t.true(cold instanceof Promise, 'the first read of a flushed block needs the disk')
  t.is(await cold, 'value 500')
  const warm = db.get(501) // in the block now cached
  t.false(warm instanceof Promise)
  t.is(warm, 'value 501')
  const coldBinary = s.open('db', { encoding: 'binary' }).getBinary('memtable')
  t.deepEqual(await coldBinary, db.getBinarySync('memtable'))

  // Errors are rejected Promises, never thrown.
  const closed = s.open('closed')
  closed.close()
  t.is((await t.throwsAsync(closed.get('x'))).code, 'ERR_DATABASE_CLOSED')

  // Values too large for the shared buffer take the pool, whole.
  const big = Buffer.alloc(200_000, 3)
  db.putSync('big', big)
  t.deepEqual(await db.get('big'), big)
  t.deepEqual((await db.getBinary('big')).length, db.getBinarySync('big').length)

  // The value of a get() is its own: later reads do not change it.
  db.putSync('a', Buffer.from('first'))
  db.putSync('b', Buffer.from('second'))
  const [a, b] = await Promise.all([db.get('a'), db.get('b')])
  t.is(a.toString(), 'first')
  t.is(b.toString(), 'second')
})

test('values of 10 MB round-trip', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { encoding: 'binary' })
  const big = Buffer.alloc(10 * 1024 * 1024)
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
  await db.put('big', big)
  t.true((await db.get('big')).equals(big))
  t.true(db.getSync('big').equals(big))
})

test('every error code is listed in the README', (t) => {
  const readme = fs.readFileSync(require.resolve('../README.md'), 'utf8')
  for (const code of ERROR_CODES) t.true(readme.includes(`\`${code}\``), `${code} missing from README`)
})

test('the README lists every open option, and no other, in its options table', (t) => {
  const readme = fs.readFileSync(require.resolve('../README.md'), 'utf8')
  const table = readme.slice(readme.indexOf('| option | default | meaning |'))
  const listed = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1])
  t.deepEqual([...listed].sort(), [...OPEN_OPTION_NAMES].sort())
})

test('long keys and large values take the general path and read back the same', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const longKey = 'k'.repeat(5000)
  const bigValue = { blob: Buffer.alloc(200 * 1024, 3), text: 'x'.repeat(100_000) }
  db.putSync(longKey, bigValue)
  t.deepEqual(db.getSync(longKey), bigValue)
  db.putSync(['array', 'key'], 'via the general path')
  t.is(db.getSync(['array', 'key']), 'via the general path')
  db.removeSync(longKey)
  t.is(db.getSync(longKey), undefined)
})

test('a value read by getSync stays intact after later reads', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('a', { bytes: Buffer.from([1, 2, 3]), text: 'first' })
  db.putSync('b', { bytes: Buffer.from([9, 9, 9]), text: 'second' })
  const first = db.getSync('a')
  const second = db.getSync('b')
  t.deepEqual([...first.bytes], [1, 2, 3])
  t.is(first.text, 'first')
  t.deepEqual([...second.bytes], [9, 9, 9])
  const raw = s.open('raw', { encoding: 'binary' })
  raw.putSync('x', Buffer.from([7]))
  raw.putSync('y', Buffer.from([8]))
  const x = raw.getSync('x')
  raw.getSync('y')
  t.deepEqual([...x], [7])
})
