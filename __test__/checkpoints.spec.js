'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { RocksDatabase, CheckpointStore } = require('..')
const { scratch } = require('./helpers')

function withData(t, options) {
  const s = scratch(t)
  const db = s.open('db', options)
  for (let i = 0; i < 200; i++) db.putSync(['k', i], { i })
  return { s, db }
}

test('create returns a complete CheckpointInfo', async (t) => {
  const { db } = withData(t)
  const sequence = db.getLatestSequenceNumber()
  const before = Date.now()
  const info = await db.checkpoints.create('first', { metadata: { build: 41, tags: ['a'] } })
  t.is(info.name, 'first')
  t.regex(info.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.true(info.createdAt instanceof Date)
  t.true(info.createdAt.getTime() >= before - 5 && info.createdAt.getTime() <= Date.now())
  t.is(info.expiresAt, null)
  t.is(info.sequence, sequence)
  t.true(fs.existsSync(path.join(info.path, 'CURRENT')))
  t.is(info.path, path.join(`${db.path}.checkpoints`, info.id))
  t.true(info.sizeBytes > 0)
  t.is(info.fileCount, fs.readdirSync(info.path).length)
  t.is(info.linkMode, 'hardlink')
  t.deepEqual(info.metadata, { build: 41, tags: ['a'] })
  t.true(info.exclusiveBytes < info.sizeBytes, 'the SST files are shared with the live database')
})

test('list is oldest first; latest, info by name and id; absent is undefined', async (t) => {
  const { db } = withData(t)
  const a = await db.checkpoints.create('a')
  db.putSync('more', 1)
  const b = await db.checkpoints.create('b', { lifetime: 60_000 })
  t.deepEqual(db.checkpoints.list().map((c) => c.name), ['a', 'b'])
  t.is(db.checkpoints.latest().id, b.id)
  t.true(b.sequence > a.sequence)
  t.is(db.checkpoints.info(a.id).name, 'a')
  t.is(db.checkpoints.info('b').id, b.id)
  t.true(Math.abs(db.checkpoints.info('b').expiresAt - b.createdAt - 60_000) < 5)
  t.is(db.checkpoints.info('nope'), undefined)
})

test('names: 1 to 128 of letters, digits, . _ -, not starting with a dot', async (t) => {
  const { db } = withData(t)
  await db.checkpoints.create('x'.repeat(128))
  await db.checkpoints.create('a.b_c-1')
  for (const bad of ['', 'x'.repeat(129), '.hidden', '..', 'a/b', 'a\\b', 'spa ce', 'ü', 5, null, undefined]) {
    const error = await t.throwsAsync(db.checkpoints.create(bad), { instanceOf: TypeError })
    t.regex(error.message, /"name"/)
  }
  t.is(db.checkpoints.list().length, 2)
})

test('a duplicate name rejects with ERR_CHECKPOINT_EXISTS; of two concurrent creates exactly one succeeds', async (t) => {
  const { db } = withData(t)
  await db.checkpoints.create('dup')
  await t.throwsAsync(db.checkpoints.create('dup'), { code: 'ERR_CHECKPOINT_EXISTS' })
  const results = await Promise.allSettled([db.checkpoints.create('race'), db.checkpoints.create('race')])
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1)
  t.is(results.find((r) => r.status === 'rejected').reason.code, 'ERR_CHECKPOINT_EXISTS')
  t.is(db.checkpoints.list().filter((c) => c.name === 'race').length, 1)
  // and no directory was left behind by the loser
  t.is(fs.readdirSync(db.checkpoints.dir).filter((f) => !f.startsWith('registry.')).length, 2)
})

test('the registry survives a reopen and carries a version', async (t) => {
  const { s, db } = withData(t)
  const info = await db.checkpoints.create('kept', { metadata: { a: 1 } })
  db.close()
  const again = s.open('db')
  t.deepEqual(again.checkpoints.info('kept').metadata, { a: 1 })
  t.is(again.checkpoints.info('kept').id, info.id)
  const registry = JSON.parse(fs.readFileSync(path.join(again.checkpoints.dir, 'registry.json'), 'utf8'))
  t.is(registry.version, 1)
  t.is(registry.checkpoints[0].name, 'kept')
})

test('checkpointsPath puts the checkpoints elsewhere', async (t) => {
  const s = scratch(t)
  const db = s.open('db', { checkpointsPath: s.path('elsewhere') })
  await db.checkpoints.create('c')
  t.true(fs.existsSync(s.path('elsewhere', 'registry.json')))
  t.false(fs.existsSync(`${db.path}.checkpoints`))
})

