'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const { RocksDatabase } = require('..')
const { scratch, isRoot } = require('./helpers')

function inode(file) {
  return fs.statSync(file).ino
}

test('the seed scenario: checkpoint, identical reads, then isolation both ways', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  for (let i = 0; i < 1000; i++) db.putSync(['user', i], { id: i, name: `user ${i}` })
  await db.flush()
  for (let i = 1000; i < 1100; i++) db.putSync(['user', i], { id: i, name: `user ${i}` }) // still in the memtable
  await db.createCheckpoint(s.path('branch'))
  const branch = s.open('branch')
  for (let i = 0; i < 1100; i++) t.deepEqual(branch.getSync(['user', i]), db.getSync(['user', i]))

  db.putSync('only-in-main', 1)
  branch.putSync('only-in-branch', 2)
  db.removeSync(['user', 0])
  branch.putSync(['user', 1], 'changed in branch')
  t.is(db.getSync('only-in-branch'), undefined)
  t.is(branch.getSync('only-in-main'), undefined)
  t.deepEqual(branch.getSync(['user', 0]), { id: 0, name: 'user 0' })
  t.deepEqual(db.getSync(['user', 1]), { id: 1, name: 'user 1' })
  t.is(branch.getSync(['user', 1]), 'changed in branch')

  // and each survives a reopen on its own
  db.close()
  branch.close()
  const reopened = s.open('branch')
  t.is(reopened.getSync('only-in-branch'), 2)
  t.is(reopened.getSync('only-in-main'), undefined)
})

test('SST files of a checkpoint are hardlinks of the source files', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  for (let i = 0; i < 200; i++) db.putSync(i, 'x'.repeat(100))
  db.flushSync()
  await db.createCheckpoint(s.path('cp'))
  const sst = fs.readdirSync(s.path('cp')).filter((f) => f.endsWith('.sst'))
  t.true(sst.length > 0)
  for (const file of sst) t.is(inode(s.path('cp', file)), inode(s.path('main', file)), file)
})

test('the checkpoint holds every write acknowledged before the call, under concurrent writes', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  let acknowledged = 0
  let writing = true
  const writer = (async () => {
    while (writing) {
      await db.put(['w', acknowledged], acknowledged)
      acknowledged++
    }
  })()
  while (acknowledged < 500) await new Promise((resolve) => setImmediate(resolve))
  const before = acknowledged
  await db.createCheckpoint(s.path('cp'))
  writing = false
  await writer
  const cp = s.open('cp')
  for (let i = 0; i < before; i++) t.is(cp.getSync(['w', i]), i, `write ${i} acknowledged before the checkpoint`)
  // Point in time: whatever it holds is a prefix of the writes.
  let held = before
  while (cp.getSync(['w', held]) !== undefined) held++
  t.true(held <= acknowledged)
  for (let i = held; i < acknowledged; i++) t.is(cp.getSync(['w', i]), undefined)
})

test('missing parent directories of the target are created', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  db.putSync('k', 'v')
  await db.createCheckpoint(s.path('deep/er/still/cp'))
  const cp = s.open('deep/er/still/cp')
  t.is(cp.getSync('k'), 'v')
})

test('a relative target resolves against the working directory', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  db.putSync('k', 'v')
  await db.createCheckpoint(path.relative(process.cwd(), s.path('rel-cp')))
  t.true(fs.existsSync(s.path('rel-cp', 'CURRENT')))
})

test('an existing target is refused with ERR_TARGET_EXISTS and left untouched', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  fs.mkdirSync(s.path('taken'))
  fs.writeFileSync(s.path('taken', 'precious.txt'), 'keep me')
  const error = await t.throwsAsync(db.createCheckpoint(s.path('taken')), { code: 'ERR_TARGET_EXISTS' })
  t.regex(error.message, /already exists/)
  t.is(fs.readFileSync(s.path('taken', 'precious.txt'), 'utf8'), 'keep me')
  fs.writeFileSync(s.path('a-file'), 'x')
  await t.throwsAsync(db.createCheckpoint(s.path('a-file')), { code: 'ERR_TARGET_EXISTS' })
})

test("an existing '<target>.tmp' is refused with ERR_STAGING_PATH_EXISTS and never deleted", async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  fs.mkdirSync(s.path('cp.tmp'))
  fs.writeFileSync(s.path('cp.tmp', 'precious.txt'), 'keep me')
  const error = await t.throwsAsync(db.createCheckpoint(s.path('cp')), { code: 'ERR_STAGING_PATH_EXISTS' })
  t.regex(error.message, /cp\.tmp/)
  t.is(fs.readFileSync(s.path('cp.tmp', 'precious.txt'), 'utf8'), 'keep me')
  t.false(fs.existsSync(s.path('cp')))
})

test('a file where a parent directory should be is ERR_NOT_A_DIRECTORY', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  fs.writeFileSync(s.path('file'), 'x')
  const error = await t.throwsAsync(db.createCheckpoint(s.path('file', 'sub', 'cp')), { code: 'ERR_NOT_A_DIRECTORY' })
  t.regex(error.message, /not a directory/)
})

test('wrong targetPath arguments are TypeErrors', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  for (const bad of [undefined, null, 42, {}, ['a'], '']) {
    const error = await t.throwsAsync(db.createCheckpoint(bad), { instanceOf: TypeError })
    t.regex(error.message, /"targetPath"/)
  }
})

