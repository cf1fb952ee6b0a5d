#!/usr/bin/env node
'use strict'

// Many live branches in one process, as an app server keeps them, with the
// package's defaults: a base of flushed keys; then, for each branch,
// db.branches.create, db.branches.open, read every key once, write 200
// keys, and keep it open. Reports the resident memory each open branch
// adds, the medians of create (createCheckpoint alone, and the registry's
// create, which also records the branch's sequence), open and close, and
// the shared block cache's usage (the proof that branches share cached
// blocks).
//
//   node --expose-gc bench/branches.js [--branches N] [--keys K] [--json FILE]
//
// `npm run bench` runs it with 1,000 branches of 100,000 keys; `--quick`
// with 100 branches of 20,000 keys.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { option, median, saveJson, script } = require('./script')
const { RocksDatabase } = require('..')


const BRANCHES = Number(option('--branches', 1000))
const KEYS = Number(option('--keys', 100_000))
const WRITES = 200
const VALUE = Buffer.alloc(100, 0x61)
const key = (i) => `key${String(i).padStart(8, '0')}`
const MiB = 1024 * 1024

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-branches-'))
  try {
    const base = RocksDatabase.open(path.join(root, 'base'), { encoding: 'binary' })
    for (let i = 0; i < KEYS; i++) base.putSync(key(i), VALUE)
    base.flushSync()
    base.compactSync()
    globalThis.gc?.()
    const rssBefore = process.memoryUsage().rss

    const timings = { checkpoint: [], create: [], open: [], close: [] }
    fs.mkdirSync(path.join(root, 'checkpoints'))
    const open = []
    for (let b = 0; b < BRANCHES; b++) {
      // createCheckpoint alone, as a branch made by hand is. Kept until the
      // end: an app server does not delete a directory between two opens.
      let start = process.hrtime.bigint()
      await base.createCheckpoint(path.join(root, 'checkpoints', `c${b}`))
      timings.checkpoint.push(ms(start))
      start = process.hrtime.bigint()
      await base.branches.create(`b${b}`)
      timings.create.push(ms(start))
      start = process.hrtime.bigint()
      const branch = await base.branches.open(`b${b}`)
      timings.open.push(ms(start))
      for (let i = 0; i < KEYS; i++) {
        if (branch.getSync(key(i)) === undefined) throw new Error(`branch ${b} lacks ${key(i)}`)
      }
      for (let i = 0; i < WRITES; i++) branch.putSync(`own${i}`, VALUE)
      open.push(branch)
    }
    globalThis.gc?.()
    const rssOpen = process.memoryUsage().rss
    const usage = RocksDatabase.memoryUsage()

    for (const branch of open) {
      const start = process.hrtime.bigint()
      await branch.close()
      timings.close.push(ms(start))
    }
    await base.close()

    const result = {
      branches: BRANCHES,
      keys: KEYS,
      rssPerBranchMiB: (rssOpen - rssBefore) / BRANCHES / MiB,
      rssTotalMiB: rssOpen / MiB,
      checkpointMedianMs: median(timings.checkpoint),
      createMedianMs: median(timings.create),
      openMedianMs: median(timings.open),
      closeMedianMs: median(timings.close),
      openLastTenthMedianMs: median(timings.open.slice(-Math.max(1, Math.floor(BRANCHES / 10)))),
      memoryUsage: usage,
    }
    console.log(
      `${BRANCHES} branches (db.branches) of ${KEYS} keys, each opened, read whole, written ${WRITES} times, kept open:\n` +
        `  RSS per open branch     ${result.rssPerBranchMiB.toFixed(2)} MiB (process total ${result.rssTotalMiB.toFixed(0)} MiB)\n` +
        `  createCheckpoint median ${result.checkpointMedianMs.toFixed(2)} ms\n` +
        `  branches.create median  ${result.createMedianMs.toFixed(2)} ms\n` +
        `  open median             ${result.openMedianMs.toFixed(2)} ms (last tenth opened: ${result.openLastTenthMedianMs.toFixed(2)} ms)\n` +
        `  close median            ${result.closeMedianMs.toFixed(2)} ms` +
        `\n  shared memory           ${JSON.stringify(usage)}`,
    )
    saveJson(result)
    return result
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

script(module, main)