test('lifetimes: prune deletes expired checkpoints and returns them; open prunes too', async (t) => {
  const { s, db } = withData(t)
  const short = await db.checkpoints.create('short', { lifetime: 30 })
  await db.checkpoints.create('forever')
  await db.checkpoints.create('later', { lifetime: 60_000 })
  await new Promise((resolve) => setTimeout(resolve, 60))
  const pruned = await db.checkpoints.prune()
  t.deepEqual(pruned.map((c) => c.name), ['short'])
  t.false(fs.existsSync(short.path))
  t.deepEqual(db.checkpoints.list().map((c) => c.name), ['forever', 'later'])

  const brief = await db.checkpoints.create('brief', { lifetime: 30 })
  db.close()
  await new Promise((resolve) => setTimeout(resolve, 60))
  const again = s.open('db')
  t.is(again.checkpoints.info('brief'), undefined)
  t.false(fs.existsSync(brief.path))
})

test('refresh sets a new expiry from now; null never expires', async (t) => {
  const { db } = withData(t)
  await db.checkpoints.create('c', { lifetime: 30 })
  const refreshed = await db.checkpoints.refresh('c', 60_000)
  t.true(refreshed.expiresAt.getTime() - Date.now() > 59_000)
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.deepEqual(await db.checkpoints.prune(), [])
  t.is((await db.checkpoints.refresh('c', null)).expiresAt, null)
  await t.throwsAsync(db.checkpoints.refresh('missing', 10), { code: 'ERR_CHECKPOINT_NOT_FOUND' })
  await t.throwsAsync(db.checkpoints.refresh('c', -5), { instanceOf: TypeError })
  await t.throwsAsync(db.checkpoints.create('d', { lifetime: 'soon' }), { instanceOf: TypeError })
})

test('delete removes the record and the files; a missing one resolves false', async (t) => {
  const { db } = withData(t)
  const info = await db.checkpoints.create('gone')
  t.true(await db.checkpoints.delete(info.id))
  t.false(fs.existsSync(info.path))
  t.is(db.checkpoints.info('gone'), undefined)
  t.false(await db.checkpoints.delete('gone'))
  t.is(db.getSync(['k', 1]).i, 1, 'the live database is untouched')
})

test('leftovers of an interrupted create are removed at open and never listed; what the registry did not make stays', async (t) => {
  const { s, db } = withData(t)
  await db.checkpoints.create('real')
  db.close()
  const dir = `${db.path}.checkpoints`
  // A crash between the record marked as being created and its completion.
  const orphan = path.join(dir, '00000000-0000-4000-8000-000000000000')
  fs.mkdirSync(orphan)
  fs.mkdirSync(`${orphan}.tmp`)
  const registryFile = path.join(dir, 'registry.json')
  const registry = JSON.parse(fs.readFileSync(registryFile, 'utf8'))
  registry.checkpoints.push({ id: path.basename(orphan), name: 'half', state: 'creating', createdAt: new Date().toISOString() })
  fs.writeFileSync(registryFile, JSON.stringify(registry))
  // A crash during the registry's own atomic write.
  fs.writeFileSync(`${registryFile}.1234.abcd0123.tmp`, '{')
  // A directory named like a checkpoint that no record names is not ours.
  const stranger = path.join(dir, '11111111-1111-4111-8111-111111111111')
  fs.mkdirSync(stranger)
  fs.writeFileSync(path.join(dir, 'user-notes.txt'), 'not ours')
  const again = s.open('db')
  t.false(fs.existsSync(orphan))
  t.false(fs.existsSync(`${orphan}.tmp`))
  t.false(fs.existsSync(`${registryFile}.1234.abcd0123.tmp`))
  t.true(fs.existsSync(stranger), 'a directory the registry never recorded is left alone')
  t.true(fs.existsSync(path.join(dir, 'user-notes.txt')), 'files that are not checkpoints are left alone')
  t.deepEqual(again.checkpoints.list().map((c) => c.name), ['real'])
  t.false(fs.readFileSync(registryFile, 'utf8').includes('creating'))
})

test('a crash during the first registry write leaves only a temporary copy, removed at open', async (t) => {
  const { s, db } = withData(t)
  db.close()
  for (const kind of ['checkpoints', 'branches']) {
    const dir = `${db.path}.${kind}`
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'registry.json.1234.abcd0123.tmp'), '{')
  }
  const again = s.open('db')
  for (const kind of ['checkpoints', 'branches']) {
    t.deepEqual(fs.readdirSync(`${db.path}.${kind}`).filter((entry) => entry.endsWith('.tmp')), [], kind)
  }
  t.deepEqual(again.checkpoints.list(), [])
  t.deepEqual(again.branches.list(), [])
})

