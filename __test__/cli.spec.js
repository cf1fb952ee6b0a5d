'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync, spawn } = require('node:child_process')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const BIN = path.resolve(__dirname, '..', 'bin', 'rocksdb-branch.js')

function cli(...args) {
  const child = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { code: child.status, stdout: child.stdout, stderr: child.stderr }
}

function makeDb(t) {
  const s = scratch(t)
  const db = RocksDatabase.open(s.path('db'))
  for (let i = 0; i < 50; i++) db.putSync(i, `v${i}`)
  db.close()
  return { s, dbPath: s.path('db') }
}

test('checkpoint create, list, info, refresh, verify, delete through the CLI', (t) => {
  const { dbPath } = makeDb(t)
  const created = cli('checkpoint', 'create', dbPath, 'nightly', '--lifetime', '60000', '--metadata', '{"build":7}', '--json')
  t.is(created.code, 0, created.stderr)
  const info = JSON.parse(created.stdout)
  t.is(info.name, 'nightly')
  t.deepEqual(info.metadata, { build: 7 })
  t.truthy(info.expiresAt)

  const table = cli('checkpoint', 'list', dbPath)
  t.is(table.code, 0)
  t.regex(table.stdout, /^name\s+id\s+created/)
  t.true(table.stdout.includes(info.id))
  t.deepEqual(JSON.parse(cli('checkpoint', 'list', dbPath, '--json').stdout).map((c) => c.name), ['nightly'])

  const shown = cli('checkpoint', 'info', dbPath, info.id)
  t.is(shown.code, 0)
  t.regex(shown.stdout, /exclusive/)

  const refreshed = JSON.parse(cli('checkpoint', 'refresh', dbPath, 'nightly', 'never', '--json').stdout)
  t.is(refreshed.expiresAt, null)

  const verified = cli('checkpoint', 'verify', dbPath, 'nightly', '--json')
  t.is(verified.code, 0, verified.stderr)
  t.is(JSON.parse(verified.stdout).files, info.fileCount)

  t.is(cli('checkpoint', 'delete', dbPath, 'nightly').code, 0)
  t.deepEqual(JSON.parse(cli('checkpoint', 'list', dbPath, '--json').stdout), [])
  const missing = cli('checkpoint', 'delete', dbPath, 'nightly')
  t.is(missing.code, 1)
  t.regex(missing.stderr, /ERR_CHECKPOINT_NOT_FOUND/)
  t.is(missing.stderr.trim().split('\n').length, 1)
})

test('prune, branch and restore through the CLI', async (t) => {
  const { s, dbPath } = makeDb(t)
  t.is(cli('checkpoint', 'create', dbPath, 'short', '--lifetime', '1').code, 0)
  t.is(cli('checkpoint', 'create', dbPath, 'keep').code, 0)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const pruned = JSON.parse(cli('checkpoint', 'prune', dbPath, '--json').stdout)
  t.deepEqual(pruned.map((c) => c.name), [])
  // `short` was pruned when the prune command opened the database
  t.deepEqual(JSON.parse(cli('checkpoint', 'list', dbPath, '--json').stdout).map((c) => c.name), ['keep'])

  const branched = cli('branch', dbPath, s.path('b1'), '--from', 'keep')
  t.is(branched.code, 0, branched.stderr)
  t.is(cli('branch', dbPath, s.path('b2')).code, 0)
  const b1 = s.track(RocksDatabase.open(s.path('b1')))
  t.is(b1.getSync(49), 'v49')
  b1.close()

  const db = RocksDatabase.open(dbPath)
  db.putSync(0, 'changed')
  db.close()
  const restored = cli('restore', dbPath, 'keep')
  t.is(restored.code, 0, restored.stderr)
  t.regex(restored.stdout, /pre-restore-/)
  const after = s.track(RocksDatabase.open(dbPath))
  t.is(after.getSync(0), 'v0')
})

test('branch create, list, info, reset, delete through the CLI, with --json and exit codes', async (t) => {
  const { s, dbPath } = makeDb(t)
  t.is(cli('checkpoint', 'create', dbPath, 'v1').code, 0)
  const created = cli('branch', 'create', dbPath, 'app', '--metadata', '{"owner":"a"}', '--json')
  t.is(created.code, 0, created.stderr)
  const info = JSON.parse(created.stdout)
  t.is(info.path, path.join(`${dbPath}.branches`, 'app'))
  t.deepEqual(info.parent, { type: 'database', path: dbPath })
  t.deepEqual(info.metadata, { owner: 'a' })
  const fromCheckpoint = JSON.parse(cli('branch', 'create', dbPath, 'old', '--from', 'v1', '--json').stdout)
  t.is(fromCheckpoint.parent.name, 'v1')

  const table = cli('branch', 'list', dbPath)
  t.is(table.code, 0)
  t.regex(table.stdout, /^name\s+parent\s+created/)
  t.regex(table.stdout, /old\s+checkpoint v1/)
  t.deepEqual(JSON.parse(cli('branch', 'list', dbPath, '--json').stdout).map((b) => b.name), ['app', 'old'])
  t.regex(cli('branch', 'info', dbPath, 'app').stdout, /exclusive/)

  const branch = RocksDatabase.open(info.path)
  branch.putSync(0, 'mine')
  await branch.close()
  const reset = cli('branch', 'reset', dbPath, 'app', '--json')
  t.is(reset.code, 0, reset.stderr)
  t.truthy(JSON.parse(reset.stdout).resetAt)
  const after = s.track(RocksDatabase.open(info.path))
  t.is(after.getSync(0), 'v0')
  await after.close()

  t.is(cli('branch', 'delete', dbPath, 'app').code, 0)
  t.false(fs.existsSync(info.path))
  const missing = cli('branch', 'delete', dbPath, 'app', '--json')
  t.is(missing.code, 1)
  t.is(JSON.parse(missing.stderr).code, 'ERR_BRANCH_NOT_FOUND')
  t.is(cli('branch', 'info', dbPath, 'app').code, 1)
  const bad = cli('branch', 'create', dbPath, '../x', '--json')
  t.is(bad.code, 1)
  t.is(JSON.parse(bad.stderr).code, 'ERR_INVALID_ARG_VALUE')
  t.is(cli('branch', 'create', dbPath).code, 2)
})

