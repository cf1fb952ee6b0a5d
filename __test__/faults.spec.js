'use strict'

// Each test here reproduces a defect a fault hunt found: re-entrant user
// code, checkpoint registry races, deletions outside our directories,
// transactions and engines outliving close(), unbounded options, uncoded
// errors. They fail on the code before the fixes.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { addExtension } = require('msgpackr')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const root = path.resolve(__dirname, '..')

// --- 1. Re-entrancy -------------------------------------------------------

test('a value getter that reads the database cannot redirect putSync to another key', (t) => {
  const db = scratch(t).open('db')
  db.putSync('zzzz', 'other')
  db.putSync('a', {
    get x() {
      return db.getSync('zzzz')
    },
  })
  t.deepEqual(db.getSync('a'), { x: 'other' })
  t.is(db.getSync('z'), undefined)
  t.deepEqual([...db.getKeys()], ['a', 'zzzz'])
})

test('a value getter that writes and removes during putSync leaves every key where it belongs', (t) => {
  const db = scratch(t).open('db')
  db.putSync('gone', 1)
  db.putSync('outer', {
    get inner() {
      db.putSync('nested-key-that-is-longer', 'n')
      db.removeSync('gone')
      return 'i'
    },
  })
  t.deepEqual(db.getSync('outer'), { inner: 'i' })
  t.is(db.getSync('nested-key-that-is-longer'), 'n')
  t.is(db.getSync('gone'), undefined)
})

test('a Proxy value whose traps use the database is stored under its own key', (t) => {
  const db = scratch(t).open('db')
  db.putSync('b', 'bee')
  const value = new Proxy(
    { p: 1 },
    {
      get(target, prop) {
        db.getSync('b')
        db.putSync(`trap-${String(prop).length}`, 1)
        return Reflect.get(target, prop)
      },
    },
  )
  db.putSync('proxy', value)
  t.deepEqual(db.getSync('proxy'), { p: 1 })
  t.is(db.getSync('b'), 'bee')
})

test('a custom decoder that reads the database while a range is decoded neither crashes nor corrupts it', (t) => {
  const s = scratch(t)
  let db
  let nested = false
  const encoder = {
    encode: (value) => Buffer.from(JSON.stringify(value)),
    decode(bytes) {
      // A read of another key, and a read of a large value, in the middle of
      // decoding the batch that the shared buffer holds.
      if (!nested) {
        nested = true
        try {
          // Values larger than the entries decoded so far: read through the
          // shared buffer, they would overwrite the rest of the batch.
          db.getSync('big')
          db.getSync('medium')
        } finally {
          nested = false
        }
      }
      return JSON.parse(bytes.toString())
    },
  }
  db = s.open('db', { encoder })
  for (let i = 0; i < 100; i++) db.putSync(i, { i, pad: 'x'.repeat(i) })
  db.putSync('big', { pad: 'y'.repeat(100_000) })
  db.putSync('medium', { pad: 'z'.repeat(8_000) })
  const entries = [...db.getRange({ start: 0, end: 100 })]
  t.is(entries.length, 100)
  entries.forEach((entry, i) => {
    t.is(entry.key, i)
    t.is(entry.value.i, i)
  })
  t.deepEqual(db.getSync(7), { i: 7, pad: 'xxxxxxx' })
})

test('a msgpack extension that reads the database while a value is decoded in place leaves the value intact', async (t) => {
  const db = scratch(t).open('db')
  class Tagged {
    constructor(tag) {
      this.tag = tag
    }
  }
  const nested = []
  addExtension({
    Class: Tagged,
    type: 77,
    pack: (value) => Buffer.from(value.tag),
    unpack(bytes) {
      // Reads through the shared buffer that the outer value is decoded from.
      nested.push(db.getSync('other'), db.get('other'))
      return new Tagged(bytes.toString())
    },
  })
  db.putSync('other', { other: 'o'.repeat(300) })
  db.putSync('k', { first: new Tagged('t'), tail: 'k'.repeat(200) })
  for (const value of [db.getSync('k'), await db.get('k'), [...db.getRange({ start: 'k', end: 'l' })][0].value]) {
    t.is(value.first.tag, 't')
    t.is(value.tail, 'k'.repeat(200))
  }
  for (const value of await Promise.all(nested)) t.is(value.other, 'o'.repeat(300))
})