test('a delete interrupted between marking its record and dropping it is finished at open; unknown states are refused', async (t) => {
  const { s, db } = withData(t)
  await db.checkpoints.create('kept')
  const doomed = await db.checkpoints.create('doomed')
  db.close()
  const dir = `${db.path}.checkpoints`
  const registryFile = path.join(dir, 'registry.json')
  const registry = JSON.parse(fs.readFileSync(registryFile, 'utf8'))
  // A crash after the record was marked and part of the directory removed.
  registry.checkpoints.find((record) => record.name === 'doomed').state = 'deleting'
  fs.writeFileSync(registryFile, JSON.stringify(registry))
  fs.rmSync(path.join(doomed.path, 'CURRENT'))
  const again = s.open('db')
  t.false(fs.existsSync(doomed.path), 'the marked directory is removed')
  t.deepEqual(again.checkpoints.list().map((c) => c.name), ['kept'])
  t.false(fs.readFileSync(registryFile, 'utf8').includes('deleting'))
  await again.checkpoints.verify('kept')
  await again.close()

  // A state this version does not know is not a leftover to remove.
  const future = JSON.parse(fs.readFileSync(registryFile, 'utf8'))
  future.checkpoints[0].state = 'archiving'
  fs.writeFileSync(registryFile, JSON.stringify(future))
  const third = s.open('db')
  t.throws(() => third.checkpoints.list(), { code: 'ERR_CHECKPOINT_REGISTRY_CORRUPT' })
  t.true(fs.existsSync(path.join(dir, future.checkpoints[0].id)), 'its directory is left alone')
})

test('a damaged registry is reported by code and does not keep the database from opening', async (t) => {
  const { s, db } = withData(t)
  await db.checkpoints.create('c')
  db.close()
  fs.writeFileSync(path.join(`${db.path}.checkpoints`, 'registry.json'), '{"version": 1, "checkp')
  const again = s.open('db')
  t.is(again.getSync(['k', 0]).i, 0)
  t.throws(() => again.checkpoints.list(), { code: 'ERR_CHECKPOINT_REGISTRY_CORRUPT' })
})

test('open gives a read-only view with the same encodings; several at once', async (t) => {
  const { s, db } = withData(t, { keyEncoding: 'ordered-binary', encoding: 'msgpack' })
  await db.checkpoints.create('v')
  db.putSync(['k', 1], 'after')
  const one = s.track(await db.checkpoints.open('v'))
  const two = s.track(await db.checkpoints.open('v'))
  t.deepEqual(one.getSync(['k', 1]), { i: 1 })
  t.deepEqual(two.getSync(['k', 1]), { i: 1 })
  t.is([...one.getKeys()].length, 200)
  t.throws(() => one.putSync('x', 1), { code: 'ERR_DATABASE_READ_ONLY' })
  await t.throwsAsync(two.remove(['k', 1]), { code: 'ERR_DATABASE_READ_ONLY' })
  await t.throwsAsync(db.checkpoints.open('missing'), { code: 'ERR_CHECKPOINT_NOT_FOUND' })
})

test('branches are writable, isolated both ways, share SST files, and outlive their sources', async (t) => {
  const { s, db } = withData(t)
  db.flushSync()
  await db.checkpoints.create('base')
  const fromCheckpoint = s.track(await db.checkpoints.branch('base', s.path('branches', 'a')))
  const fromLive = s.track(await db.branch(s.path('branches', 'b')))
  fromCheckpoint.putSync('only-a', 1)
  fromLive.putSync('only-b', 1)
  db.putSync('only-main', 1)
  t.is(db.getSync('only-a'), undefined)
  t.is(fromLive.getSync('only-a'), undefined)
  t.is(fromCheckpoint.getSync('only-b'), undefined)
  t.is(fromCheckpoint.getSync('only-main'), undefined)
  const sst = fs.readdirSync(db.path).find((f) => f.endsWith('.sst'))
  t.is(fs.statSync(path.join(fromLive.path, sst)).ino, fs.statSync(path.join(db.path, sst)).ino)
  t.is(fs.statSync(path.join(fromCheckpoint.path, sst)).ino, fs.statSync(path.join(db.path, sst)).ino)
  // delete the checkpoint and the source database: the branches live on
  await db.checkpoints.delete('base')
  await db.destroy()
  t.false(fs.existsSync(db.path))
  t.deepEqual(fromCheckpoint.getSync(['k', 199]), { i: 199 })
  fromLive.close()
  const reopened = s.open('branches/b')
  t.deepEqual(reopened.getSync(['k', 0]), { i: 0 })
  t.is(reopened.getSync('only-b'), 1)
})