test('backup create, list, verify, restore, delete, purge through the CLI', async (t) => {
  const { s, dbPath } = makeDb(t)
  const store = s.path('store')
  const created = cli('backup', 'create', dbPath, store, '--metadata', 'nightly', '--json')
  t.is(created.code, 0, created.stderr)
  t.is(JSON.parse(created.stdout).backupId, 1)
  t.is(cli('backup', 'create', dbPath, store).code, 0)
  const list = JSON.parse(cli('backup', 'list', store, '--json').stdout)
  t.deepEqual(list.map((b) => [b.backupId, b.appMetadata]), [[1, 'nightly'], [2, '']])
  t.regex(cli('backup', 'list', store).stdout, /^id\s+created/)
  const verified = cli('backup', 'verify', store, '1')
  t.is(verified.code, 0, verified.stderr)
  t.regex(verified.stdout, /verified/)
  const restored = cli('backup', 'restore', store, s.path('restored'), '--id', '1', '--json')
  t.is(restored.code, 0, restored.stderr)
  const copy = s.track(RocksDatabase.open(s.path('restored')))
  t.is(copy.getSync(49), 'v49')
  await copy.close()
  t.deepEqual(JSON.parse(cli('backup', 'purge', store, '1', '--json').stdout).deleted, [1])
  t.is(cli('backup', 'delete', store, '2').code, 0)
  const missing = cli('backup', 'verify', store, '2', '--json')
  t.is(missing.code, 1)
  t.is(JSON.parse(missing.stderr).code, 'ERR_BACKUP_NOT_FOUND')
  t.is(cli('backup', 'verify', store, 'x').code, 2)
  t.is(cli('backup', 'frobnicate', store).code, 2)
})

test('while another process holds the database, writes fail at once with ERR_DATABASE_OPEN and reads still work', async (t) => {
  const { dbPath } = makeDb(t)
  t.is(cli('checkpoint', 'create', dbPath, 'c').code, 0)
  const holder = spawn(process.execPath, ['-e', `
    const { RocksDatabase } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const db = RocksDatabase.open(${JSON.stringify(dbPath)})
    console.log('open')
    process.stdin.on('data', () => { db.close(); process.exit(0) })`], { stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise((resolve) => holder.stdout.once('data', resolve))
  t.teardown(() => holder.kill())
  const create = cli('checkpoint', 'create', dbPath, 'd')
  t.is(create.code, 1)
  t.regex(create.stderr, /held open by another process.*ERR_DATABASE_OPEN/)
  t.is(cli('checkpoint', 'list', dbPath).code, 0)
  t.is(cli('checkpoint', 'info', dbPath, 'c').code, 0)
  t.is(cli('checkpoint', 'verify', dbPath, 'c').code, 0)
  const restore = cli('restore', dbPath, 'c')
  t.is(restore.code, 1)
  t.regex(restore.stderr, /ERR_DATABASE_OPEN/)
  holder.stdin.write('x')
  await new Promise((resolve) => holder.once('exit', resolve))
})

test('usage errors exit 2; help exits 0', (t) => {
  t.is(cli('--help').code, 0)
  t.regex(cli('--help').stdout, /checkpoint create/)
  for (const args of [['bogus'], ['checkpoint'], ['checkpoint', 'fly', '/tmp/x'], ['checkpoint', 'create', '/tmp/x'], ['checkpoint', 'list', '/tmp/x', '--nope']]) {
    const result = cli(...args)
    t.is(result.code, 2, args.join(' '))
  }
  const bad = cli('checkpoint', 'create', '/tmp/whatever', 'n', '--lifetime', 'soon')
  t.is(bad.code, 2)
})

test('a missing database is a one-line error with a code', (t) => {
  const s = scratch(t)
  const result = cli('checkpoint', 'create', s.path('nope'), 'c')
  t.is(result.code, 1)
  t.regex(result.stderr, /ERR_ROCKSDB_INVALID_ARGUMENT/)
  t.false(fs.existsSync(s.path('nope', 'CURRENT')))
})
