'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { RocksDatabase, BranchStore } = require('..')
const { scratch } = require('./helpers')

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function withData(t, options) {
  const s = scratch(t)
  const db = s.open('db', options)
  for (let i = 0; i < 100; i++) db.putSync(['k', i], { i })
  db.flushSync()
  return { s, db }
}

/** Opens branch `name` of `db` with the teardown closing it. */
async function openBranch(s, db, name, options) {
  return s.track(await db.branches.open(name, options))
}

test('create makes a writable branch at <path>.branches/<name>, isolated both ways, sharing SST files', async (t) => {
  const { s, db } = withData(t)
  const sequence = db.getLatestSequenceNumber()
  const before = Date.now()
  const info = await db.branches.create('app-1', { metadata: { owner: 'team-a' } })
  t.is(info.name, 'app-1')
  t.regex(info.id, UUID)
  t.is(info.path, path.join(`${db.path}.branches`, 'app-1'))
  t.deepEqual(info.parent, { type: 'database', path: db.path })
  t.true(info.createdAt.getTime() >= before - 5 && info.createdAt.getTime() <= Date.now())
  t.is(info.resetAt, null)
  t.is(info.sequence, sequence)
  t.deepEqual(info.metadata, { owner: 'team-a' })
  t.false(info.open)
  t.true(info.exclusiveBytes < info.sizeBytes, 'the SST files are hardlinks of the database’s')

  const branch = await openBranch(s, db, 'app-1')
  t.is(branch.path, info.path)
  t.deepEqual(branch.getSync(['k', 7]), { i: 7 })
  branch.putSync(['k', 7], 'branch')
  db.putSync(['k', 8], 'base')
  t.deepEqual(db.getSync(['k', 7]), { i: 7 })
  t.deepEqual(branch.getSync(['k', 8]), { i: 8 })
  t.is(branch.getSync(['k', 7]), 'branch')
  t.true(db.branches.info('app-1').open)
})

test('a branch of a checkpoint holds the checkpoint’s state and names it as parent', async (t) => {
  const { s, db } = withData(t)
  const checkpoint = await db.checkpoints.create('v1')
  db.putSync('after', 1)
  const info = await db.branches.create('from-v1', { from: 'v1' })
  t.deepEqual(info.parent, { type: 'checkpoint', name: 'v1', id: checkpoint.id })
  t.is(info.sequence, checkpoint.sequence)
  const byId = await db.branches.create('from-id', { from: checkpoint.id })
  t.deepEqual(byId.parent, info.parent)
  const branch = await openBranch(s, db, 'from-v1')
  t.is(branch.getSync('after'), undefined)
  t.deepEqual(branch.getSync(['k', 1]), { i: 1 })

  const missing = await t.throwsAsync(db.branches.create('x', { from: 'nope' }))
  t.is(missing.code, 'ERR_CHECKPOINT_NOT_FOUND')
  t.false(fs.existsSync(db.branches.pathOf('x')))
  for (const from of [42, '', null]) {
    const error = await t.throwsAsync(db.branches.create('x', { from }))
    t.is(error.code, 'ERR_INVALID_ARG_TYPE', String(from))
  }
})

test('list is oldest first; info by name; branches survive a restart at the same paths', async (t) => {
  const { s, db } = withData(t)
  await db.branches.create('b')
  await db.branches.create('a', { metadata: { n: 1 } })
  const first = await openBranch(s, db, 'a')
  first.putSync('own', 'kept')
  await first.close()
  const listed = db.branches.list()
  t.deepEqual(
    listed.map((b) => b.name),
    ['b', 'a'],
  )
  for (const entry of listed) {
    t.true(entry.fileCount > 0)
    t.is(typeof entry.exclusiveBytes, 'number')
    t.is(entry.open, false)
  }
  t.is(db.branches.info('missing'), undefined)

  await db.close()
  const again = s.open('db')
  t.deepEqual(
    again.branches.list().map(({ name, id, path: dir }) => ({ name, id, dir })),
    listed.map(({ name, id, path: dir }) => ({ name, id, dir })),
  )
  const reopened = await openBranch(s, again, 'a')
  t.is(reopened.getSync('own'), 'kept')
  t.deepEqual(again.branches.info('a').metadata, { n: 1 })
  // Read without the database, as the command line does.
  t.deepEqual(
    new BranchStore(`${again.path}.branches`).list().map((b) => b.name),
    ['b', 'a'],
  )
  t.is(JSON.parse(fs.readFileSync(path.join(`${again.path}.branches`, 'registry.json'), 'utf8')).version, 1)
})