test('info reports exclusiveBytes: what deleting the checkpoint would free', async (t) => {
  const { db } = withData(t)
  db.flushSync()
  const info = await db.checkpoints.create('c')
  t.true(info.exclusiveBytes < info.sizeBytes)
  await db.destroy()
  t.is(db.checkpoints.info('c').exclusiveBytes, info.sizeBytes, 'once the source is gone, every byte is its own')
})

test('verify reads every file; a flipped byte in an SST file fails with ERR_ROCKSDB_CORRUPTION naming it', async (t) => {
  const { db } = withData(t, { compression: 'none' })
  db.flushSync()
  const info = await db.checkpoints.create('c')
  const report = await db.checkpoints.verify('c')
  t.deepEqual(report, { name: 'c', id: info.id, files: info.fileCount, bytes: info.sizeBytes })
  const sst = fs.readdirSync(info.path).find((f) => f.endsWith('.sst'))
  const file = path.join(info.path, sst)
  // Replace the hardlink with a damaged copy, so the live database stays intact.
  const bytes = fs.readFileSync(file)
  fs.unlinkSync(file)
  bytes[64] ^= 0x01
  fs.writeFileSync(file, bytes)
  const error = await t.throwsAsync(db.checkpoints.verify('c'), { code: 'ERR_ROCKSDB_CORRUPTION' })
  t.is(error.file, file)
  t.true(error.message.includes(sst))
  t.deepEqual(db.getSync(['k', 3]), { i: 3 })
})

test('verify, list and info work without opening the database', async (t) => {
  const { db } = withData(t)
  await db.checkpoints.create('c')
  const store = new CheckpointStore(`${db.path}.checkpoints`)
  t.deepEqual(store.list().map((c) => c.name), ['c'])
  t.is((await store.verify('c')).name, 'c')
  await t.throwsAsync(store.create('d'), { code: 'ERR_DATABASE_CLOSED' })
})

test('restore rolls back and keeps the replaced state as a pre-restore checkpoint', async (t) => {
  const { s, db } = withData(t)
  const good = await db.checkpoints.create('good')
  db.putSync(['k', 0], 'bad write')
  db.putSync('new-key', 1)
  db.close()
  const outcome = await RocksDatabase.restore(db.path, good.path)
  t.regex(outcome.preRestore.name, /^pre-restore-/)
  const restored = s.open('db')
  t.deepEqual(restored.getSync(['k', 0]), { i: 0 })
  t.is(restored.getSync('new-key'), undefined)
  const kept = s.track(await restored.checkpoints.open(outcome.preRestore.name))
  t.is(kept.getSync(['k', 0]), 'bad write', 'nothing is lost')
  t.deepEqual(restored.checkpoints.list().map((c) => c.name), ['good', outcome.preRestore.name])
})

test('restoring an open database rejects with ERR_DATABASE_OPEN', async (t) => {
  const { db } = withData(t)
  const good = await db.checkpoints.create('good')
  await t.throwsAsync(RocksDatabase.restore(db.path, good.path), { code: 'ERR_DATABASE_OPEN' })
  await t.throwsAsync(RocksDatabase.restore(db.path, db.path + '-nothing-here'), { code: 'ERR_DATABASE_OPEN' })
  t.deepEqual(db.getSync(['k', 0]), { i: 0 })
})

test('a restore interrupted mid-swap is finished at the next open; one interrupted before it is undone', async (t) => {
  const { s, db } = withData(t)
  const good = await db.checkpoints.create('good')
  db.putSync(['k', 0], 'newer')
  db.close()
  // Crash after the database was moved aside, before the staged copy moved in.
  fs.cpSync(good.path, `${db.path}.restore-ready`, { recursive: true })
  fs.renameSync(db.path, `${db.path}.restore-replaced`)
  const finished = s.open('db')
  t.deepEqual(finished.getSync(['k', 0]), { i: 0 })
  t.false(fs.existsSync(`${db.path}.restore-replaced`))
  finished.close()
  // Crash while staging: the half-made copy is dropped, the database is the old one.
  fs.mkdirSync(`${db.path}.restore-staging`)
  fs.cpSync(good.path, `${db.path}.restore-ready`, { recursive: true })
  const undone = s.open('db')
  t.false(fs.existsSync(`${db.path}.restore-staging`))
  t.false(fs.existsSync(`${db.path}.restore-ready`))
  t.deepEqual(undone.getSync(['k', 0]), { i: 0 })
})

test('checkpoints of a closed database: ERR_DATABASE_CLOSED', async (t) => {
  const { db } = withData(t)
  db.close()
  await t.throwsAsync(db.checkpoints.create('c'), { code: 'ERR_DATABASE_CLOSED' })
  await t.throwsAsync(db.branch(db.path + '-b'), { code: 'ERR_DATABASE_CLOSED' })
})
