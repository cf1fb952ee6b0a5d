'use strict'

// Crash test: a child process writes, removes, checkpoints, branches (and
// writes to branches across their idle moment) and restores, every handle
// with idleTimeout set, until it is killed with SIGKILL at a random moment.
// After each kill the database is reopened and checked against the
// acknowledgement log: every acknowledged write is there (in the database
// and in its branches), every acknowledged removal is not, every listed
// checkpoint opens and verifies, and nothing half-made is left; every
// acknowledged write of a logged transaction is in the transaction log.
//
// CRASH_ITERATIONS sets the number of kills (default 6, a short run for CI);
// CRASH_SEED replays a run.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const iterations = Number(process.env.CRASH_ITERATIONS ?? 6)
const firstSeed = Number(process.env.CRASH_SEED ?? Date.now() % 1e9)
const child = path.join(__dirname, 'fixtures', 'crash-child.js')

/** Runs the child until it has worked for `ms` after opening, then kills it. */
function runAndKill(args, ms) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let timer
    proc.stderr.on('data', (chunk) => (stderr += chunk))
    proc.stdout.once('data', () => {
      timer = setTimeout(() => proc.kill('SIGKILL'), ms)
    })
    proc.on('error', reject)
    proc.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL') resolve()
      else reject(new Error(`the child exited by itself (code ${code}): ${stderr}`))
    })
  })
}

/**
 * What the log says the database must hold: `present` maps each key to
 * whether it must exist (`undefined`: a removal was under way). A restore
 * begun and not acknowledged leaves two possible states, so `candidates`
 * lists them; the parent then logs which one it found (RE or RX).
 */
function replay(lines) {
  let present = new Map()
  const snapshots = new Map()
  let pendingRestore = null
  const acknowledged = new Set()
  const deleting = new Set()
  const deleted = new Set()
  // Named branches: made, being deleted, deleted.
  const branches = { made: new Set(), deleting: new Set(), deleted: new Set(), writes: new Map() }
  // Keys whose transactions logged them since the last restore (a restore
  // puts back a checkpoint, which holds no transaction log).
  let logged = new Set()
  for (const line of lines) {
    const [op, arg] = line.split(' ')
    if (op === 'P') present.set(Number(arg), true)
    else if (op === 'L') {
      present.set(Number(arg), true)
      logged.add(Number(arg))
    }
    else if (op === 'RI') present.set(Number(arg), undefined)
    else if (op === 'R') present.set(Number(arg), false)
    else if (op === 'CB') snapshots.set(arg, new Map(present))
    else if (op === 'C') acknowledged.add(arg)
    else if (op === 'DB') deleting.add(arg)
    else if (op === 'D') deleted.add(arg)
    else if (op === 'RB') {
      pendingRestore = arg
      logged = new Set()
    }
    else if (op === 'RE') {
      present = new Map(snapshots.get(arg))
      pendingRestore = null
    } else if (op === 'RX') pendingRestore = null // a restore the crash undid
    else if (op === 'BC') branches.made.add(arg)
    else if (op === 'BD') branches.deleting.add(arg)
    else if (op === 'BDE') branches.deleted.add(arg)
    // A reset drops a branch's writes; those acknowledged since must be there.
    else if (op === 'BR') branches.writes.delete(arg)
    else if (op === 'BW') branches.writes.set(arg, [...(branches.writes.get(arg) ?? []), Number(line.split(' ')[2])])
  }
  const candidates = [present]
  if (pendingRestore !== null) candidates.push(new Map(snapshots.get(pendingRestore)))
  return { candidates, acknowledged, deleting, deleted, pendingRestore, branches, logged }
}

function matches(db, expected) {
  for (const [key, exists] of expected) {
    if (exists === undefined) continue // a removal in flight when the process died
    const value = db.getSync(key)
    if (exists ? value?.key !== key : value !== undefined) return `key ${key}: expected ${exists ? 'present' : 'absent'}, found ${JSON.stringify(value)}`
  }
  return null
}

