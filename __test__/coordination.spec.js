'use strict'

// Coordination between the threads of a process through a database:
// user shared buffers, key locks, file locks, the monotonic clock, thread
// ids and the registry of open databases. Worker threads are real ones.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { RocksDatabase, currentThreadId, tryFileLock, fileLockRelease, registryStatus } = require('..')
const { scratch, isRoot } = require('./helpers')

const root = path.resolve(__dirname, '..')

/** A worker running `body` with `db` open on `workerData.path`; its messages go to `onMessage`. */
function startWorker(body, workerData) {
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase, currentThreadId } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(workerData.path, workerData.options)
    ;(async () => { ${body} })().catch((error) => parentPort.postMessage({ error: String(error.code) + ' ' + error.stack }))`
  const worker = new Worker(script, { eval: true, workerData })
  const messages = []
  const waiting = []
  worker.on('message', (message) => {
    const next = waiting.shift()
    if (next) next(message)
    else messages.push(message)
  })
  worker.on('error', (error) => waiting.splice(0).forEach((next) => next({ error: error.stack })))
  return {
    worker,
    /** The next message of the worker. */
    next: () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiting.push(resolve))),
    post: (message) => worker.postMessage(message),
    exited: new Promise((resolve) => worker.once('exit', resolve)),
  }
}

/** Resolves once `predicate()` holds, checking every 5 ms, for at most 10 s. */
async function until(predicate) {
  for (let waited = 0; waited < 10_000; waited += 5) {
    if (predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('timed out')
}

test('a user shared buffer is one memory for every call and every thread, per column family', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const first = new BigInt64Array(db.getUserSharedBuffer('counter', new BigInt64Array([5n]).buffer))
  t.is(first[0], 5n, 'made from the default buffer')
  const unused = new BigInt64Array([99n])
  const second = new BigInt64Array(db.getUserSharedBuffer('counter', unused.buffer))
  t.is(Atomics.add(second, 0, 1n), 5n, 'the second call sees the first one memory')
  t.is(first[0], 6n)
  t.is(unused[0], 99n, 'a default buffer is copied, never used as the memory')

  const other = s.track(RocksDatabase.open(db.path, { name: 'other' }))
  const ofOther = new BigInt64Array(other.getUserSharedBuffer('counter', new BigInt64Array([1n]).buffer))
  t.is(ofOther[0], 1n, 'another column family has a block of its own')

  const worker = startWorker(
    `const counter = new BigInt64Array(db.getUserSharedBuffer('counter', new BigInt64Array(1).buffer))
     for (let i = 0; i < 1000; i++) Atomics.add(counter, 0, 1n)
     parentPort.postMessage({ seen: counter[0] })
     db.close()`,
    { path: db.path },
  )
  for (let i = 0; i < 1000; i++) Atomics.add(first, 0, 1n)
  const reply = await worker.next()
  t.falsy(reply.error, reply.error)
  t.true(reply.seen >= 1006n)
  await worker.exited
  t.is(first[0], 2006n, 'no increment of either thread was lost')
})

test('a shared buffer stays usable after close; notify() then throws; bad arguments are TypeErrors', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.throws(() => db.getUserSharedBuffer('k', 'nope'), { instanceOf: TypeError, message: /Default buffer must be an ArrayBuffer/ })
  t.throws(() => db.getUserSharedBuffer('k', new ArrayBuffer(1), 'x'), { instanceOf: TypeError, message: /Options must be an object/ })
  t.throws(() => db.getUserSharedBuffer('k', new ArrayBuffer(1), { callback: 1 }), { instanceOf: TypeError, message: /Callback must be a function/ })
  const buffer = db.getUserSharedBuffer('k', new ArrayBuffer(4))
  const view = new Uint8Array(buffer)
  view[0] = 0xab
  db.close()
  t.is(view[0], 0xab)
  view[1] = 0xcd
  t.is(view[1], 0xcd)
  t.throws(() => buffer.notify(), { code: 'ERR_DATABASE_CLOSED', message: /Database not open/ })
  t.throws(() => db.getUserSharedBuffer('k', new ArrayBuffer(1)), { code: 'ERR_DATABASE_CLOSED' })
})

test('notify() on a shared buffer calls the callbacks of its key, in this thread and in another, until cancel()', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  let heard = 0
  const buffer = db.getUserSharedBuffer('flag', new ArrayBuffer(8), { callback: () => heard++ })
  t.is(db.listeners(db.store.encodeKey('flag')), 1, 'the callback listens on the encoded key')
  const worker = startWorker(
    `let calls = 0
     db.getUserSharedBuffer('flag', new ArrayBuffer(8), { callback: () => parentPort.postMessage({ called: ++calls }) })
     parentPort.postMessage({ ready: true })
     parentPort.on('message', (message) => { if (message === 'close') { db.close(); parentPort.close() } })`,
    { path: db.path },
  )
  t.true((await worker.next()).ready)
  t.true(buffer.notify())
  t.deepEqual(await worker.next(), { called: 1 })
  await until(() => heard === 1)
  buffer.cancel()
  t.is(db.listeners(db.store.encodeKey('flag')), 0)
  t.false(buffer.notify(), 'no callback of this handle left')
  t.deepEqual(await worker.next(), { called: 2 }, 'the worker still hears it')
  t.is(heard, 1)
  worker.post('close')
  await worker.exited
})

test('a shared buffer collected takes its listener with it, and its memory starts again from the default', async (t) => {
  if (typeof globalThis.gc !== 'function') {
    t.log('run node with --expose-gc to check collection; ran only the listener count')
  }
  const s = scratch(t)
  const db = s.open('db')
  const key = db.store.encodeKey('gc')
  ;(() => {
    const buffer = db.getUserSharedBuffer('gc', new Uint8Array([7]).buffer, { callback() {} })
    new Uint8Array(buffer)[0] = 42
  })()
  t.is(db.listeners(key), 1)
  if (typeof globalThis.gc !== 'function') return t.pass()
  for (let i = 0; i < 40 && db.listeners(key) > 0; i++) {
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.is(db.listeners(key), 0)
  t.is(new Uint8Array(db.getUserSharedBuffer('gc', new Uint8Array([7]).buffer))[0], 7)
})

test('tryLock, unlock and hasLock: one holder per key across handles, callbacks called on unlock', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.track(RocksDatabase.open(db.path))
  t.false(db.hasLock('k'))
  t.false(db.unlock('k'), 'unlocking a free key says it was not locked')
  t.true(db.tryLock('k'))
  t.true(other.hasLock('k'), 'every handle of the database sees the lock')
  const woken = []
  t.false(other.tryLock('k', () => woken.push('a')))
  t.false(db.tryLock('k', () => woken.push('b')), 'not reentrant')
  t.true(db.tryLock('other-key'), 'keys are locked one by one')
  t.true(other.unlock('k'), 'any handle may unlock')
  t.false(db.hasLock('k'))
  await until(() => woken.length === 2)
  t.deepEqual(woken.sort(), ['a', 'b'])
  t.true(db.unlock('other-key'))
})

test('key lock arguments: a missing key, a callback that is no function, a closed handle', (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.throws(() => db.tryLock(), { instanceOf: TypeError, message: /Key is required/ })
  t.throws(() => db.tryLock('k', 'nope'), { instanceOf: TypeError, message: /Callback must be a function/ })
  t.throws(() => db.unlock(), { instanceOf: TypeError, message: /Key is required/ })
  t.throws(() => db.hasLock(), { instanceOf: TypeError, message: /Key is required/ })
  const closed = new RocksDatabase(s.path('never-opened'))
  t.throws(() => closed.tryLock('k'), { code: 'ERR_DATABASE_CLOSED', message: /Database not open/ })
  t.throws(() => closed.hasLock('k'), { code: 'ERR_DATABASE_CLOSED' })
  return t.throwsAsync(closed.withLock('k', () => {}), { code: 'ERR_DATABASE_CLOSED' })
})

test('closing the handle that locked a key unlocks it; closing another does not', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.track(RocksDatabase.open(db.path))
  t.true(db.tryLock('k'))
  other.close()
  t.true(db.hasLock('k'), 'another handle closing leaves the lock')
  const third = s.track(RocksDatabase.open(db.path))
  let woken = false
  t.false(third.tryLock('k', () => (woken = true)))
  db.close()
  await until(() => woken)
  t.false(third.hasLock('k'), 'the holder closing unlocked the key and woke the waiter')
})

test('a lock held by a worker thread: the main thread waits for it, and its exit lets it go', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const worker = startWorker(
    `db.tryLock('job')
     parentPort.postMessage({ locked: db.hasLock('job') })
     parentPort.on('message', (message) => {
       if (message === 'unlock') parentPort.postMessage({ unlocked: db.unlock('job') })
       if (message === 'lock again') parentPort.postMessage({ locked: db.tryLock('job') })
       if (message === 'exit') process.exit(0)
     })`,
    { path: db.path },
  )
  t.deepEqual(await worker.next(), { locked: true })
  t.true(db.hasLock('job'))
  let woken = 0
  t.false(db.tryLock('job', () => woken++))
  worker.post('unlock')
  t.deepEqual(await worker.next(), { unlocked: true })
  await until(() => woken === 1)
  worker.post('lock again')
  t.deepEqual(await worker.next(), { locked: true })
  t.false(db.tryLock('job', () => woken++))
  worker.post('exit')
  await worker.exited
  // The worker's handle is collected with its thread, and with it the lock.
  await until(() => woken === 2)
  t.false(db.hasLock('job'))
  t.true(db.tryLock('job'))
})

test('withLock runs callbacks one at a time across threads and unlocks on failure', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const shared = new Int32Array(db.getUserSharedBuffer('inside', new Int32Array(2).buffer))
  const body = `
    const shared = new Int32Array(db.getUserSharedBuffer('inside', new Int32Array(2).buffer))
    for (let i = 0; i < 20; i++) {
      await db.withLock('section', async () => {
        if (Atomics.add(shared, 0, 1) !== 0) Atomics.add(shared, 1, 1)
        await new Promise((resolve) => setTimeout(resolve, 1))
        Atomics.sub(shared, 0, 1)
      })
    }
    parentPort.postMessage({ done: true })
    db.close()`
  const workers = [startWorker(body, { path: db.path }), startWorker(body, { path: db.path })]
  for (let i = 0; i < 20; i++) {
    await db.withLock('section', async () => {
      if (Atomics.add(shared, 0, 1) !== 0) Atomics.add(shared, 1, 1)
      await new Promise((resolve) => setTimeout(resolve, 1))
      Atomics.sub(shared, 0, 1)
    })
  }
  for (const worker of workers) t.deepEqual(await worker.next(), { done: true })
  t.is(shared[1], 0, 'no two callbacks ever ran together')
  await t.throwsAsync(
    db.withLock('section', () => {
      throw new Error('boom')
    }),
    { message: 'boom' },
  )
  t.false(db.hasLock('section'), 'a failing callback still unlocks')
  t.is(await db.withLock('section', () => 7), 7, 'resolves with what the callback returns')
  await t.throwsAsync(db.withLock('section', 'nope'), { instanceOf: TypeError, message: /Callback must be a function/ })
})

test('a withLock waiting when its handle closes rejects with ERR_DATABASE_CLOSED', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const other = s.track(RocksDatabase.open(db.path))
  t.true(db.tryLock('k'))
  const waiting = other.withLock('k', () => 'ran')
  other.close()
  await t.throwsAsync(waiting, { code: 'ERR_DATABASE_CLOSED' })
  t.true(db.hasLock('k'), 'the holder keeps its lock')
})

test('getMonotonicTimestamp increases in every thread, near the wall clock', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const before = Date.now()
  const stamps = Array.from({ length: 1000 }, () => db.getMonotonicTimestamp())
  t.true(stamps[0] >= before - 1000 && stamps[0] <= Date.now() + 1000)
  for (let i = 1; i < stamps.length; i++) t.true(stamps[i] > stamps[i - 1])
  const worker = startWorker(`parentPort.postMessage({ stamp: db.getMonotonicTimestamp() }); db.close()`, { path: db.path })
  const { stamp } = await worker.next()
  t.true(stamp > stamps[stamps.length - 1], "a later stamp of another thread is greater than this thread's")
  t.true(db.getMonotonicTimestamp() > stamp)
})

test('getOldestSnapshotTimestamp is 0 until a transaction reads, and 0 again after', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  t.is(db.getOldestSnapshotTimestamp(), 0)
  await db.transaction(async (txn) => {
    txn.putSync('k', 1)
    t.is(db.getOldestSnapshotTimestamp(), 0, 'a write alone takes no snapshot')
    txn.getSync('k')
    const taken = db.getOldestSnapshotTimestamp()
    t.true(taken > 0 && taken <= Date.now() / 1000 + 1)
  })
  t.is(db.getOldestSnapshotTimestamp(), 0)
})

test('currentThreadId differs between threads', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const ids = new Set([currentThreadId()])
  for (let i = 0; i < 3; i++) {
    const worker = startWorker(`parentPort.postMessage({ id: currentThreadId() }); db.close()`, { path: db.path })
    const { id } = await worker.next()
    t.is(typeof id, 'number')
    t.false(ids.has(id))
    ids.add(id)
  }
})

test('tryFileLock and fileLockRelease: tokens, shared and exclusive, parents made, bad tokens ignored', (t) => {
  const s = scratch(t)
  const file = s.path('a', 'b', 'lock')
  const token = tryFileLock(file)
  t.true(token > 0)
  t.true(fs.existsSync(file), 'the file and its parents are made')
  t.is(tryFileLock(file), 0)
  t.is(tryFileLock(file, true), 0, 'no shared lock beside an exclusive one')
  fileLockRelease(token)
  const shared = [tryFileLock(file, true), tryFileLock(file, true)]
  t.true(shared.every((held) => held > 0), 'shared locks together')
  t.is(tryFileLock(file), 0)
  for (const held of shared) fileLockRelease(held)
  const again = tryFileLock(file)
  t.true(again > 0)
  fileLockRelease(again)
  t.notThrows(() => fileLockRelease(0))
  t.notThrows(() => fileLockRelease(123456))
  t.throws(() => tryFileLock(file, 'yes'), { instanceOf: TypeError })
  t.throws(() => tryFileLock(42), { instanceOf: TypeError })
  if (isRoot) {
    // A shared lock needs only reading: a lock file without its write bit still takes one.
    fs.chmodSync(file, 0o444)
    const readOnly = tryFileLock(file, true)
    t.true(readOnly > 0)
    fileLockRelease(readOnly)
  }
})

test('file locks exclude another thread', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const file = s.path('x.lock')
  const token = tryFileLock(file)
  const worker = startWorker(
    `const { tryFileLock, fileLockRelease } = require(${JSON.stringify(root)})
     parentPort.on('message', (file) => {
       const token = tryFileLock(file)
       if (token > 0) fileLockRelease(token)
       parentPort.postMessage({ token })
     })`,
    { path: db.path },
  )
  worker.post(file)
  t.deepEqual(await worker.next(), { token: 0 })
  fileLockRelease(token)
  worker.post(file)
  t.true((await worker.next()).token > 0)
  await worker.worker.terminate()
})

test('registryStatus lists the databases open in the process with their handles, locks and shared buffers', (t) => {
  const s = scratch(t)
  const db = s.open('db', { pessimistic: true })
  const other = s.track(RocksDatabase.open(db.path, { name: 'family', pessimistic: true }))
  db.tryLock('a')
  const buffer = other.getUserSharedBuffer('b', new ArrayBuffer(1))
  const entry = registryStatus().find((status) => status.path === fs.realpathSync(db.path))
  t.truthy(entry)
  t.is(entry.mode, 'pessimistic')
  t.is(entry.refCount, 2)
  t.is(entry.locks, 1)
  t.deepEqual(entry.columnFamilies, { family: { userSharedBuffers: 1 } })
  t.truthy(buffer)
  db.close()
  other.close()
  t.false(registryStatus().some((status) => status.path === fs.realpathSync(db.path)))
})
