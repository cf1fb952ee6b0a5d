'use strict'

// The process's shared memory budget: one block cache for every database,
// which branches sharing SST files (hardlinks) share blocks in, and an
// optional write buffer manager over all memtables. The budget is
// process-wide, so these tests run one at a time (ava gives each test file
// a process of its own).

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const KEYS = 5000
const VALUE = Buffer.alloc(100, 0x61)
const key = (i) => `key${String(i).padStart(6, '0')}`

async function baseWithData(s) {
  const base = s.open('base', { encoding: 'binary' })
  for (let i = 0; i < KEYS; i++) base.putSync(key(i), VALUE)
  base.flushSync()
  base.compactSync()
  return base
}

function readAll(db) {
  for (let i = 0; i < KEYS; i++) if (db.getSync(key(i)) === undefined) throw new Error(`missing ${key(i)}`)
}

test.serial('branches share the blocks of the files they share: the cache holds them once', async (t) => {
  RocksDatabase.config({ blockCacheSize: 64 * 1024 * 1024 })
  const s = scratch(t)
  const base = await baseWithData(s)
  const first = path.join(s.dir, 'b0')
  await base.createCheckpoint(first)
  const one = s.track(RocksDatabase.open(first, { encoding: 'binary' }))
  const before = RocksDatabase.memoryUsage().blockCacheUsage
  readAll(one)
  const afterOne = RocksDatabase.memoryUsage().blockCacheUsage
  const oneBranch = afterOne - before
  t.true(oneBranch > KEYS * 50, `reading ${KEYS} keys caches their blocks (${oneBranch} bytes)`)
  for (let b = 1; b <= 10; b++) {
    const target = path.join(s.dir, `b${b}`)
    await base.createCheckpoint(target)
    readAll(s.track(RocksDatabase.open(target, { encoding: 'binary' })))
  }
  const afterEleven = RocksDatabase.memoryUsage().blockCacheUsage
  t.log(`cache: ${before} bytes, +${oneBranch} for one branch, ${afterEleven} after eleven`)
  // Eleven private caches would hold eleven copies; the shared one holds one
  // (plus the few blocks each branch's own new files add).
  t.true(afterEleven - before < 1.5 * oneBranch, `eleven branches cached ${afterEleven - before} bytes, one ${oneBranch}`)
})

test.serial('a smaller block cache is resized in place and bounds what open databases cache; 0 opens without one', async (t) => {
  const s = scratch(t)
  const base = await baseWithData(s)
  RocksDatabase.config({ blockCacheSize: 64 * 1024 })
  readAll(base)
  const usage = RocksDatabase.memoryUsage()
  t.is(usage.blockCacheCapacity, 64 * 1024)
  // Blocks in use are pinned past the capacity; the rest is evicted.
  t.true(usage.blockCacheUsage <= 64 * 1024 + usage.blockCachePinned + 16 * 1024, JSON.stringify(usage))

  RocksDatabase.config({ blockCacheSize: 0 })
  const uncached = s.open('uncached', { encoding: 'binary' })
  uncached.putSync('k', VALUE)
  uncached.flushSync()
  t.deepEqual(uncached.getSync('k'), VALUE)
  t.is(RocksDatabase.memoryUsage().blockCacheUsage, 0)
  RocksDatabase.config({ blockCacheSize: 64 * 1024 * 1024 })
})

test.serial('a write buffer manager flushes memtables of all databases once they pass its budget', async (t) => {
  RocksDatabase.config({ writeBufferManagerSize: 1024 * 1024 })
  t.teardown(() => RocksDatabase.config({ writeBufferManagerSize: 0 }))
  const s = scratch(t)
  const dbs = [0, 1, 2].map((i) => s.open(`db${i}`, { encoding: 'binary' }))
  // 3 MB into databases whose own memtables (64 MiB) would never flush.
  for (let i = 0; i < 10_000; i++) dbs[i % 3].putSync(key(i), VALUE)
  const sst = (db) => fs.readdirSync(db.path).filter((f) => f.endsWith('.sst')).length
  // The flush runs on RocksDB's threads: wait for it, up to 5 s on a busy machine.
  for (let i = 0; i < 100 && dbs.every((db) => sst(db) === 0); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.true(dbs.some((db) => sst(db) > 0), 'the budget made RocksDB flush')
  t.true(RocksDatabase.memoryUsage().writeBufferUsage > 0)
  for (let i = 0; i < 10_000; i++) t.deepEqual(dbs[i % 3].getSync(key(i)), VALUE)
})

test.serial('writeBufferManagerAllowStall is refused: RocksDB would stall optimistic databases for good', (t) => {
  t.throws(() => RocksDatabase.config({ writeBufferManagerSize: 2 * 1024 * 1024, writeBufferManagerAllowStall: true }), {
    code: 'ERR_ROCKSDB_NOT_SUPPORTED',
    message: /writeBufferManagerAllowStall/,
  })
  t.is(RocksDatabase.memoryUsage().writeBufferUsage, 0, 'nothing was configured')
})

test.serial('with the budget charged to the block cache, memtables show in its usage and are flushed early', async (t) => {
  RocksDatabase.config({ writeBufferManagerSize: 2 * 1024 * 1024, writeBufferManagerCostToCache: true })
  t.teardown(() => RocksDatabase.config({ writeBufferManagerSize: 0, writeBufferManagerCostToCache: false }))
  const s = scratch(t)
  const db = s.open('db', { encoding: 'binary' })
  // 6 MB in batches: RocksDB checks the budget before each write.
  for (let i = 0; i < 40_000; i += 1000) {
    const batch = []
    for (let j = i; j < i + 1000; j++) batch.push(db.put(key(j), VALUE))
    await Promise.all(batch)
  }
  const usage = RocksDatabase.memoryUsage()
  t.true(usage.blockCacheUsage >= usage.writeBufferUsage, JSON.stringify(usage))
  for (let i = 0; i < 40_000; i += 97) t.deepEqual(db.getSync(key(i)), VALUE)
  const flushed = () => fs.readdirSync(db.path).some((f) => f.endsWith('.sst'))
  // The flush runs on RocksDB's threads: wait for it, up to 5 s on a busy machine.
  for (let i = 0; i < 100 && !flushed(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.true(flushed(), 'the budget made RocksDB flush')
})

test.serial('config refuses options of the wrong type or out of range', (t) => {
  t.throws(() => RocksDatabase.config(), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => RocksDatabase.config({ blockCacheSize: '1MB' }), { instanceOf: TypeError, message: /options\.blockCacheSize/ })
  t.throws(() => RocksDatabase.config({ writeBufferManagerAllowStall: 1 }), { instanceOf: TypeError, message: /writeBufferManagerAllowStall/ })
  t.throws(() => RocksDatabase.config({ blockCacheSize: -1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => RocksDatabase.config({ writeBufferManagerSize: 1.5 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => RocksDatabase.config({ blockCacheSize: 2 ** 60 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.is(RocksDatabase.memoryUsage().blockCacheCapacity, 64 * 1024 * 1024, 'a refused config changes nothing')
})
