#!/usr/bin/env node
'use strict'

// Backups of a database of incompressible values (1 GB by default):
//
//  - a full backup to a local directory, against `cp -r` of the same files
//    (and `cp -r` followed by `sync`, since a backup syncs what it writes),
//    one file at a time (the default on two cores) and two at a time;
//  - the event loop's delay during those backups, against its idle baseline
//    and against its delay while another process copies the same files;
//  - after 1 % of the keys changed (a contiguous 1 %, as time-ordered keys
//    or one tenant's keys change) and a compaction, the bytes the next
//    backup copies; on this database, loaded in random key order, whose
//    files compactions wrote (`targetFileSize` each), and on one loaded in
//    key order, whose files are whole memtables that compactions moved down
//    unchanged;
//  - the same for 1 % of the keys spread over the whole key space;
//  - verify's time per GB.
//
//   node --expose-gc bench/backups.js [--gb 1] [--target-file-size BYTES] [--json FILE]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { execFileSync, execFile } = require('node:child_process')
const { promisify } = require('node:util')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { option, median, saveJson, script } = require('./script')
const { RocksDatabase, backups } = require('..')


const GB = Number(option('--gb', 1))
// The SST file size, for the incremental measurement: a backup copies whole
// files, so what a compaction rewrites is what the next backup copies.
// Default: the package's.
const TARGET_FILE_SIZE = option('--target-file-size', undefined)
const DEFAULT_TARGET_FILE_SIZE = 8 * 2 ** 20
const VALUE_BYTES = 1000
const KEYS = Math.round((GB * 1e9) / VALUE_BYTES)
const key = (i) => `key${String(i).padStart(10, '0')}`
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9

function directoryBytes(dir) {
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)
}

/** The event loop's delay while `work` runs: max and p99, in ms. */
async function loopDelay(work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const result = await work()
  histogram.disable()
  return { result, maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 }
}