test('a custom encoder that writes during put() and putSync() does not mix up keys', async (t) => {
  const s = scratch(t)
  let db
  const encoder = {
    encode(value) {
      if (value.nest) db.putSync(`nested-${value.nest}`, { plain: true })
      return Buffer.from(JSON.stringify(value))
    },
    decode: (bytes) => JSON.parse(bytes.toString()),
  }
  db = s.open('db', { encoder })
  db.putSync('sync', { nest: 'a' })
  await db.put('async', { nest: 'b' })
  t.deepEqual(db.getSync('sync'), { nest: 'a' })
  t.deepEqual(db.getSync('async'), { nest: 'b' })
  t.deepEqual(db.getSync('nested-a'), { plain: true })
  t.deepEqual(db.getSync('nested-b'), { plain: true })
})

test('closing the database from a decoder ends the operation with ERR_DATABASE_CLOSED, not a crash', (t) => {
  const s = scratch(t)
  let db
  let armed = false
  const encoder = {
    encode: (value) => Buffer.from(JSON.stringify(value)),
    decode(bytes) {
      if (armed) db.close()
      return JSON.parse(bytes.toString())
    },
  }
  db = s.open('db', { encoder })
  for (let i = 0; i < 100; i++) db.putSync(i, i)
  armed = true
  t.throws(() => [...db.getRange()], { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.getSync(1), { code: 'ERR_DATABASE_CLOSED' })
})

// --- 2, 3. Checkpoint registry across handles and threads ------------------

test('opening a second handle while a checkpoint is being made leaves it whole', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 1000; i++) db.putSync(i, 'v'.repeat(100))
  // The column families exist already: the second handle only opens one.
  for (let f = 0; f < 3; f++) RocksDatabase.open(db.path, { name: `family-${f}` }).close()
  const dir = `${db.path}.checkpoints`
  const inFlight = () => fs.existsSync(dir) && fs.readdirSync(dir).some((entry) => !entry.startsWith('registry.'))
  for (let i = 0; i < 20; i++) {
    for (let k = 0; k < 1000; k++) db.putSync(k, `${i}`.repeat(100)) // a memtable for the checkpoint to flush
    const known = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    const creating = db.checkpoints.create(`c${i}`)
    // Open the second handle while RocksDB writes the checkpoint's directory.
    while (!(fs.existsSync(dir) && fs.readdirSync(dir).some((entry) => !known.has(entry) && !entry.startsWith('registry.')))) {
      await new Promise((resolve) => setImmediate(resolve))
    }
    const second = RocksDatabase.open(db.path, { name: `family-${i % 3}` })
    second.close()
    const info = await creating
    t.true(fs.existsSync(path.join(info.path, 'CURRENT')), `checkpoint ${i}`)
  }
  t.true(inFlight())
  t.is(db.checkpoints.list().length, 20)
  for (const info of db.checkpoints.list()) t.true(fs.existsSync(path.join(info.path, 'CURRENT')))
})

