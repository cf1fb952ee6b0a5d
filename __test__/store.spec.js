'use strict'

// rocksdb-js's framework surface: Store, DBI, transactions begun on a
// store, subclassing RocksDatabase, the value encoder (Encoder classes,
// shared structures), symbol keys, and flushing every column family.

const test = require('ava')
const fs = require('node:fs')
const { Encoder } = require('msgpackr')
const { RocksDatabase, Store, DBI, Transaction } = require('..')
const { scratch } = require('./helpers')

test('a database opens on a Store, which serves it alone, even after it closed', (t) => {
  const s = scratch(t)
  const store = new Store(s.path('db'), { name: 'family' })
  t.is(store.name, 'family')
  const db = s.track(RocksDatabase.open(store))
  t.is(db.store, store)
  t.is(db.name, 'family', "the store's options are the handle's")
  db.putSync('k', 'v')
  t.is(db.getSync('k'), 'v')
  t.throws(() => new RocksDatabase(store), { message: 'Store is already in use by another RocksDatabase instance' })
  db.close()
  t.throws(() => new RocksDatabase(db.store), { message: /already in use/ })
  t.throws(() => new Store(42), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => new Store(s.path('x'), 'options'), { instanceOf: TypeError })
  // Every handle has a store of its own.
  const plain = s.open('plain')
  t.true(plain.store instanceof Store)
  t.is(plain.store.path, plain.path)
})

test('DBI is what handles and transactions share: a method added to it serves both', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('a', 1)
  db.putSync('b', 2)
  DBI.prototype.countAll = function countAll() {
    return this.store.getCount(this._context, {})
  }
  t.teardown(() => delete DBI.prototype.countAll)
  t.true(db instanceof DBI)
  t.is(db.countAll(), 2)
  await db.transaction((txn) => {
    t.true(txn instanceof DBI)
    txn.putSync('c', 3)
    t.is(txn.countAll(), 3, "a transaction counts its own writes")
    t.is(txn.store, db.store)
  })
})

test('new Transaction(db.store) acts on every family of the database and commits atomically', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.track(RocksDatabase.open(db.path, { name: 'other' }))
  other.putSync('seen', 'before')
  const txn = new Transaction(db.store)
  t.is(other.getSync('seen', { transaction: txn }), 'before')
  db.putSync('k', 'v', { transaction: txn })
  other.putSync('k', 'w', { transaction: txn })
  t.is(db.getSync('k'), undefined, 'nothing is visible before the commit')
  t.is(txn.getBinarySync('k').length > 0, true, 'the transaction reads its own write as bytes')
  await txn.commit()
  t.is(db.getSync('k'), 'v')
  t.is(other.getSync('k'), 'w')

  const aborted = new Transaction(other.store, { disableSnapshot: true })
  other.putSync('gone', 1, { transaction: aborted })
  aborted.abort()
  t.is(other.getSync('gone'), undefined)
  t.throws(() => new Transaction({}), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => new Transaction(db.store, 'x'), { instanceOf: TypeError })
  db.close()
  t.throws(() => new Transaction(db.store), { code: 'ERR_DATABASE_CLOSED' })
})

test("ranges of another family in a transaction read that family through the transaction's snapshot and writes", async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.track(RocksDatabase.open(db.path, { name: 'other', keyEncoding: 'uint32', encoding: 'ordered-binary' }))
  for (let i = 0; i < 5; i++) other.putSync(i, `v${i}`)
  db.putSync('own', 1)
  await db.transaction(async (txn) => {
    t.is(other.getKeysCount({ transaction: txn }), 5, 'the first read takes the snapshot')
    other.putSync(100, 'outside')
    t.is(other.getKeysCount({ transaction: txn }), 5, 'a commit after the snapshot is not seen')
    await other.put(7, 'mine', { transaction: txn })
    other.removeSync(0, { transaction: txn })
    t.deepEqual(
      [...other.getRange({ transaction: txn })].map(({ key, value }) => [key, value]),
      [[1, 'v1'], [2, 'v2'], [3, 'v3'], [4, 'v4'], [7, 'mine']],
      "the other family's keys and values, decoded by its handle, with the transaction's writes",
    )
    t.deepEqual([...other.getKeys({ transaction: txn, start: 3, reverse: true })], [3, 2, 1])
    t.deepEqual([...db.getKeys({ transaction: txn })], ['own'], "the transaction's own family is apart")
  })
  t.deepEqual([...other.getKeys()], [1, 2, 3, 4, 7, 100])
  const elsewhere = s.open('elsewhere')
  const foreign = new Transaction(elsewhere.store)
  t.throws(() => other.getKeys({ transaction: foreign }), { instanceOf: TypeError, message: /options\.transaction/ })
  foreign.abort()
})

test('a conflict between two transactions begun on a store rejects with ERR_BUSY and leaves it ready to run again', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('n', 0)
  const first = new Transaction(db.store)
  const second = new Transaction(db.store)
  db.putSync('n', db.getSync('n', { transaction: first }) + 1, { transaction: first })
  db.putSync('n', db.getSync('n', { transaction: second }) + 1, { transaction: second })
  await first.commit()
  await t.throwsAsync(second.commit(), { code: 'ERR_BUSY' })
  t.is(db.getSync('n'), 1)
  // The conflict reset it in place (rocksdb-js's behaviour): run again on it and commit.
  t.true(second.isOpen)
  db.putSync('n', db.getSync('n', { transaction: second }) + 1, { transaction: second })
  second.commitSync()
  t.is(db.getSync('n'), 2)
  t.throws(() => second.abort(), { code: 'ERR_TRANSACTION_DONE' }, 'committed: an abort is refused')
})