test('branchesPath puts the branches elsewhere; branches open with the database’s encodings', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { branchesPath: s.path('elsewhere'), encoding: 'binary', keyEncoding: 'binary' })
  db.putSync(Buffer.from('k'), Buffer.from('v'))
  const info = await db.branches.create('one')
  t.is(info.path, s.path('elsewhere', 'one'))
  const branch = await openBranch(s, db, 'one')
  t.deepEqual(branch.getSync(Buffer.from('k')), Buffer.from('v'))
  t.is(branch.options.encoding, 'binary')
})

test('bad names and options are TypeErrors naming them; nothing is made', async (t) => {
  const { db } = withData(t)
  const bad = [undefined, 42, '', '.hidden', '..', 'a/b', 'a\\b', 'x'.repeat(129), 'app.branches', 'app.checkpoints', 'app.tmp', 'app.restore-ready']
  for (const name of bad) {
    const error = await t.throwsAsync(db.branches.create(name), undefined, String(name))
    t.true(error instanceof TypeError, String(name))
    t.regex(error.code, /^ERR_INVALID_ARG_(TYPE|VALUE)$/)
    t.regex(error.message, /"name"/)
  }
  for (const method of ['open', 'delete', 'reset']) {
    const error = await t.throwsAsync(db.branches[method]('../escape'))
    t.is(error.code, 'ERR_INVALID_ARG_VALUE', method)
  }
  t.is((await t.throwsAsync(db.branches.create('ok', null))).code, 'ERR_INVALID_ARG_TYPE')
  t.is((await t.throwsAsync(db.branches.create('ok', { metadata: [] }))).code, 'ERR_INVALID_ARG_TYPE')
  t.is((await t.throwsAsync(db.branches.create('ok', { metadata: { n: 1n } }))).code, 'ERR_INVALID_ARG_VALUE')
  t.deepEqual(db.branches.list(), [])
  t.false(fs.existsSync(path.join(path.dirname(db.path), 'escape')))
})

test('duplicates: ERR_BRANCH_EXISTS, ignoring case; of two concurrent creates one wins; a foreign directory is left alone', async (t) => {
  const { db } = withData(t)
  await db.branches.create('App')
  for (const name of ['App', 'app']) t.is((await t.throwsAsync(db.branches.create(name))).code, 'ERR_BRANCH_EXISTS')
  const outcomes = await Promise.allSettled([db.branches.create('race'), db.branches.create('race')])
  t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
  t.is(outcomes.find((o) => o.status === 'rejected').reason.code, 'ERR_BRANCH_EXISTS')

  const foreign = db.branches.pathOf('foreign')
  fs.mkdirSync(foreign, { recursive: true })
  fs.writeFileSync(path.join(foreign, 'keep.txt'), 'mine')
  const error = await t.throwsAsync(db.branches.create('foreign'))
  t.is(error.code, 'ERR_BRANCH_EXISTS')
  t.is(fs.readFileSync(path.join(foreign, 'keep.txt'), 'utf8'), 'mine')
  t.is(db.branches.info('foreign'), undefined)
})

test('missing branches: open and reset reject with ERR_BRANCH_NOT_FOUND; delete resolves false', async (t) => {
  const { db } = withData(t)
  t.is((await t.throwsAsync(db.branches.open('none'))).code, 'ERR_BRANCH_NOT_FOUND')
  t.is((await t.throwsAsync(db.branches.reset('none'))).code, 'ERR_BRANCH_NOT_FOUND')
  t.false(await db.branches.delete('none'))
})