test('checkpoints created from several worker threads at once are all recorded', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 100; i++) db.putSync(i, i)
  const workers = 4
  const each = 10
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(workerData.path)
    ;(async () => {
      for (let i = 0; i < workerData.each; i++) await db.checkpoints.create('w' + workerData.id + '-' + i)
      await db.close()
      parentPort.postMessage('done')
    })().catch((error) => parentPort.postMessage(error.code + ' ' + error.message))`
  const results = await Promise.all(
    Array.from({ length: workers }, (_, id) => {
      const worker = new Worker(script, { eval: true, workerData: { path: db.path, id, each } })
      return new Promise((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
    }),
  )
  t.deepEqual(results, Array(workers).fill('done'))
  const names = db.checkpoints.list().map((c) => c.name)
  t.is(names.length, workers * each)
  await db.close()
  const again = s.open('db')
  t.is(again.checkpoints.list().length, workers * each, 'nothing is pruned at the next open')
  for (const info of again.checkpoints.list()) t.true(fs.existsSync(path.join(info.path, 'CURRENT')))
})

// --- 4. Never delete outside our own directories ---------------------------

test('checkpointsPath set to an existing folder keeps the folder’s own entries', async (t) => {
  const s = scratch(t)
  const mine = s.path('my-folder')
  fs.mkdirSync(mine)
  const userDir = path.join(mine, '9b2e4f7a-1c3d-4e5f-8a9b-0c1d2e3f4a5b')
  fs.mkdirSync(userDir)
  fs.writeFileSync(path.join(userDir, 'precious.txt'), 'keep me')
  fs.writeFileSync(path.join(mine, '0c1d2e3f-4a5b-4e5f-8a9b-9b2e4f7a1c3d.tmp'), 'keep me too')
  const db = s.open('db', { checkpointsPath: mine })
  await db.checkpoints.create('one')
  await db.close()
  s.open('db', { checkpointsPath: mine })
  t.is(fs.readFileSync(path.join(userDir, 'precious.txt'), 'utf8'), 'keep me')
  t.true(fs.existsSync(path.join(mine, '0c1d2e3f-4a5b-4e5f-8a9b-9b2e4f7a1c3d.tmp')))
})

test('a registry record whose id leaves the directory is refused, never deleted', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  await db.checkpoints.create('real')
  const victim = s.path('victim')
  fs.mkdirSync(victim)
  fs.writeFileSync(path.join(victim, 'data'), 'x')
  const registryFile = path.join(`${db.path}.checkpoints`, 'registry.json')
  const registry = JSON.parse(fs.readFileSync(registryFile, 'utf8'))
  registry.checkpoints.push({ ...registry.checkpoints[0], id: '../victim', name: 'evil' })
  fs.writeFileSync(registryFile, JSON.stringify(registry))
  await t.throwsAsync(db.checkpoints.delete('evil'), { code: 'ERR_CHECKPOINT_REGISTRY_CORRUPT' })
  await t.throwsAsync(db.checkpoints.prune(), { code: 'ERR_CHECKPOINT_REGISTRY_CORRUPT' })
  t.throws(() => db.checkpoints.list(), { code: 'ERR_CHECKPOINT_REGISTRY_CORRUPT' })
  await db.close()
  s.open('db')
  t.true(fs.existsSync(path.join(victim, 'data')))
})

test('a checkpoint target inside the database directory is refused, however it is spelt', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 'v')
  fs.symlinkSync(db.path, s.path('alias'))
  for (const target of [path.join(db.path, '999999.log'), path.join(db.path, 'sub', 'cp'), db.path, s.path('alias', 'cp'), `${db.path}/x/../y`]) {
    const error = await t.throwsAsync(db.createCheckpoint(target), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.regex(error.message, /"targetPath".*inside the database directory/)
  }
  t.false(fs.existsSync(path.join(db.path, '999999.log')))
  t.false(fs.existsSync(path.join(db.path, 'sub')))
  t.is(db.getSync('k'), 'v')
  await t.throwsAsync(RocksDatabase.open(s.path('db2')).branch(path.join(s.path('db2'), 'b')), { code: 'ERR_INVALID_ARG_VALUE' })
})

// --- 5, 6. close(): transactions, engine release ----------------------------

for (const pessimistic of [false, true]) {
  const mode = pessimistic ? 'pessimistic' : 'optimistic'
  test(`close() aborts an open ${mode} transaction: its commit rejects with ERR_DATABASE_CLOSED and the LOCK is released`, async (t) => {
    const s = scratch(t)
    const db = s.open('db', { pessimistic })
    db.putSync('k', 0)
    let resume
    const gate = new Promise((resolve) => (resume = resolve))
    const running = db.transaction(async (txn) => {
      txn.getSync('k')
      txn.putSync('k', 1)
      await gate
    })
    await new Promise((resolve) => setImmediate(resolve))
    await db.close()
    resume()
    await t.throwsAsync(running, { code: 'ERR_DATABASE_CLOSED' })
    // Another process can open the database at once.
    const child = spawnSync(
      process.execPath,
      ['-e', `const { RocksDatabase } = require(${JSON.stringify(root)}); const db = RocksDatabase.open(${JSON.stringify(db.path)}); console.log(JSON.stringify(db.getSync('k'))); db.close()`],
      { encoding: 'utf8' },
    )
    t.is(child.status, 0, child.stderr)
    t.is(child.stdout.trim(), '0', 'the aborted write is not there')
  })
}

test('a write-only transaction and a manual one behave alike after close()', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const manual = []
  const running = db.transaction(async (txn) => {
    txn.putSync('w', 1)
    manual.push(txn)
    await new Promise((resolve) => setTimeout(resolve, 20))
  })
  await new Promise((resolve) => setImmediate(resolve))
  await db.close()
  await t.throwsAsync(running, { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => manual[0].putSync('x', 1), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(manual[0].commit(), { code: 'ERR_DATABASE_CLOSED' })
  t.is(s.open('db').getSync('w'), undefined)
})

test('destroy() with a live transaction aborts it and deletes the database; it closes every other handle of the path first', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 1)
  const txn = db.transaction(async (txn) => {
    txn.getSync('k')
    await new Promise((resolve) => setTimeout(resolve, 20))
  })
  await db.destroy()
  t.false(fs.existsSync(db.path))
  await t.throwsAsync(txn, { code: 'ERR_DATABASE_CLOSED' })

  const a = s.open('shared')
  const b = s.open('shared', { name: 'other' })
  b.putSync('x', 1)
  a.destroy()
  t.false(fs.existsSync(a.path), 'gone when destroy() returns, as in rocksdb-js')
  t.false(b.isOpen())
  t.is(t.throws(() => b.getSync('x')).code, 'ERR_DATABASE_CLOSED')
})

test('open right after close with work in flight always works, in this process and in another', async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  for (let round = 0; round < 40; round++) {
    const db = RocksDatabase.open(dbPath)
    const writes = []
    for (let i = 0; i < 500; i++) writes.push(db.put(i, { round, pad: 'p'.repeat(200) }))
    const flushing = db.flush()
    const checkpoint = db.createCheckpoint(s.path(`cp-${round}`))
    db.close()
    // Open at a different moment each round: while the work holds RocksDB,
    // as the last of it lets go, or after.
    await new Promise((resolve) => setTimeout(resolve, round % 8))
    const again = RocksDatabase.open(dbPath)
    await Promise.all([...writes, flushing, checkpoint])
    t.is(again.getSync(499).round, round)
    await again.close()
  }
  const db = RocksDatabase.open(dbPath)
  for (let i = 0; i < 200; i++) db.put(i, i)
  await db.close()
  const child = spawnSync(
    process.execPath,
    ['-e', `const { RocksDatabase } = require(${JSON.stringify(root)}); const db = RocksDatabase.open(${JSON.stringify(dbPath)}); console.log(db.getSync(199)); db.close()`],
    { encoding: 'utf8' },
  )
  t.is(child.status, 0, child.stderr)
  t.is(child.stdout.trim(), '199')
})

// --- 8. Bounded options ------------------------------------------------------

test('numeric options out of bounds are RangeErrors with ERR_OUT_OF_RANGE, and never reach RocksDB', (t) => {
  const s = scratch(t)
  for (const options of [{ parallelismThreads: 100000 }, { parallelismThreads: 257 }, { writeBufferSize: 2 ** 50 }, { maxOpenFiles: 2 ** 31 }, { lockTimeout: 2 ** 40 }]) {
    const error = t.throws(() => s.open('db', options), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
    t.regex(error.message, new RegExp(`options\\.${Object.keys(options)[0]}`))
  }
  for (const options of [{ parallelismThreads: 0 }, { parallelismThreads: 1.5 }, { maxOpenFiles: -5 }, { lockTimeout: -1 }]) {
    t.throws(() => s.open('db', options), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  }
  const db = s.open('db', { parallelismThreads: 256 })
  db.putSync('k', 1)
  t.is(db.getSync('k'), 1)
})

// --- 9. Leftovers and uncoded errors ----------------------------------------

test('range helpers refuse non-functions and bad counts with coded errors', (t) => {
  const db = scratch(t).open('db')
  db.putSync('a', 1)
  for (const method of ['map', 'filter', 'forEach']) {
    t.throws(() => db.getRange()[method](42), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  }
  t.throws(() => db.getRange().take({}), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => db.getRange().take(-1), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.deepEqual([...db.getRange().map((e) => e.key)], ['a'])
})

test('checkpoint metadata that JSON cannot hold and lifetimes past any date are coded errors', async (t) => {
  const db = scratch(t).open('db')
  const cycle = {}
  cycle.self = cycle
  for (const metadata of [{ big: 1n }, cycle, { toJSON: () => { throw new Error('no') } }]) {
    await t.throwsAsync(db.checkpoints.create('m', { metadata }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  }
  for (const lifetime of [1e300, 2 ** 53]) {
    await t.throwsAsync(db.checkpoints.create('l', { lifetime }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  }
  for (const lifetime of [Infinity, -1, 0, NaN]) {
    await t.throwsAsync(db.checkpoints.create('l', { lifetime }), { instanceOf: TypeError })
  }
  await db.checkpoints.create('ok', { lifetime: 60_000 })
  await t.throwsAsync(db.checkpoints.refresh('ok', 1e300), { code: 'ERR_OUT_OF_RANGE' })
  t.deepEqual(db.checkpoints.list().map((c) => c.name), ['ok'])
})

test('a detached buffer is refused as a value by put() and putSync(), never stored as empty', async (t) => {
  const db = scratch(t).open('db', { encoding: 'binary' })
  const detached = () => {
    const bytes = new Uint8Array(16)
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
    return bytes
  }
  t.throws(() => db.putSync('k', detached()), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  await t.throwsAsync(db.put('k', detached()), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(db.getSync('k'), undefined)
  db.putSync('empty', Buffer.alloc(0))
  t.is(db.getSync('empty').length, 0, 'an empty buffer of its own is still a value')
})

test('a property name with a null byte and an overlong path are TypeErrors naming the argument', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.throws(() => db.getDBProperty('a\0b'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => db.getDBIntProperty('a\0b'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  const long = s.path('x'.repeat(3000))
  for (const readOnly of [false, true]) {
    const error = t.throws(() => RocksDatabase.open(long, { readOnly }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.regex(error.message, /"path".*too long/)
  }
  const deep = s.path(...Array(20).fill('y'.repeat(250)))
  t.throws(() => RocksDatabase.open(deep), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('the CLI says when no database is at the path and exits 1', (t) => {
  const s = scratch(t)
  const cli = path.join(root, 'bin', 'rocksdb-branch.js')
  const missing = spawnSync(process.execPath, [cli, 'checkpoint', 'list', s.path('typo')], { encoding: 'utf8' })
  t.is(missing.status, 1)
  t.regex(missing.stderr, /no database at .*typo/)
  const json = spawnSync(process.execPath, [cli, 'checkpoint', 'list', s.path('typo'), '--json'], { encoding: 'utf8' })
  t.is(json.status, 1)
  t.is(JSON.parse(json.stderr).code, 'ERR_DATABASE_NOT_FOUND')
  const db = s.open('db')
  db.close()
  const empty = spawnSync(process.execPath, [cli, 'checkpoint', 'list', db.path], { encoding: 'utf8' })
  t.is(empty.status, 0, empty.stderr)
  t.regex(empty.stdout, /no checkpoints/)
})

// --- Unsafe code: memory shared with JavaScript -----------------------------

test('the shared buffers are native memory: detaching JavaScript’s view cannot make the native side write freed memory', (t) => {
  const native = require('../native.js')
  const s = scratch(t)
  const db = native.NativeDatabase.open(s.path('db'))
  t.teardown(() => db.close())
  const shared = db.shareBuffers(64, 64)
  native.putKey(shared, Buffer.from('k'), Buffer.from('value'))
  const keys = native.sharedKeyBuffer(shared)
  const values = native.sharedValueBuffer(shared)
  t.throws(() => native.sharedKeyBuffer(shared), { code: 'ERR_INVALID_ARG_VALUE' }, 'each view is handed out once')
  keys.write('k')
  t.is(native.getShared(shared, 1), 5)
  t.is(values.subarray(0, 5).toString(), 'value')
  // Transfer both views away, then collect them if the engine allows.
  for (const view of [keys, values]) {
    try {
      structuredClone(view.buffer, { transfer: [view.buffer] })
    } catch {
      // Some runtimes refuse to transfer external memory: nothing to detach.
    }
  }
  globalThis.gc?.()
  // The native side still reads and writes its own memory.
  t.is(native.getShared(shared, 1), 5)
  native.putShared(shared, 1, Buffer.from('again'))
  t.is(native.getKey(shared, Buffer.from('k')).toString(), 'again')
  t.throws(() => db.shareBuffers(0, 64), { code: 'ERR_OUT_OF_RANGE' })
})

test('a range being iterated stops with ERR_DATABASE_CLOSED at its next step after close(), even inside a batch already read', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 100; i++) db.putSync(i, i)
  const short = db.getRange({ limit: 10 })[Symbol.iterator]() // one batch, no native iterator
  const long = db.getRange()[Symbol.iterator]() // more batches to read
  t.is(short.next().value.key, 0)
  t.is(long.next().value.key, 0)
  await db.close()
  t.throws(() => short.next(), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => long.next(), { code: 'ERR_DATABASE_CLOSED' })
  t.true(short.next().done, 'an ended iteration stays ended')
  db.open()
  t.true(long.next().done, 'reopening does not revive it')
  t.deepEqual([...db.getKeys({ limit: 3 })], [0, 1, 2])
})
