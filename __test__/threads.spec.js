'use strict'

// One database used from several worker threads at once (they share one
// RocksDB engine), and a process that exits with work in flight.

const test = require('ava')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const root = path.resolve(__dirname, '..')

function runWorker(script, workerData) {
  const worker = new Worker(script, { eval: true, workerData })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)))
  })
}

test('four worker threads write, read, range and transact on one database', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase } = require(${JSON.stringify(root)})
    ;(async () => {
      const db = RocksDatabase.open(workerData.path)
      const id = workerData.id
      for (let i = 0; i < 500; i++) db.putSync([id, i], { id, i })
      const writes = []
      for (let i = 500; i < 1000; i++) writes.push(db.put([id, i], { id, i }))
      await Promise.all(writes)
      for (let i = 0; i < 1000; i += 97) {
        if (db.getSync([id, i]).i !== i || (await db.get([id, i])).i !== i) throw new Error('read back ' + i)
      }
      let n = 0
      for (const { key, value } of db.getRange({ start: [id], end: [id + 1] })) if (key[1] === value.i) n++
      await db.transaction((txn) => {
        const counter = txn.getSync('counter') ?? 0
        txn.putSync('counter', counter + 1)
      }, { maxRetries: 50 })
      await db.close()
      parentPort.postMessage(n)
    })().catch((error) => parentPort.postMessage(String(error.code) + ' ' + error.stack))`
  const counts = await Promise.all([0, 1, 2, 3].map((id) => runWorker(script, { path: db.path, id })))
  t.deepEqual(counts, [1000, 1000, 1000, 1000])
  t.is(db.getKeysCount(), 4001)
  t.is(db.getSync('counter'), 4, 'every transaction committed once, none lost')
  t.is(db.getSync([3, 999]).i, 999)
})

test('a worker closing its handle leaves the others working', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('k', 'v')
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(workerData.path)
    db.putSync('from-worker', 1)
    db.close()
    parentPort.postMessage('closed')`
  t.is(await runWorker(script, { path: db.path }), 'closed')
  t.is(db.getSync('from-worker'), 1)
  db.putSync('after', 2)
  t.is(await db.get('after'), 2)
})

test('process.exit() with writes, reads and a checkpoint in flight exits cleanly and loses nothing acknowledged', (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const db = RocksDatabase.open(${JSON.stringify(dbPath)})
    ;(async () => {
      const first = []
      for (let i = 0; i < 1000; i++) first.push(db.put(i, i))
      await Promise.all(first)
      console.log('acknowledged 1000')
      for (let i = 1000; i < 20000; i++) db.put(i, i)
      db.createCheckpoint(${JSON.stringify(s.path('cp'))})
      db.flush()
      db.get(5)
      setImmediate(() => process.exit(0))
    })()`
  for (let round = 0; round < 5; round++) {
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    t.is(child.status, 0, `round ${round}: ${child.stderr}`)
    t.is(child.signal, null)
    t.regex(child.stdout, /acknowledged 1000/)
    const db = RocksDatabase.open(dbPath)
    for (let i = 0; i < 1000; i += 37) t.is(db.getSync(i), i)
    // The later writes went as one atomic batch: all of them or none.
    const later = db.getKeysCount({ start: 1000 })
    t.true(later === 0 || later === 19000, `round ${round}: ${later} of the in-flight batch`)
    db.close()
    spawnSync('rm', ['-rf', s.path('cp'), s.path('cp.tmp')])
  }
})