/** 0 .. count - 1 in a random order (Fisher-Yates). */
function shuffled(count) {
  const order = new Uint32Array(count)
  for (let i = 0; i < count; i++) order[i] = i
  for (let i = count - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** A database of `order.length` keys written in that order, flushed and compacted. */
function load(dir, order) {
  const db = RocksDatabase.open(dir, {
    encoding: 'binary',
    ...(TARGET_FILE_SIZE ? { targetFileSize: Number(TARGET_FILE_SIZE) } : {}),
  })
  for (const i of order) db.putSync(key(i), crypto.randomBytes(VALUE_BYTES))
  db.flushSync()
  db.compactSync()
  return db
}

/**
 * The share of the bytes the next backup of `db` into `store` copies after
 * `keys` changed and a compaction.
 */
async function copiedAfterChange(db, store, keys) {
  change(db, keys)
  const reports = []
  await db.backup(store, { progress: (p) => reports.push(p) })
  return reports.at(-1).bytesCopied / reports.at(-1).bytesTotal
}

function change(db, keys) {
  for (const i of keys) db.putSync(key(i), crypto.randomBytes(VALUE_BYTES))
  db.flushSync()
  db.compactSync()
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-backups-'))
  try {
    const db = load(path.join(root, 'db'), shuffled(KEYS))
    // The files a backup copies: those of a checkpoint.
    await db.createCheckpoint(path.join(root, 'files'))
    const bytes = directoryBytes(path.join(root, 'files'))

    // Both read from the page cache: the files are read once first, and
    // each copy is timed three times, after a sync, the best run counting.
    for (const name of fs.readdirSync(path.join(root, 'files'))) fs.readFileSync(path.join(root, 'files', name))
    const RUNS = 3
    // `work` may return the seconds of the part to time (a run that also
    // measures an idle event loop afterwards); else the whole run counts.
    const best = async (work) => {
      let fastest = Infinity
      for (let run = 0; run < RUNS; run++) {
        // No earlier copy's dirty pages are written back during this one.
        execFileSync('sync')
        const start = process.hrtime.bigint()
        const timed = await work(run)
        fastest = Math.min(fastest, typeof timed === 'number' ? timed : seconds(start))
      }
      return fastest
    }
    const removeCopies = (prefix) => {
      for (const name of fs.readdirSync(root)) if (name.startsWith(prefix)) fs.rmSync(path.join(root, name), { recursive: true })
    }
    const cpSeconds = await best((run) => {
      execFileSync('cp', ['-r', path.join(root, 'files'), path.join(root, `cp${run}`)])
    })
    const cpSyncSeconds = await best((run) => {
      execFileSync('cp', ['-r', path.join(root, 'files'), path.join(root, `cp-sync${run}`)])
      execFileSync('sync', ['-f', path.join(root, `cp-sync${run}`)])
    })
    removeCopies('cp')

    // Garbage of the load collected now, not during the measurements.
    globalThis.gc?.()
    // The same disk traffic made by another process: on a small machine the
    // kernel's writeback delays every process's event loop, ours included.
    execFileSync('sync')
    const beside = await loopDelay(async () => {
      await promisify(execFile)('cp', ['-r', path.join(root, 'files'), path.join(root, 'cp-beside')])
      await promisify(execFile)('sync', ['-f', path.join(root, 'cp-beside')])
    })
    removeCopies('cp-beside')
    // A backup with `options`, synced and not, each against cp's copies;
    // each synced run's event loop delays against those of an idle event
    // loop over the same time just after it (a longer window sees a larger
    // maximum). Medians of the runs' delays.
    let stores = 0
    const measureBackups = async (options) => {
      const during = []
      const idle = []
      const synced = await best(async () => {
        const start = process.hrtime.bigint()
        during.push(await loopDelay(() => db.backup(path.join(root, `store-${stores++}`), options)))
        const took = seconds(start)
        execFileSync('sync')
        idle.push(await loopDelay(() => new Promise((resolve) => setTimeout(resolve, took * 1000))))
        // The backup alone: not the sync and idle window that follow it.
        return took
      })
      const unsynced = await best(() => db.backup(path.join(root, `store-${stores++}`), { ...options, sync: false }))
      return {
        syncedSeconds: synced,
        speedOfCpSync: cpSyncSeconds / synced,
        unsyncedSeconds: unsynced,
        speedOfCp: cpSeconds / unsynced,
        loopDelayMaxMs: median(during.map((d) => d.maxMs)),
        loopDelayP99Ms: median(during.map((d) => d.p99Ms)),
        loopDelayIdleMaxMs: median(idle.map((d) => d.maxMs)),
        loopDelayIdleP99Ms: median(idle.map((d) => d.p99Ms)),
      }
    }
    const oneAtATime = await measureBackups({ maxBackgroundOperations: 1 })
    const twoAtATime = await measureBackups({ maxBackgroundOperations: 2 })
    const store = path.join(root, 'store')
    fs.renameSync(path.join(root, 'store-0'), store)
    removeCopies('store-')

    // A contiguous 1 % of the keys, then 1 % spread over all of them.
    const contiguous = Array.from({ length: Math.ceil(KEYS / 100) }, (_, i) => Math.floor(KEYS / 2) + i)
    const spread = Array.from({ length: Math.ceil(KEYS / 100) }, (_, i) => i * 100)
    const contiguousCopied = await copiedAfterChange(db, store, contiguous)
    const spreadCopied = await copiedAfterChange(db, store, spread)
    // The same contiguous change on a database loaded in key order.
    const ordered = load(path.join(root, 'ordered'), Array.from({ length: KEYS }, (_, i) => i))
    await ordered.backup(path.join(root, 'ordered-store'))
    const orderedContiguousCopied = await copiedAfterChange(ordered, path.join(root, 'ordered-store'), contiguous)
    await ordered.close()

    const start = process.hrtime.bigint()
    await backups.verify(store, 1)
    const verifySeconds = seconds(start)
    await db.close()

    const result = {
      gb: bytes / 1e9,
      targetFileSize: TARGET_FILE_SIZE ? Number(TARGET_FILE_SIZE) : DEFAULT_TARGET_FILE_SIZE,
      keys: KEYS,
      cpSeconds,
      cpSyncSeconds,
      // One file at a time (the default on two cores), and two.
      backup: oneAtATime,
      backupTwoAtATime: twoAtATime,
      loopDelayCpBesideMaxMs: beside.maxMs,
      incrementalContiguousCopied: contiguousCopied,
      incrementalSpreadCopied: spreadCopied,
      incrementalOrderedLoadContiguousCopied: orderedContiguousCopied,
      verifySecondsPerGb: verifySeconds / (bytes / 1e9),
    }
    const pct = (x) => `${(x * 100).toFixed(1)} %`
    console.log(
      `Backup of ${(bytes / 1e9).toFixed(2)} GB (${KEYS.toLocaleString('en')} keys of ${VALUE_BYTES} random bytes) to a local directory:\n` +
        `  cp -r                   ${cpSeconds.toFixed(2)} s; with sync ${cpSyncSeconds.toFixed(2)} s\n` +
        [
          ['db.backup, one file at a time', oneAtATime],
          ['maxBackgroundOperations: 2', twoAtATime],
        ]
          .map(
            ([name, m]) =>
              `  ${name}\n` +
              `    every file synced     ${m.syncedSeconds.toFixed(2)} s: ${pct(m.speedOfCpSync)} of cp -r + sync's speed\n` +
              `    sync: false           ${m.unsyncedSeconds.toFixed(2)} s: ${pct(m.speedOfCp)} of cp -r's speed\n` +
              `    event loop delay      max ${m.loopDelayMaxMs.toFixed(2)} ms, p99 ${m.loopDelayP99Ms.toFixed(2)} ms; idle as long: max ${m.loopDelayIdleMaxMs.toFixed(2)} ms, p99 ${m.loopDelayIdleP99Ms.toFixed(2)} ms\n`,
          )
          .join('') +
        `  event loop delay while another process ran cp -r + sync of the same files: max ${beside.maxMs.toFixed(2)} ms\n` +
        `  next backup, 1 % changed and compacted (SST files of ${(result.targetFileSize / 2 ** 20).toFixed(0)} MiB): contiguous keys ${pct(contiguousCopied)} copied; spread keys ${pct(spreadCopied)}\n` +
        `  the same, contiguous keys, on a database loaded in key order (files of one memtable each): ${pct(orderedContiguousCopied)} copied\n` +
        `  verify                  ${result.verifySecondsPerGb.toFixed(2)} s per GB`,
    )
    saveJson(result)
    return result
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

script(module, main)