test(`SIGKILL at random moments loses no acknowledged write and leaves nothing half-made (${iterations} kills)`, async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  const logPath = s.path('acks.log')
  fs.writeFileSync(logPath, '')
  let nextKey = 0
  let checked = 0
  let loggedChecks = 0
  const restores = { finished: 0, undone: 0 }
  for (let i = 0; i < iterations; i++) {
    const seed = firstSeed + i
    await runAndKill([dbPath, logPath, String(nextKey), String(seed)], 40 + ((seed * 7919) % 360))
    const lines = fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean)
    const { candidates, acknowledged, deleting, deleted, pendingRestore, branches, logged } = replay(lines)
    const db = RocksDatabase.open(dbPath)
    try {
      // Every logged write acknowledged is in the transaction log, whole.
      if (logged.size > 0) {
        const inLog = new Set()
        for (const { data } of db.useLog('crash').query({ start: 0, readUncommitted: true })) inLog.add(Number(data.toString()))
        const missing = [...logged].filter((key) => !inLog.has(key))
        t.deepEqual(missing, [], `seed ${seed}: acknowledged logged writes missing from the transaction log`)
        loggedChecks += logged.size
      }
      const failures = candidates.map((expected) => matches(db, expected))
      t.true(
        failures.some((failure) => failure === null),
        `seed ${seed}, after ${lines.length} acknowledgements: ${failures.join('; ')}`,
      )
      checked += candidates[0].size
      if (pendingRestore !== null) {
        // The crash came during a restore: which state the database is in
        // now decides what later acknowledgements add to, so the log says.
        const restored = failures[0] !== null
        fs.appendFileSync(logPath, restored ? `RE ${pendingRestore}\n` : 'RX\n')
        restores[restored ? 'finished' : 'undone']++
      }

      const listed = db.checkpoints.list()
      const names = new Set(listed.map((c) => c.name))
      for (const name of acknowledged) {
        if (!deleting.has(name)) {
          t.true(names.has(name), `seed ${seed}: checkpoint ${name} was acknowledged; listed: ${[...names].join(' ')}; log: ${lines.slice(-12).join(' | ')}`)
        }
      }
      for (const name of deleted) t.false(names.has(name), `seed ${seed}: checkpoint ${name} was deleted`)
      for (const info of listed) {
        await db.checkpoints.verify(info.name)
        const view = await db.checkpoints.open(info.name)
        view.getSync(0)
        await view.close()
      }
      const dir = `${dbPath}.checkpoints`
      if (fs.existsSync(dir)) {
        const leftovers = fs.readdirSync(dir).filter((entry) => entry.endsWith('.tmp'))
        t.deepEqual(leftovers, [], `seed ${seed}: staging or temporary files left`)
        const registryFile = path.join(dir, 'registry.json')
        const registry = fs.existsSync(registryFile) ? fs.readFileSync(registryFile, 'utf8') : ''
        t.false(/"(creating|deleting)"/.test(registry), `seed ${seed}: a half-made or half-deleted record left`)
        const recorded = new Set(listed.map((c) => c.id))
        for (const entry of fs.readdirSync(dir)) {
          if (!['registry.json', 'registry.lock'].includes(entry)) t.true(recorded.has(entry), `seed ${seed}: ${entry} is not a recorded checkpoint`)
        }
      }
      const branchesDir = `${dbPath}.branches`
      if (fs.existsSync(branchesDir)) {
        const registryFile = path.join(branchesDir, 'registry.json')
        const registry = fs.existsSync(registryFile) ? fs.readFileSync(registryFile, 'utf8') : ''
        t.false(/"(creating|deleting|resetting)"/.test(registry), `seed ${seed}: a branch record left marked`)
        const listedBranches = db.branches.list()
        const names = new Set(listedBranches.map((b) => b.name))
        for (const name of branches.made) {
          if (!branches.deleting.has(name)) t.true(names.has(name), `seed ${seed}: branch ${name} was acknowledged`)
        }
        for (const name of branches.deleted) t.false(names.has(name), `seed ${seed}: branch ${name} was deleted`)
        for (const entry of fs.readdirSync(branchesDir)) {
          if (!['registry.json', 'registry.lock'].includes(entry)) t.true(names.has(entry), `seed ${seed}: ${entry} in the branches directory is not a branch`)
        }
        for (const info of listedBranches) {
          const branch = await db.branches.open(info.name)
          // Every key of the base at branching time is readable; spot-check one.
          branch.getSync(0)
          for (const key of branches.writes.get(info.name) ?? []) {
            t.is(branch.getSync(`w${key}`), key, `seed ${seed}: write ${key} to branch ${info.name}, made across its idle moment, was acknowledged`)
          }
          await branch.close()
        }
      }
      t.deepEqual(
        fs.readdirSync(s.dir).filter((entry) => entry.includes('.restore-')),
        [],
        `seed ${seed}: a restore left its staging directories`,
      )
    } finally {
      await db.close()
    }
    const keys = lines.filter((line) => line.startsWith('P ') || line.startsWith('L ')).map((line) => Number(line.slice(2)))
    // Past every key the child may have written without acknowledging.
    nextKey = Math.max(nextKey, ...keys) + 1000
  }
  t.log(
    `${iterations} kills from seed ${firstSeed}; ${checked} key checks in all, ${loggedChecks} of them also in the transaction log; ` +
      `kills during a restore: ${restores.finished} found it finished, ${restores.undone} undone`,
  )
})