test('RocksDatabase subclasses as Harper subclasses it: overridden reads, writes and open', async (t) => {
  const s = scratch(t)
  class Index extends RocksDatabase {
    putSync(value, id, options) {
      return super.putSync([value, id], null, options)
    }

    getValues(value) {
      return super.getKeys({ start: [value], end: [value, '\uffff'] }).map((key) => key[1])
    }

    static open(pathOrStore, options) {
      return new Index(pathOrStore, options).open()
    }
  }
  const index = s.track(Index.open(s.path('index')))
  t.true(index instanceof Index)
  index.putSync('red', 'a')
  index.putSync('red', 'b')
  index.putSync('blue', 'c')
  t.deepEqual([...index.getValues('red')], ['a', 'b'])
  await index.transaction((txn) => index.putSync('red', 'd', { transaction: txn }))
  t.deepEqual([...index.getValues('red')], ['a', 'b', 'd'])
})

test('db.encoder is the msgpack encoder in use, named after the family; db.decoder can be replaced', (t) => {
  const s = scratch(t)
  const db = s.open('db', { name: 'people' })
  t.is(typeof db.encoder.encode, 'function')
  t.is(db.encoder.name, 'people')
  t.is(db.decoder, db.encoder)
  db.putSync('k', { a: 1 })
  db.decoder = { decode: (bytes) => ({ bytes: bytes.length }) }
  t.deepEqual(db.getSync('k'), { bytes: db.getBinarySync('k').length }, 'reads use the new decoder')
  t.deepEqual([...db.getRange()].map(({ value }) => value), [{ bytes: db.getBinarySync('k').length }])
  t.throws(() => (db.decoder = 5), { instanceOf: TypeError })
  t.is(s.open('raw', { encoding: false }).encoder, null, 'no encoder for stored bytes')
})

test('encoder: { Encoder } makes the database its own instance, with msgpackr options and the rest of the object', (t) => {
  const s = scratch(t)
  const made = []
  class RecordEncoder extends Encoder {
    constructor(options) {
      super(options)
      made.push(options)
    }

    decode(bytes, options) {
      const value = super.decode(bytes, options)
      return value && typeof value === 'object' ? { ...value, decoded: true } : value
    }
  }
  const db = s.open('db', { encoder: { Encoder: RecordEncoder, marker: 'x' }, freezeData: true })
  t.true(db.encoder instanceof RecordEncoder)
  t.is(made.length, 1)
  t.is(made[0].marker, 'x')
  t.true(made[0].copyBuffers)
  t.true(made[0].freezeData)
  db.putSync('k', { a: 1 })
  t.deepEqual(db.getSync('k'), { a: 1, decoded: true })
  t.deepEqual([...db.getRange()].map(({ value }) => value), [{ a: 1, decoded: true }])
})

test('sharedStructuresKey keeps msgpackr record structures in the database: values read back after a reopen and from another handle', async (t) => {
  const s = scratch(t)
  const key = Symbol.for('structures')
  const options = { sharedStructuresKey: key }
  let db = s.open('db', options)
  const records = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', i] }))
  records.forEach((record, i) => db.putSync(['r', i], record))
  const structures = db.getSync(key)
  t.true(Array.isArray(structures) && structures.length > 0, 'the structures are stored under the key')
  const plainSize = s.open('plain').encoder.encode(records[0]).length
  t.true(db.getBinarySync(['r', 0]).length < plainSize, 'records are smaller than self-describing maps')
  await db.close()
  db = s.open('db', options)
  t.deepEqual(db.getSync(['r', 7]), records[7], 'read back after a reopen')
  t.deepEqual([...db.getRange({ start: ['r'], end: ['r', 99] })].map(({ value }) => value), records)
  // A structure added by another handle of the database reaches this one.
  const other = s.track(RocksDatabase.open(db.path, options))
  other.putSync('new-shape', { completely: 'different', shape: true })
  t.deepEqual(db.getSync('new-shape'), { completely: 'different', shape: true })
  db.putSync('third-shape', { third: 3 })
  t.deepEqual(other.getSync('third-shape'), { third: 3 })
})

test('symbols are keys, alone and inside arrays, as rocksdb-js encodes them', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync(Symbol.for('meta'), 1)
  db.putSync(['k', Symbol.for('x')], 2)
  t.is(db.getSync(Symbol.for('meta')), 1)
  t.is(db.getSync(['k', Symbol.for('x')]), 2)
  const keys = [...db.getKeys()]
  t.true(keys.some((key) => key === Symbol.for('meta')))
  t.true(keys.some((key) => Array.isArray(key) && key[1] === Symbol.for('x')))
})

test('flush() and flushSync() write every column family to SST files', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { disableWAL: true })
  const other = s.track(RocksDatabase.open(db.path, { name: 'other', disableWAL: true }))
  db.putSync('a', 1)
  other.putSync('b', 2)
  const sstCount = () => fs.readdirSync(db.path).filter((name) => name.endsWith('.sst')).length
  t.is(sstCount(), 0)
  await db.flush()
  t.is(sstCount(), 2, 'the default family and the other one were flushed')
  other.putSync('c', 3)
  db.flushSync({ allowWriteStall: true })
  t.is(sstCount(), 3, "flushSync() of the default family's handle flushed the other family")
  t.throws(() => db.flushSync({ allowWriteStall: 'yes' }), { instanceOf: TypeError })
  await t.throwsAsync(db.flush(null), { instanceOf: TypeError })
})