test('delete removes a closed branch and its files; an open one rejects with ERR_DATABASE_OPEN and stays whole', async (t) => {
  const { s, db } = withData(t)
  await db.branches.create('gone')
  const branch = await openBranch(s, db, 'gone')
  branch.putSync('x', 1)
  const error = await t.throwsAsync(db.branches.delete('gone'))
  t.is(error.code, 'ERR_DATABASE_OPEN')
  t.is(branch.getSync('x'), 1)
  t.truthy(db.branches.info('gone'))
  await branch.close()
  t.true(await db.branches.delete('gone'))
  t.false(fs.existsSync(db.branches.pathOf('gone')))
  t.is(db.branches.info('gone'), undefined)
  // The SST files it shared are still the database's.
  t.deepEqual(db.getSync(['k', 3]), { i: 3 })
})

test('a branch open in another process cannot be deleted or reset: ERR_DATABASE_OPEN', async (t) => {
  const { db } = withData(t)
  const info = await db.branches.create('held')
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const db = RocksDatabase.open(${JSON.stringify(info.path)})
    process.stdout.write('open\\n')
    process.stdin.on('data', () => { db.close(); process.exit(0) })`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  await new Promise((resolve) => child.stdout.once('data', resolve))
  t.is((await t.throwsAsync(db.branches.delete('held'))).code, 'ERR_DATABASE_OPEN')
  t.is((await t.throwsAsync(db.branches.reset('held'))).code, 'ERR_DATABASE_OPEN')
  t.true(fs.existsSync(path.join(info.path, 'CURRENT')))
  child.stdin.write('x')
  await new Promise((resolve) => child.once('exit', resolve))
  t.true(await db.branches.delete('held'))
})

test('reset brings a closed branch back to the database’s current state, in place', async (t) => {
  const { s, db } = withData(t)
  const created = await db.branches.create('app')
  let branch = await openBranch(s, db, 'app')
  branch.putSync('own', 'write')
  branch.removeSync(['k', 0])
  t.is((await t.throwsAsync(db.branches.reset('app'))).code, 'ERR_DATABASE_OPEN')
  await branch.close()
  db.putSync('fresh', 'data')
  const before = Date.now()
  const info = await db.branches.reset('app')
  t.is(info.path, created.path)
  t.is(info.id, created.id)
  t.deepEqual(info.createdAt, created.createdAt)
  t.true(info.resetAt.getTime() >= before - 5)
  t.is(info.sequence, db.getLatestSequenceNumber())
  branch = await openBranch(s, db, 'app')
  t.is(branch.getSync('own'), undefined)
  t.deepEqual(branch.getSync(['k', 0]), { i: 0 })
  t.is(branch.getSync('fresh'), 'data')
  t.deepEqual(
    fs.readdirSync(path.dirname(info.path)).filter((name) => name.startsWith('.')),
    [],
    'no staging directory is left',
  )
})

test('reset of a branch of a checkpoint goes back to the checkpoint; a deleted parent is ERR_CHECKPOINT_NOT_FOUND', async (t) => {
  const { s, db } = withData(t)
  await db.checkpoints.create('v1')
  db.putSync('later', 1)
  await db.branches.create('app', { from: 'v1' })
  let branch = await openBranch(s, db, 'app')
  branch.putSync('own', 1)
  await branch.close()
  await db.branches.reset('app')
  branch = await openBranch(s, db, 'app')
  t.is(branch.getSync('own'), undefined)
  t.is(branch.getSync('later'), undefined)
  branch.putSync('own', 2)
  await branch.close()
  await db.checkpoints.delete('v1')
  t.is((await t.throwsAsync(db.branches.reset('app'))).code, 'ERR_CHECKPOINT_NOT_FOUND')
  branch = await openBranch(s, db, 'app')
  t.is(branch.getSync('own'), 2, 'a failed reset leaves the branch as it was')
})

test('a reset interrupted before the swap is undone; one interrupted mid-swap is finished', async (t) => {
  const { s, db } = withData(t)
  const info = await db.branches.create('app')
  let branch = await openBranch(s, db, 'app')
  branch.putSync('own', 'old')
  await branch.close()
  const dir = path.dirname(info.path)
  const registry = path.join(dir, 'registry.json')
  const mark = () => {
    const text = JSON.parse(fs.readFileSync(registry, 'utf8'))
    text.branches[0].state = 'resetting'
    fs.writeFileSync(registry, JSON.stringify(text))
  }
  // Interrupted while the staging copy was being made: undone.
  mark()
  fs.mkdirSync(path.join(dir, '.app.reset.tmp'))
  t.deepEqual(
    db.branches.list().map((b) => b.name),
    ['app'],
    'a branch being reset is still listed',
  )
  branch = await openBranch(s, db, 'app')
  t.is(branch.getSync('own'), 'old')
  await branch.close()
  t.false(fs.existsSync(path.join(dir, '.app.reset.tmp')))

  // Interrupted between the two renames: the staged state is whole, so it is finished.
  db.putSync('fresh', 1)
  await db.createCheckpoint(path.join(dir, '.app.reset'))
  fs.renameSync(info.path, path.join(dir, '.app.replaced'))
  mark()
  await db.close()
  const again = s.open('db')
  t.is(JSON.parse(fs.readFileSync(registry, 'utf8')).branches[0].state, undefined, 'open finished it')
  branch = await openBranch(s, again, 'app')
  t.is(branch.getSync('own'), undefined)
  t.is(branch.getSync('fresh'), 1)
  t.deepEqual(
    fs.readdirSync(dir).filter((name) => name.startsWith('.')),
    [],
  )
})

test('a create or delete interrupted is cleaned up at the next open; an unknown state is refused', async (t) => {
  const { s, db } = withData(t)
  await db.branches.create('half')
  await db.branches.create('doomed')
  const dir = `${db.path}.branches`
  const registry = path.join(dir, 'registry.json')
  const text = JSON.parse(fs.readFileSync(registry, 'utf8'))
  text.branches[0].state = 'creating'
  text.branches[1].state = 'deleting'
  fs.writeFileSync(registry, JSON.stringify(text))
  t.deepEqual(db.branches.list(), [])
  await db.close()
  const again = s.open('db')
  t.deepEqual(JSON.parse(fs.readFileSync(registry, 'utf8')).branches, [])
  t.false(fs.existsSync(path.join(dir, 'half')))
  t.false(fs.existsSync(path.join(dir, 'doomed')))

  await again.branches.create('kept')
  const next = JSON.parse(fs.readFileSync(registry, 'utf8'))
  next.branches[0].state = 'archived'
  fs.writeFileSync(registry, JSON.stringify(next))
  t.is(t.throws(() => again.branches.list()).code, 'ERR_BRANCH_REGISTRY_CORRUPT')
  t.is((await t.throwsAsync(again.branches.delete('kept'))).code, 'ERR_BRANCH_REGISTRY_CORRUPT')
  t.true(fs.existsSync(path.join(dir, 'kept', 'CURRENT')), 'the branch of a state not understood is kept')
})

test('changing branches needs the database open: ERR_DATABASE_CLOSED', async (t) => {
  const { db } = withData(t)
  await db.branches.create('a')
  const store = new BranchStore(`${db.path}.branches`)
  t.is(store.list().length, 1)
  for (const call of [() => store.create('b'), () => store.delete('a'), () => store.reset('a')]) {
    t.is((await t.throwsAsync(call())).code, 'ERR_DATABASE_CLOSED')
  }
  await db.close()
  t.is((await t.throwsAsync(db.branches.create('c'))).code, 'ERR_DATABASE_CLOSED')
})

test('infoLog: false writes no LOG file; branches open without one unless asked', async (t) => {
  const { s, db } = withData(t)
  t.true(fs.existsSync(path.join(db.path, 'LOG')), 'a database keeps its LOG by default')
  const quiet = s.open('quiet', { infoLog: false })
  quiet.putSync('a', 1)
  quiet.flushSync()
  t.false(fs.existsSync(path.join(quiet.path, 'LOG')))
  t.is(quiet.getSync('a'), 1)
  await db.branches.create('app')
  const info = db.branches.info('app')
  t.false(fs.existsSync(path.join(info.path, 'LOG')), 'making the branch (and reading its sequence) wrote none')
  const branch = await openBranch(s, db, 'app')
  branch.putSync('b', 2)
  t.false(fs.existsSync(path.join(info.path, 'LOG')))
  await branch.close()
  const logged = await openBranch(s, db, 'app', { infoLog: true })
  t.true(fs.existsSync(path.join(info.path, 'LOG')))
  t.is(logged.getSync('b'), 2)
  t.is(t.throws(() => RocksDatabase.open(s.path('x'), { infoLog: 'no' })).code, 'ERR_INVALID_ARG_TYPE')
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `db` is dormant, up to a few seconds. */
async function dormant(db) {
  for (let i = 0; i < 200 && !db.dormant; i++) await sleep(10)
  return db.dormant
}

test('idleTimeout closes RocksDB under an idle handle and opens it again on the next call', async (t) => {
  const { s, db } = withData(t)
  await db.branches.create('idle')
  const branch = await openBranch(s, db, 'idle', { idleTimeout: 20 })
  branch.putSync('a', 1)
  t.true(await dormant(branch))
  t.true(branch.isOpen())
  t.true(db.branches.info('idle').open, 'a dormant handle still counts as open')
  // RocksDB let the directory go: another process can take its LOCK.
  const child = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(path.resolve(__dirname, '..'))}).RocksDatabase.open(${JSON.stringify(db.branches.pathOf('idle'))}).close().then(() => console.log('opened'))`],
    { encoding: 'utf8' },
  )
  t.is(child.stdout.trim(), 'opened', child.stderr)
  // Every kind of call opens it again and finds what was written.
  t.is(branch.getSync('a'), 1)
  t.false(branch.dormant)
  t.true(await dormant(branch))
  t.is(await branch.get('a'), 1)
  t.true(await dormant(branch))
  await branch.put('b', 2)
  t.true(await dormant(branch))
  const range = branch.getRange({ start: 'a', end: 'c' })
  t.true(await dormant(branch))
  t.deepEqual(
    [...range].map(({ key, value }) => [key, value]),
    [
      ['a', 1],
      ['b', 2],
    ],
  )
  t.true(await dormant(branch))
  await branch.transaction((txn) => txn.putSync('c', 3))
  t.true(await dormant(branch))
  t.is(branch.getKeysCount(), 103)
  t.true(await dormant(branch))
  await branch.close()
  t.false(branch.isOpen())
  t.is(t.throws(() => branch.getSync('a')).code, 'ERR_DATABASE_CLOSED')
  const reopened = await openBranch(s, db, 'idle')
  t.is(reopened.getSync('c'), 3)
})

