#!/usr/bin/env node
'use strict'

// rocksdb-branch against its peers (lmdb, Level's rocksdb, classic-level), in
// one process, on the same data: string keys `key00000123`, 100-byte binary
// values. Durability is the same everywhere: a write is handed to the OS
// (RocksDB's WAL, LMDB with noSync) but not fsynced per write.
//
//   npm run bench              the full suite (several minutes; 1 GB checkpoint)
//   npm run bench -- --quick   a first look in under a minute
//
// Results: a table on stdout, docs/bench-results.json and docs/bench.svg.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { Bench } = require('tinybench')
const { RocksDatabase } = require('..')
const { median } = require('./script')

const quick = process.argv.includes('--quick')
const KEYS = quick ? 20_000 : 100_000
const VALUE = Buffer.alloc(100, 0x61)
const BENCH_TIME = quick ? 120 : 800
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-bench-'))
const key = (i) => `key${String(i).padStart(8, '0')}`
const results = []

function record(name, impl, nsPerOp, note) {
  results.push({ case: name, impl, nsPerOp, opsPerSec: nsPerOp ? 1e9 / nsPerOp : null, note: note ?? null })
}

/** Median ns per operation of `fn`, which performs `opsPerCall` operations. */
async function measure(name, impl, fn, opsPerCall = 1) {
  const bench = new Bench({ time: BENCH_TIME, warmupTime: BENCH_TIME / 4 })
  bench.add(impl, fn)
  await bench.run()
  const result = bench.tasks[0].result
  if (result.error) throw result.error
  record(name, impl, (result.latency.p50 * 1e6) / opsPerCall)
}

const na = (name, impl, why) => record(name, impl, null, why)

// --- adapters: the same operations over each library -----------------------

async function openOurs(dir) {
  const db = RocksDatabase.open(dir, { encoding: 'binary' })
  return {
    name: 'rocksdb-branch',
    putSync: (k, v) => db.putSync(k, v),
    put: (k, v) => db.put(k, v),
    getSync: (k) => db.getSync(k),
    get: (k) => db.get(k),
    flush: () => db.flushSync(),
    scan: () => {
      let n = 0
      for (const _ of db.getRange()) n++
      return n
    },
    range: (start, limit) => {
      let n = 0
      for (const _ of db.getRange({ start, limit })) n++
      return n
    },
    txn: (keys) => db.transactionSync((txn) => keys.forEach((k) => txn.putSync(k, VALUE))),
    // A write with its entry in a transaction log, committed together.
    loggedTxn: (k) =>
      db.transactionSync((txn) => {
        txn.putSync(k, VALUE)
        log().addEntry(VALUE, txn.id)
      }),
    logScan: () => {
      let n = 0
      for (const _ of log().query({ start: 0 })) n++
      return n
    },
    // A reader following the log (replication): one query kept, read on
    // after each commit.
    logFollower: () => {
      const follower = log().query()
      return (k) => {
        db.transactionSync((txn) => {
          txn.putSync(k, VALUE)
          log().addEntry(VALUE, txn.id)
        })
        let n = 0
        for (const _ of follower) n++
        return n
      }
    },
    checkpoint: (target) => db.createCheckpoint(target),
    close: () => db.close(),
    db,
  }
  function log() {
    return db.useLog('audit')
  }
}

async function openLmdb(dir) {
  const { open } = require('lmdb')
  const db = open({ path: dir, encoding: 'binary', noSync: true })
  const audit = db.openDB('audit', { encoding: 'binary', keyEncoding: 'uint32' })
  let entries = 0
  return {
    name: 'lmdb',
    putSync: (k, v) => db.putSync(k, v),
    put: (k, v) => db.put(k, v),
    getSync: (k) => db.get(k),
    get: async (k) => db.get(k),
    flush: () => {},
    scan: () => {
      let n = 0
      for (const _ of db.getRange()) n++
      return n
    },
    range: (start, limit) => {
      let n = 0
      for (const _ of db.getRange({ start, limit })) n++
      return n
    },
    txn: (keys) => db.transactionSync(() => keys.forEach((k) => db.putSync(k, VALUE))),
    // LMDB has no transaction log: the entry is a put into a second
    // database, keyed by a counter, in the same transaction.
    loggedTxn: (k) =>
      db.transactionSync(() => {
        db.putSync(k, VALUE)
        audit.putSync(++entries, VALUE)
      }),
    logScan: () => {
      let n = 0
      for (const _ of audit.getRange()) n++
      return n
    },
    // The follower remembers the last entry it read and ranges past it.
    logFollower: () => {
      let last = entries
      return (k) => {
        db.transactionSync(() => {
          db.putSync(k, VALUE)
          audit.putSync(++entries, VALUE)
        })
        let n = 0
        for (const { key } of audit.getRange({ start: last + 1 })) {
          last = key
          n++
        }
        return n
      }
    },
    logNote: 'the entry a put into a second database (no transaction log)',
    checkpoint: (target) => db.backup(target, false),
    close: () => db.close(),
  }
}