// Root ignores permission bits, so as root the denied write runs in a child
// process as the unprivileged user `nobody`.
test('permission denied rejects with ERR_PERMISSION_DENIED', async (t) => {
  if (process.platform === 'win32') {
    t.log('POSIX permission bits do not deny directory writes on Windows; not exercised there')
    t.pass()
    return
  }
  const s = scratch(t)
  fs.chmodSync(s.dir, 0o755)
  const db = s.open('main')
  db.putSync('k', 'v')
  db.flushSync()
  fs.mkdirSync(s.path('locked'))
  if (!isRoot) {
    fs.chmodSync(s.path('locked'), 0o555)
    t.teardown(() => fs.chmodSync(s.path('locked'), 0o755))
    await t.throwsAsync(db.createCheckpoint(s.path('locked', 'cp')), { code: 'ERR_PERMISSION_DENIED' })
    return
  }
  db.close()
  // Let `nobody` open the database but not write into `locked`.
  execFileSync('chown', ['-R', 'nobody', s.path('main')])
  fs.chmodSync(s.path('locked'), 0o555)
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const db = RocksDatabase.open(${JSON.stringify(s.path('main'))})
    db.createCheckpoint(${JSON.stringify(s.path('locked', 'cp'))})
      .then(() => console.log(JSON.stringify({ ok: true })))
      .catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message })))
      .finally(() => db.close())`
  const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' })
  t.is(child.status, 0, child.stderr)
  const outcome = JSON.parse(child.stdout.trim().split('\n').pop())
  t.is(outcome.code, 'ERR_PERMISSION_DENIED', outcome.message)
  t.regex(outcome.message, /Permission denied/i)
})

// A full disk is a small tmpfs: hardlinks cannot cross filesystems, so RocksDB
// copies the SST files into it and runs out of space.
test('a full disk rejects with ERR_NO_SPACE and leaves no partial checkpoint', async (t) => {
  if (!isRoot) {
    t.log('mounting a small tmpfs needs root; running as an ordinary user, the disk-full case is not exercised')
    t.pass()
    return
  }
  const s = scratch(t)
  const db = s.open('main', { compression: 'none' })
  const chunk = Buffer.alloc(64 * 1024, 7)
  for (let i = 0; i < 64; i++) db.putSync(i, chunk) // about 4 MB
  db.flushSync()
  fs.mkdirSync(s.path('small'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', s.path('small')])
  if (mounted.status !== 0) {
    t.log(`cannot mount tmpfs here (${String(mounted.stderr).trim()}); the disk-full case is not exercised`)
    t.pass()
    return
  }
  t.teardown(() => spawnSync('umount', [s.path('small')]))
  const error = await t.throwsAsync(db.createCheckpoint(s.path('small', 'cp')), { code: 'ERR_NO_SPACE' })
  t.regex(error.message, /No space left on device/)
  t.false(fs.existsSync(s.path('small', 'cp')))
  t.false(fs.existsSync(s.path('small', 'cp.tmp')))
})

test('close() while a checkpoint is in flight: the checkpoint settles cleanly and the database closes', async (t) => {
  const s = scratch(t)
  const db = s.open('main')
  for (let i = 0; i < 20000; i++) db.putSync(i, 'v'.repeat(50)) // in the memtable: the checkpoint must flush
  const pending = db.createCheckpoint(s.path('cp'))
  db.close()
  t.false(db.isOpen())
  await pending // holds its own reference to the engine, so it completes
  t.throws(() => db.getSync(1), { code: 'ERR_DATABASE_CLOSED' })
  const cp = s.open('cp')
  t.is(cp.getSync(19999), 'v'.repeat(50))
  // The source's lock is released once the checkpoint settled.
  const reopened = s.open('main')
  t.is(reopened.getSync(0), 'v'.repeat(50))
})

test('the event loop keeps turning while a checkpoint of many SST files runs', async (t) => {
  const s = scratch(t)
  const db = s.open('main', { compression: 'none' })
  const value = Buffer.alloc(1000, 1)
  for (let file = 0; file < 40; file++) {
    for (let i = 0; i < 500; i++) db.putSync([file, i], value)
    db.flushSync()
  }
  for (let i = 0; i < 5000; i++) db.putSync(['mem', i], value)
  let ticks = 0
  let settled = false
  const ticker = (async () => {
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve))
      ticks++
    }
  })()
  const checkpoint = db.createCheckpoint(s.path('cp')).finally(() => (settled = true))
  // The call itself returns at once: nothing has run on this thread yet.
  t.is(ticks, 0)
  await checkpoint
  await ticker
  t.true(ticks > 0, 'the loop ticked while the checkpoint ran on a worker')
  const sst = fs.readdirSync(s.path('cp')).filter((f) => f.endsWith('.sst'))
  t.true(sst.length >= 10, `${sst.length} SST files`)
  t.deepEqual(s.open('cp').getSync(['mem', 4999]), value)
})

test('a read-only database can be checkpointed', async (t) => {
  const s = scratch(t)
  const writer = s.open('main')
  writer.putSync('k', 'v')
  writer.flushSync()
  writer.close()
  const reader = s.open('main', { readOnly: true })
  await reader.createCheckpoint(s.path('cp'))
  t.is(s.open('cp').getSync('k'), 'v')
})
