'use strict'

// Harper's per-application branches (its resources/branchDatabase.ts): every
// worker thread asks for the same branch at once; a claim word in a user
// shared buffer of the base database, settled with Atomics.compareExchange,
// picks the one thread that checkpoints into a staging folder and renames it
// into place; the others wait for READY and open the same branch. A winner
// that fails puts the word back to UNCLAIMED, and another thread takes its
// turn. The protocol here is Harper's, step for step, against real threads.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const root = path.resolve(__dirname, '..')

// The worker: Harper's openOrCreate() with its constants, reporting whether
// it created the branch and what it read there.
const claimScript = `
  const fs = require('node:fs')
  const path = require('node:path')
  const { workerData, parentPort } = require('node:worker_threads')
  const { RocksDatabase } = require(${JSON.stringify(root)})
  const UNCLAIMED = 0n, CREATING = 1n, READY = 2n
  const { basePath, branchPath, index, failFirst } = workerData
  const base = RocksDatabase.open(basePath)
  const isShared = (state) => typeof SharedArrayBuffer !== 'undefined' && state.buffer instanceof SharedArrayBuffer
  async function materialize() {
    const staging = branchPath + '.staging'
    fs.rmSync(staging, { recursive: true, force: true })
    fs.mkdirSync(path.dirname(branchPath), { recursive: true })
    try {
      // A test hook: the first winner fails after its checkpoint, as a
      // full disk or a lost rename would make it.
      await base.createCheckpoint(staging)
      if (failFirst && !fs.existsSync(branchPath + '.failed-once')) {
        fs.writeFileSync(branchPath + '.failed-once', String(index))
        throw new Error('the first winner fails')
      }
      fs.renameSync(staging, branchPath)
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true })
      throw error
    }
  }
  async function awaitClaim(state, deadline) {
    for (;;) {
      const current = Atomics.load(state, 0)
      if (current !== CREATING) return current
      if (Date.now() > deadline) throw new Error('timed out waiting for the claim')
      if (isShared(state)) {
        const wait = Atomics.waitAsync(state, 0, CREATING, 1000)
        if (wait.async) await wait.value
      } else await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  async function openOrCreate() {
    const state = new BigInt64Array(base.getUserSharedBuffer('branch-claim:' + branchPath, new BigInt64Array([UNCLAIMED]).buffer))
    const deadline = Date.now() + 60_000
    let created = false, failed = 0
    for (;;) {
      if (Date.now() > deadline) throw new Error('timed out claiming')
      const previous = Atomics.compareExchange(state, 0, UNCLAIMED, CREATING)
      if (previous === READY) break
      if (previous === UNCLAIMED) {
        try {
          if (!fs.existsSync(branchPath)) await materialize()
          created = true
          Atomics.store(state, 0, READY)
          break
        } catch (error) {
          Atomics.store(state, 0, UNCLAIMED)
          failed++
          // Harper rethrows to fail the application's load; a retry of the
          // load is another turn, which the test takes at once.
          continue
        } finally {
          if (isShared(state)) Atomics.notify(state, 0)
        }
      }
      if ((await awaitClaim(state, deadline)) === READY) break
    }
    return { created, failed }
  }
  parentPort.once('message', async () => {
    try {
      const { created, failed } = await openOrCreate()
      const branch = RocksDatabase.open(branchPath)
      const seen = branch.getSync('base-record')
      await branch.put('from-worker-' + index, index)
      branch.close()
      base.close()
      parentPort.postMessage({ index, created, failed, seen })
    } catch (error) {
      parentPort.postMessage({ index, error: error.stack })
    }
  })
  parentPort.postMessage({ ready: index })`

/** Runs Harper's claim in `count` workers started together; their reports. */
async function claimInWorkers(workerData, count) {
  const workers = []
  const exits = []
  for (let index = 0; index < count; index++) {
    const worker = new Worker(claimScript, { eval: true, workerData: { ...workerData, index } })
    exits.push(new Promise((resolve) => worker.once('exit', resolve)))
    workers.push(worker)
  }
  const nextMessage = (worker) =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
  // All of them are loaded and have the base open before any asks, so the
  // asks race as they do when Harper's threads load the same application.
  await Promise.all(workers.map(nextMessage))
  const reports = Promise.all(workers.map(nextMessage))
  for (const worker of workers) worker.postMessage('go')
  const results = await reports
  await Promise.all(exits)
  return results
}

test('four worker threads ask for one branch: one checkpoints, the others wait and open the same branch', async (t) => {
  const s = scratch(t)
  const base = s.open('base')
  await base.put('base-record', { kept: true })
  const branchPath = s.path('branches', 'app', 'base')

  const reports = await claimInWorkers({ basePath: base.path, branchPath }, 4)
  for (const report of reports) t.falsy(report.error, report.error)
  t.is(reports.filter((report) => report.created).length, 1, 'exactly one thread created the branch')
  for (const report of reports) t.deepEqual(report.seen, { kept: true }, `worker ${report.index} read the base's record in the branch`)
  t.false(fs.existsSync(branchPath + '.staging'), 'no staging folder is left')

  // Every worker wrote into the one branch, and none of it reached the base.
  const branch = s.track(RocksDatabase.open(branchPath))
  for (let index = 0; index < 4; index++) {
    t.is(branch.getSync('from-worker-' + index), index)
    t.is(base.getSync('from-worker-' + index), undefined)
  }
})

test('a winner that fails releases the claim, and another thread creates the branch', async (t) => {
  const s = scratch(t)
  const base = s.open('base')
  await base.put('base-record', 'before')
  const branchPath = s.path('branches', 'app', 'base')

  const reports = await claimInWorkers({ basePath: base.path, branchPath, failFirst: true }, 4)
  for (const report of reports) t.falsy(report.error, report.error)
  t.is(reports.reduce((sum, report) => sum + report.failed, 0), 1, 'one attempt failed')
  t.is(reports.filter((report) => report.created).length, 1, 'one later turn created the branch')
  for (const report of reports) t.is(report.seen, 'before')
  t.false(fs.existsSync(branchPath + '.staging'), "the failed attempt's staging folder is gone")
})