async function openClassicLevel(dir) {
  const { ClassicLevel } = require('classic-level')
  const db = new ClassicLevel(dir, { valueEncoding: 'buffer' })
  await db.open()
  return {
    name: 'classic-level',
    put: (k, v) => db.put(k, v),
    getSync: (k) => db.getSync(k),
    get: (k) => db.get(k),
    scanAsync: async () => (await db.keys().all()).length,
    rangeAsync: async (start, limit) => (await db.iterator({ gte: start, limit }).all()).length,
    close: () => db.close(),
  }
}

async function openLevelRocksdb(dir) {
  const rocksdb = require('rocksdb')
  const db = rocksdb(dir)
  const call = (fn) => new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))))
  await call((cb) => db.open(cb))
  const drain = (options) =>
    new Promise((resolve, reject) => {
      const it = db.iterator({ ...options, keyAsBuffer: false, valueAsBuffer: true })
      let n = 0
      const next = () =>
        it.next((error, k) => {
          if (error) return it.end(() => reject(error))
          if (k === undefined) return it.end(() => resolve(n))
          n++
          next()
        })
      next()
    })
  return {
    name: 'rocksdb (Level)',
    put: (k, v) => call((cb) => db.put(k, v, cb)),
    get: (k) => call((cb) => db.get(k, { asBuffer: true }, cb)),
    scanAsync: () => drain({}),
    rangeAsync: (start, limit) => drain({ gte: start, limit }),
    close: () => call((cb) => db.close(cb)),
  }
}

const OPENERS = [openOurs, openLmdb, openLevelRocksdb, openClassicLevel]

// --- cases -------------------------------------------------------------------

async function pointAndRangeCases() {
  for (const opener of OPENERS) {
    let db = await opener(path.join(root, opener.name))
    const impl = db.name
    let i = 0
    const next = () => key(i++ % KEYS)
    if (db.putSync) await measure('putSync', impl, () => db.putSync(next(), VALUE))
    else na('putSync', impl, 'no synchronous put')
    await measure('put (awaited one by one)', impl, () => db.put(next(), VALUE))
    await measure('put (1,000 in flight)', impl, () => Promise.all(Array.from({ length: 1000 }, () => db.put(next(), VALUE))), 1000)
    // Reads run on a fresh database holding each key once, so every library
    // reads the same data, however many writes it managed above.
    await db.close()
    db = await opener(path.join(root, `${opener.name}-reads`))
    for (let k = 0; k < KEYS; k++) await (db.putSync ? db.putSync(key(k), VALUE) : db.put(key(k), VALUE))
    if (db.getSync) await measure('getSync (memtable)', impl, () => db.getSync(next()))
    else na('getSync (memtable)', impl, 'no synchronous get')
    if (db.getSync && db.flush) {
      db.flush()
      await measure('getSync (block cache)', impl, () => db.getSync(next()))
    } else na('getSync (block cache)', impl, db.getSync ? 'no flush: reads stay in the memtable' : 'no synchronous get')
    await measure('get (async)', impl, () => db.get(next()))
    if (db.scan) await measure('full scan (per entry)', impl, () => db.scan(), KEYS)
    else await measure('full scan (per entry)', impl, () => db.scanAsync(), KEYS)
    let r = 0
    const nextStart = () => key((r++ * 50) % (KEYS - 50))
    if (db.range) await measure('range of 50 entries', impl, () => db.range(nextStart(), 50))
    else await measure('range of 50 entries', impl, () => db.rangeAsync(nextStart(), 50))
    if (db.txn) {
      await measure('transaction, 1 put', impl, () => db.txn([next()]))
      await measure('transaction, 100 puts', impl, () => db.txn(Array.from({ length: 100 }, next)))
    } else {
      na('transaction, 1 put', impl, 'no transactions (batch is not one)')
      na('transaction, 100 puts', impl, 'no transactions (batch is not one)')
    }
    if (db.loggedTxn) {
      await measure('transaction, 1 put + 1 log entry', impl, () => db.loggedTxn(next()))
      const logged = db.logScan()
      await measure('log read back (per entry)', impl, () => db.logScan(), logged)
      const follow = db.logFollower()
      await measure('log follower: commit 1 entry, read it back', impl, () => follow(next()))
      if (db.logNote) {
        for (const row of results.slice(-3)) row.note = db.logNote
      }
    } else {
      na('transaction, 1 put + 1 log entry', impl, 'no transactions (batch is not one)')
      na('log read back (per entry)', impl, 'no transaction log')
      na('log follower: commit 1 entry, read it back', impl, 'no transaction log')
    }
    await db.close()
  }
}