test('idleTimeout waits for work in flight: a range being iterated, an open transaction', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { idleTimeout: 20 })
  for (let i = 0; i < 5000; i++) db.putSync(i, 'x'.repeat(100))
  const iterator = db.getRange()[Symbol.iterator]()
  iterator.next()
  await sleep(120)
  t.false(db.dormant, 'a range being iterated keeps it open')
  let count = 1
  while (!iterator.next().done) count++
  t.is(count, 5000)
  t.true(await dormant(db))

  const txn = db.transaction(async (txn) => {
    txn.putSync('t', 1)
    await sleep(120)
    t.false(db.dormant, 'an open transaction keeps it open')
  })
  await txn
  t.is(db.getSync('t'), 1)
  t.true(await dormant(db))
})

test('idleTimeout is checked: a positive integer of milliseconds', (t) => {
  const s = scratch(t)
  for (const value of ['5', -1, 0, 1.5]) {
    const error = t.throws(() => RocksDatabase.open(s.path('db'), { idleTimeout: value }))
    t.true(error instanceof TypeError, String(value))
    t.regex(error.message, /options\.idleTimeout/)
  }
  t.is(t.throws(() => RocksDatabase.open(s.path('db'), { idleTimeout: 2 ** 31 })).code, 'ERR_OUT_OF_RANGE')
})
