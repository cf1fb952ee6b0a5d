#!/usr/bin/env node
'use strict'

// One operation of the benchmark in a loop, alone in its process, for a
// profiler to watch: the same data as `npm run bench` (100,000 keys
// `key00000123`, 100-byte binary values).
//
//   node bench/profile.js <case> [seconds]
//   perf record -g node --perf-basic-prof bench/profile.js getSync-cache
//   node --cpu-prof bench/profile.js range50
//
// It prints the mean time per operation. docs/profiles.md has what the
// profiles of these cases showed.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { RocksDatabase } = require('..')

const KEYS = 100_000
const VALUE = Buffer.alloc(100, 0x61)
const key = (i) => `key${String(i).padStart(8, '0')}`
const keys = Array.from({ length: KEYS }, (_, i) => key(i))

function loaded(options) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-profile-'))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  const db = RocksDatabase.open(path.join(dir, 'db'), { encoding: 'binary', ...options })
  for (const k of keys) db.putSync(k, VALUE)
  return db
}

let i = 0
const next = () => keys[i++ % KEYS]

/** Each case: its setup, returning one operation and how many entries it handles. */
const CASES = {
  'getSync-memtable': () => {
    const db = loaded()
    return [() => db.getSync(next()), 1]
  },
  'getSync-cache': () => {
    const db = loaded()
    db.flushSync()
    return [() => db.getSync(next()), 1]
  },
  'get-async': () => {
    const db = loaded()
    return [() => db.get(next()), 1]
  },
  putSync: () => {
    const db = loaded()
    return [() => db.putSync(next(), VALUE), 1]
  },
  'putSync-nowal': () => {
    const db = loaded({ disableWAL: true })
    return [() => db.putSync(next(), VALUE), 1]
  },
  scan: () => {
    const db = loaded()
    return [() => {
      for (const _ of db.getRange()) void _
    }, KEYS]
  },
  'scan-keys': () => {
    const db = loaded()
    return [() => {
      for (const _ of db.getKeys()) void _
    }, KEYS]
  },
  range50: () => {
    const db = loaded()
    let r = 0
    return [() => {
      for (const _ of db.getRange({ start: key((r++ * 50) % (KEYS - 50)), limit: 50 })) void _
    }, 1]
  },
  'txn-put': () => {
    const db = loaded()
    return [() => db.transactionSync((txn) => txn.putSync(next(), VALUE)), 1]
  },
  'txn-read-put': () => {
    const db = loaded()
    return [() => db.transactionSync((txn) => {
      const k = next()
      txn.getSync(k)
      txn.putSync(k, VALUE)
    }), 1]
  },
}

async function main() {
  const [name, seconds = '5'] = process.argv.slice(2)
  if (!Object.hasOwn(CASES, name)) {
    console.error(`usage: node bench/profile.js <${Object.keys(CASES).join('|')}> [seconds]`)
    process.exit(2)
  }
  const [op, entries] = CASES[name]()
  const until = process.hrtime.bigint() + BigInt(Math.round(Number(seconds) * 1e9))
  const started = process.hrtime.bigint()
  let calls = 0
  while (process.hrtime.bigint() < until) {
    for (let n = 0; n < 100; n++) {
      const result = op()
      if (result instanceof Promise) await result
    }
    calls += 100
  }
  const ns = Number(process.hrtime.bigint() - started) / (calls * entries)
  console.log(`${name}: ${ns.toFixed(0)} ns per ${entries === 1 ? 'operation' : 'entry'} (mean of ${calls} calls)`)
}

main()