function directoryBytes(dir) {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    total += entry.isDirectory() ? directoryBytes(file) : fs.statSync(file).size
  }
  return total
}

/** lmdb's nearest operation: backup(), a consistent copy of the whole file. */
async function lmdbBackup(name, mb, chunk, runs) {
  const { open } = require('lmdb')
  const dir = path.join(root, `lmdb-src-${mb}`)
  const db = open({ path: dir, encoding: 'binary', noSync: true })
  const count = (mb * 1024 * 1024) / chunk.length
  for (let i = 0; i < count; i += 1000) {
    db.transactionSync(() => {
      for (let j = i; j < Math.min(count, i + 1000); j++) {
        chunk.writeUInt32LE(j, 0)
        db.putSync(key(j), chunk)
      }
    })
  }
  const times = []
  for (let run = 0; run < runs; run++) {
    const target = path.join(root, `lmdb-backup-${mb}-${run}`)
    // lmdb opened `dir` as a directory, so its copy goes into one.
    fs.mkdirSync(target)
    const start = process.hrtime.bigint()
    await db.backup(target, false)
    times.push(Number(process.hrtime.bigint() - start))
    fs.rmSync(target, { recursive: true, force: true })
  }
  record(name, 'lmdb', median(times), 'backup(): copies the whole file')
  await db.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

async function checkpointCases() {
  const sizes = quick ? [10, 100] : [10, 100, 1000]
  for (const mb of sizes) {
    const name = `createCheckpoint ${mb >= 1000 ? `${mb / 1000} GB` : `${mb} MB`}`
    const dir = path.join(root, `cp-src-${mb}`)
    const db = RocksDatabase.open(dir, { encoding: 'binary', compression: 'none' })
    const chunk = Buffer.alloc(4096)
    for (let i = 0; i < (mb * 1024 * 1024) / chunk.length; i++) {
      chunk.writeUInt32LE(i, 0)
      db.putSync(key(i), chunk)
    }
    db.flushSync()
    // Measured on a quiet database: compactions the fill set off would compete
    // with the event loop for the two cores and blur what the checkpoint costs.
    while (db.getDBIntProperty('rocksdb.compaction-pending') || db.getDBIntProperty('rocksdb.num-running-compactions')) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    global.gc?.()
    const runs = mb >= 1000 ? 3 : 5
    // The loop's delay with nothing to do, measured the same way: what the
    // timer and the machine add on their own.
    const idle = monitorEventLoopDelay({ resolution: 1 })
    idle.enable()
    const idleTicker = setInterval(() => {}, 1)
    for (let run = 0; run <= runs; run++) await new Promise((resolve) => setTimeout(resolve, 10))
    clearInterval(idleTicker)
    idle.disable()
    const times = []
    const targets = []
    let callTime = 0
    // One monitor over the whole series, with idle gaps between runs, so a
    // checkpoint shorter than the sampling interval still has samples around it.
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    // A timer keeps the loop measurable while the checkpoint runs.
    const ticker = setInterval(() => {}, 1)
    for (let run = 0; run < runs; run++) {
      const target = path.join(root, `cp-${mb}-${run}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
      const start = process.hrtime.bigint()
      const done = db.createCheckpoint(target)
      // How long the call itself holds the JavaScript thread.
      callTime = Math.max(callTime, Number(process.hrtime.bigint() - start))
      await done
      times.push(Number(process.hrtime.bigint() - start))
      targets.push(target)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
    clearInterval(ticker)
    delay.disable()
    // Removed only now: a synchronous removal would stall the loop it measures.
    for (const target of targets) fs.rmSync(target, { recursive: true, force: true })
    const worstStall = delay.max / 1e6
    record(
      name,
      'rocksdb-branch',
      median(times),
      `longest event-loop delay ${worstStall.toFixed(2)} ms (idle: ${(idle.max / 1e6).toFixed(2)} ms); the call holds the thread ${(callTime / 1000).toFixed(0)} µs`,
    )
    await lmdbBackup(name, mb, chunk, runs)
    const copyTarget = path.join(root, `copy-${mb}`)
    const copyStart = process.hrtime.bigint()
    execFileSync('cp', ['-r', dir, copyTarget])
    record(name, 'cp -r (plain copy)', Number(process.hrtime.bigint() - copyStart), `${(directoryBytes(dir) / 1048576).toFixed(0)} MiB copied`)
    fs.rmSync(copyTarget, { recursive: true, force: true })
    na(name, 'rocksdb (Level)', 'no checkpoint API')
    na(name, 'classic-level', 'no checkpoint API')
    db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function memoryCase() {
  const ops = quick ? 200_000 : 2_000_000
  const cycles = quick ? 50 : 1000
  const db = RocksDatabase.open(path.join(root, 'memory'), { encoding: 'binary' })
  const run = async (count, cps) => {
    for (let i = 0; i < count; i++) {
      // Yield now and then, as a server does: Node 20 runs the finalizers of
      // native objects (each range's iterator) only on a later turn of the loop.
      if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve))
      const k = key(i % 50_000)
      if (i % 4 === 0) db.putSync(k, VALUE)
      else if (i % 4 === 1) db.getSync(k)
      else if (i % 4 === 2) db.removeSync(k)
      else for (const _ of db.getRange({ start: k, limit: 5 }));
    }
    for (let c = 0; c < cps; c++) {
      const target = path.join(root, 'memory-cp')
      await db.createCheckpoint(target)
      fs.rmSync(target, { recursive: true, force: true })
    }
  }
  const rss = () => {
    global.gc?.()
    return process.memoryUsage().rss / 1048576
  }
  // The warm-up, twice as long as the run, fills what is meant to fill: the
  // block cache, V8's heap, and the malloc arenas memtables come from (glibc
  // keeps the 8 MiB blocks of flushed memtables for reuse rather than return
  // them, so RSS climbs by about two write buffers' worth over the first
  // three million or so operations, then levels off). Then four quarters of
  // the run, RSS read after each.
  await run(2 * ops, 2 * cycles)
  const before = rss()
  const quarters = []
  for (let q = 0; q < 4; q++) {
    await run(ops / 4, cycles / 4)
    quarters.push(rss())
  }
  db.close()
  const after = quarters[quarters.length - 1]
  record(
    `memory: ${ops.toLocaleString('en')} ops + ${cycles} checkpoints`,
    'rocksdb-branch',
    null,
    `RSS after warm-up ${before.toFixed(0)} MiB, after each quarter ${quarters.map((m) => m.toFixed(0)).join(', ')} MiB (grew ${(after - before).toFixed(1)} MiB)`,
  )
}

// --- report ------------------------------------------------------------------

function format(ns) {
  if (ns === null) return 'n/a'
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(0)} ns`
}

function report() {
  const cases = [...new Set(results.map((r) => r.case))]
  const lines = []
  for (const name of cases) {
    const rows = results.filter((r) => r.case === name)
    const ours = rows.find((r) => r.impl === 'rocksdb-branch')
    lines.push(`\n${name}`)
    for (const row of rows) {
      const ratio = row.nsPerOp !== null && ours?.nsPerOp && row !== ours ? `  ${(row.nsPerOp / ours.nsPerOp).toFixed(2)}x ours` : ''
      const ops = row.opsPerSec ? `  ${Math.round(row.opsPerSec).toLocaleString('en')} ops/s` : ''
      lines.push(`  ${row.impl.padEnd(20)} ${format(row.nsPerOp).padStart(10)}${ops}${ratio}${row.note ? `  (${row.note})` : ''}`)
    }
  }
  return lines.join('\n')
}

/** The results as a Markdown table: one row per case, one column per library. */
function markdown(machine) {
  const impls = [...new Set(results.map((r) => r.impl))]
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; ${KEYS.toLocaleString('en')} keys, ${VALUE.length}-byte values;`,
    'no fsync per write anywhere (RocksDB WAL, LMDB noSync). Median time per operation; in brackets, that',
    "library's time over rocksdb-branch's (above 1: rocksdb-branch is faster). Generated by `npm run bench`.",
    '',
    `| case | ${impls.join(' | ')} |`,
    `|---|${impls.map(() => '---:').join('|')}|`,
  ]
  for (const name of [...new Set(results.map((r) => r.case))]) {
    const ours = results.find((r) => r.case === name && r.impl === 'rocksdb-branch')
    const cells = impls.map((impl) => {
      const row = results.find((r) => r.case === name && r.impl === impl)
      if (!row) return ''
      if (row.nsPerOp === null) return row.note ?? 'n/a'
      const ratio = row !== ours && ours?.nsPerOp ? ` (${(row.nsPerOp / ours.nsPerOp).toFixed(2)}x)` : ''
      return `${format(row.nsPerOp)}${ratio}${row.note ? ` ${row.note}` : ''}`
    })
    lines.push(`| ${name} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n') + '\n'
}

function svg() {
  // One bar per peer and case: the peer's time over ours (above 1: ours is faster).
  const rows = []
  for (const name of [...new Set(results.map((r) => r.case))]) {
    const ours = results.find((r) => r.case === name && r.impl === 'rocksdb-branch')
    if (!ours?.nsPerOp) continue
    for (const r of results.filter((x) => x.case === name && x.impl !== 'rocksdb-branch' && x.nsPerOp)) {
      rows.push({ label: `${name} — ${r.impl}`, ratio: r.nsPerOp / ours.nsPerOp })
    }
  }
  const width = 900
  const bar = 18
  const left = 380
  const max = Math.max(2, ...rows.map((r) => Math.log10(r.ratio) + 1))
  const scale = (width - left - 80) / max
  const height = 60 + rows.length * (bar + 6)
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Peer time / rocksdb-branch time (log scale; right of the line: rocksdb-branch is faster)</text>`,
    `<line x1="${left + scale}" y1="30" x2="${left + scale}" y2="${height - 10}" stroke="#444"/>`,
  ]
  rows.forEach((r, i) => {
    const y = 40 + i * (bar + 6)
    const w = Math.max(1, (Math.log10(r.ratio) + 1) * scale)
    parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${esc(r.label)}</text>`)
    parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${r.ratio >= 1 ? '#2e7d32' : '#c62828'}"/>`)
    parts.push(`<text x="${left + w + 6}" y="${y + 13}">${r.ratio.toFixed(2)}x</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

// The many-branches measurement (bench/branches.js), in a process of its
// own so that its resident memory is its own.
let branches = null

function branchesCase() {
  const out = path.join(root, 'branches.json')
  const args = quick ? ['--branches', '100', '--keys', '20000'] : ['--branches', '1000', '--keys', '100000']
  execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, 'branches.js'), ...args, '--json', out], { stdio: 'inherit' })
  return JSON.parse(fs.readFileSync(out, 'utf8'))
}

function branchesMarkdown() {
  if (!branches) return ''
  const b = branches
  return [
    '',
    `Many live branches in one process (\`bench/branches.js\`): ${b.branches.toLocaleString('en')} branches of a base of ${b.keys.toLocaleString('en')} flushed keys,`,
    'each made with db.branches.create, opened with db.branches.open, read whole, written 200 times and kept open, with the default settings.',
    '',
    '| RSS per open branch | process RSS | createCheckpoint | branches.create | open | close | shared block cache |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${b.rssPerBranchMiB.toFixed(2)} MiB | ${b.rssTotalMiB.toFixed(0)} MiB | ${b.checkpointMedianMs.toFixed(2)} ms | ${b.createMedianMs.toFixed(2)} ms | ${b.openMedianMs.toFixed(2)} ms | ${b.closeMedianMs.toFixed(2)} ms | ${(b.memoryUsage.blockCacheUsage / 2 ** 20).toFixed(1)} MiB |`,
    '',
    'Times are medians.',
  ].join('\n')
}

// The backup measurement (bench/backups.js), in a process of its own.
let backupRun = null

function backupsCase() {
  const out = path.join(root, 'backups.json')
  const args = ['--expose-gc', path.join(__dirname, 'backups.js'), '--gb', quick ? '0.1' : '1', '--json', out]
  execFileSync(process.execPath, args, { stdio: 'inherit' })
  return JSON.parse(fs.readFileSync(out, 'utf8'))
}

function backupsMarkdown() {
  const b = backupRun
  if (!b) return ''
  const pct = (x) => `${(x * 100).toFixed(1)} %`
  const row = (name, m) =>
    `| ${name} | ${m.syncedSeconds.toFixed(2)} s (${pct(m.speedOfCpSync)}) | ${m.unsyncedSeconds.toFixed(2)} s (${pct(m.speedOfCp)}) | ${m.loopDelayP99Ms.toFixed(1)} / ${m.loopDelayMaxMs.toFixed(1)} ms | ${m.loopDelayIdleP99Ms.toFixed(1)} / ${m.loopDelayIdleMaxMs.toFixed(1)} ms |`
  return [
    '',
    '',
    `Backups (\`bench/backups.js\`) of ${b.gb.toFixed(2)} GB of incompressible values to a local directory; \`cp -r\` took ${b.cpSeconds.toFixed(2)} s, with \`sync\` ${b.cpSyncSeconds.toFixed(2)} s:`,
    '',
    '| files at a time | synced (of cp -r + sync\'s speed) | sync: false (of cp -r\'s speed) | event loop delay p99 / max | idle as long, p99 / max |',
    '|---|---:|---:|---:|---:|',
    row('1 (the default on two cores)', b.backup),
    row('2', b.backupTwoAtATime),
    '',
    `Event loop delay beside another process's cp -r + sync: max ${b.loopDelayCpBesideMaxMs.toFixed(1)} ms. ` +
      `Next backup after 1 % of the keys changed and compacted (${(b.targetFileSize / 2 ** 20).toFixed(0)} MiB SST files): contiguous keys ${pct(b.incrementalContiguousCopied)}, ` +
      `spread keys ${pct(b.incrementalSpreadCopied)}, contiguous keys of a database loaded in key order ${pct(b.incrementalOrderedLoadContiguousCopied)}. Verify: ${b.verifySecondsPerGb.toFixed(2)} s per GB.`,
  ].join('\n')
}

async function main() {
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`
  console.log(`rocksdb-branch benchmarks${quick ? ' (quick)' : ''}: ${KEYS.toLocaleString('en')} keys, 100-byte values\n${machine}`)
  try {
    await pointAndRangeCases()
    await checkpointCases()
    await memoryCase()
    branches = branchesCase()
    backupRun = backupsCase()
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
  console.log(report())
  const docs = path.resolve(__dirname, '..', 'docs')
  fs.mkdirSync(docs, { recursive: true })
  const out = { date: new Date().toISOString(), machine, quick, keys: KEYS, valueBytes: VALUE.length, durability: 'no fsync per write (RocksDB WAL, LMDB noSync)', results, branches }
  fs.writeFileSync(path.join(docs, quick ? 'bench-results-quick.json' : 'bench-results.json'), JSON.stringify(out, null, 2) + '\n')
  fs.writeFileSync(path.join(docs, quick ? 'bench-quick.svg' : 'bench.svg'), svg())
  fs.writeFileSync(path.join(docs, quick ? 'bench-quick.md' : 'bench.md'), markdown(machine) + branchesMarkdown() + backupsMarkdown() + '\n')
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
