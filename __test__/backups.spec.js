'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const net = require('node:net')
const { spawn, spawnSync, execFileSync } = require('node:child_process')
const { Writable } = require('node:stream')
const { RocksDatabase, backups } = require('..')
const { scratch, isRoot } = require('./helpers')

const CHILD = path.join(__dirname, 'fixtures', 'backup-child.js')

/** A database of `count` keys with values that do not compress, flushed. */
function withData(t, count = 2000) {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < count; i++) db.putSync(i, crypto.randomBytes(100).toString('hex'))
  db.flushSync()
  return { s, db }
}

const storedFiles = (store) => fs.readdirSync(path.join(store, 'files')).filter((name) => /^[0-9a-f]{64}$/.test(name))
const manifest = (store, id) => JSON.parse(fs.readFileSync(path.join(store, 'backups', `${id}.json`), 'utf8'))

test('backup resolves with increasing ids; list gives rocksdb-js’s BackupInfo', async (t) => {
  const { s, db } = withData(t)
  const store = s.path('store')
  const before = Math.floor(Date.now() / 1000)
  t.is(await db.backup(store, { metadata: 'nightly' }), 1)
  db.putSync('more', 1)
  t.is(await db.backup(store), 2)
  const list = await backups.list(store)
  t.deepEqual(
    list.map((b) => [b.backupId, b.appMetadata]),
    [
      [1, 'nightly'],
      [2, ''],
    ],
  )
  for (const info of list) {
    t.true(info.timestamp >= before && info.timestamp <= Date.now() / 1000 + 1)
    t.is(info.numberFiles, manifest(store, info.backupId).files.length)
    t.is(
      info.size,
      manifest(store, info.backupId).files.reduce((sum, f) => sum + f.size, 0),
    )
    t.true(info.createdAt instanceof Date)
  }
  t.is(list[1].sequence, db.getLatestSequenceNumber())
  t.deepEqual(await backups.list(s.path('none')), [])
})

test('incremental: a second backup copies only the files that changed', async (t) => {
  const { s, db } = withData(t, 20_000)
  const store = s.path('store')
  await db.backup(store)
  const first = manifest(store, 1)
  const firstStored = storedFiles(store).length
  // 1 % of the keys changed and flushed: one new small SST.
  for (let i = 0; i < 200; i++) db.putSync(i, 'changed')
  db.flushSync()
  const reports = []
  await db.backup(store, { progress: (p) => reports.push(p) })
  const second = manifest(store, 2)
  const shared = second.files.filter((f) => first.files.some((g) => g.blake3 === f.blake3))
  const firstSst = first.files.filter((f) => f.name.endsWith('.sst'))
  for (const sst of firstSst) t.true(shared.some((f) => f.blake3 === sst.blake3), `${sst.name} is shared, not copied again`)
  const newContents = new Set(second.files.map((f) => f.blake3).filter((sha) => !first.files.some((f) => f.blake3 === sha)))
  t.is(storedFiles(store).length, firstStored + newContents.size, 'one stored file per new content')
  const total = second.files.reduce((sum, f) => sum + f.size, 0)
  t.true(second.bytesCopied < total * 0.1, `copied ${second.bytesCopied} of ${total} bytes`)
  const last = reports.at(-1)
  t.is(last.bytesDone, total)
  t.is(last.bytesTotal, total)
  t.is(last.bytesCopied, second.bytesCopied)
  t.is(last.filesDone, second.files.length)
})

test('SST files are 8 MiB by default; after a compaction, the next backup copies the few files around a change', async (t) => {
  const s = scratch(t)
  const sizeOf = (db) => Number(/target_file_size_base=(\d+)/.exec(fs.readFileSync(path.join(db.path, fs.readdirSync(db.path).find((n) => n.startsWith('OPTIONS-'))), 'utf8'))[1])
  t.is(sizeOf(s.open('defaults')), 8 * 2 ** 20)
  // The same shape at a scale a test can afford: files of 256 KiB, from
  // memtables of 1 MiB.
  const db = s.open('db', { encoding: 'binary', targetFileSize: 256 * 1024, writeBufferSize: 1024 * 1024 })
  t.is(sizeOf(db), 256 * 1024)
  const key = (i) => `key${String(i).padStart(6, '0')}`
  // Loaded in random order, so that the flushed files overlap and
  // compactions write every file.
  const order = Array.from({ length: 8000 }, (_, i) => i).sort(() => Math.random() - 0.5)
  for (const i of order) db.putSync(key(i), crypto.randomBytes(1000))
  db.flushSync()
  db.compactSync()
  const ssts = fs.readdirSync(db.path).filter((n) => n.endsWith('.sst')).map((n) => fs.statSync(path.join(db.path, n)).size)
  t.true(ssts.length >= 20, `${ssts.length} files`)
  t.true(Math.max(...ssts) < 400 * 1024, `the largest file has ${Math.max(...ssts)} bytes`)
  const store = s.path('store')
  await db.backup(store)
  // 1 % of the keys, contiguous, changed and compacted.
  for (let i = 4000; i < 4080; i++) db.putSync(key(i), crypto.randomBytes(1000))
  db.flushSync()
  db.compactSync()
  await db.backup(store)
  const second = manifest(store, 2)
  const total = second.files.reduce((sum, f) => sum + f.size, 0)
  t.true(second.bytesCopied < total * 0.06, `copied ${second.bytesCopied} of ${total} bytes`)
})

test('restore into a new path, any backup id; every byte checked on the way', async (t) => {
  const { s, db } = withData(t)
  const store = s.path('store')
  const value = db.getSync(5)
  await db.backup(store)
  db.putSync(5, 'later')
  await db.backup(store)
  const latest = await backups.restore(store, s.path('latest'))
  t.is(latest.backupId, 2)
  t.is(latest.preRestore, null)
  const one = await backups.restore(store, s.path('one'), { backupId: 1 })
  t.is(one.backupId, 1)
  const a = s.open('latest')
  const b = s.open('one')
  t.is(a.getSync(5), 'later')
  t.is(b.getSync(5), value)
  t.is(b.getKeysCount(), 2000)
  // Restored databases branch like any other.
  const branch = s.track(await b.branches.create('x').then(() => b.branches.open('x')))
  t.is(branch.getSync(5), value)
  t.is((await t.throwsAsync(backups.restore(store, s.path('nope'), { backupId: 9 }))).code, 'ERR_BACKUP_NOT_FOUND')
  t.is((await t.throwsAsync(backups.restore(s.path('empty'), s.path('nope')))).code, 'ERR_BACKUP_NOT_FOUND')
})

test('restore over a database keeps what it replaces as a pre-restore checkpoint; an open one is refused', async (t) => {
  const { s, db } = withData(t)
  const store = s.path('store')
  await db.backup(store)
  db.putSync('after-backup', 'kept')
  t.is((await t.throwsAsync(backups.restore(store, db.path))).code, 'ERR_DATABASE_OPEN')
  await db.close()
  const outcome = await backups.restore(store, db.path)
  t.regex(outcome.preRestore.name, /^pre-restore-/)
  const restored = s.open('db')
  t.is(restored.getSync('after-backup'), undefined)
  const kept = s.track(await restored.checkpoints.open(outcome.preRestore.name))
  t.is(kept.getSync('after-backup'), 'kept')
  // A directory that holds files but no database is not replaced.
  const other = s.path('other')
  fs.mkdirSync(other)
  fs.writeFileSync(path.join(other, 'notes.txt'), 'mine')
  t.is((await t.throwsAsync(backups.restore(store, other))).code, 'ERR_TARGET_EXISTS')
  t.is(fs.readFileSync(path.join(other, 'notes.txt'), 'utf8'), 'mine')
})

test('verify reads every byte: a changed byte in any kind of file fails with ERR_ROCKSDB_CORRUPTION naming it', async (t) => {
  const { s, db } = withData(t)
  const store = s.path('store')
  await db.backup(store)
  t.deepEqual(await backups.verify(store, 1), { backupId: 1, files: manifest(store, 1).files.length, bytes: (await backups.list(store))[0].size })
  const kinds = [/\.sst$/, /^MANIFEST-/, /^OPTIONS-/, /^CURRENT$/, /\.log$/]
  for (const kind of kinds) {
    const file = manifest(store, 1).files.find((f) => kind.test(f.name))
    t.truthy(file, `the backup has a file matching ${kind}`)
    const stored = path.join(store, 'files', file.blake3)
    const original = fs.readFileSync(stored)
    const damaged = Buffer.from(original)
    if (damaged.length === 0) {
      // The WAL of a flushed database is empty: a byte added is the change.
      fs.writeFileSync(stored, Buffer.from([0]))
    } else {
      damaged[damaged.length >> 1] ^= 0x01
      fs.writeFileSync(stored, damaged)
    }
    const error = await t.throwsAsync(backups.verify(store, 1))
    t.is(error.code, 'ERR_ROCKSDB_CORRUPTION', file.name)
    t.is(error.file, file.name)
    t.regex(error.message, new RegExp(file.name.replace('.', '\\.')))
    // Restore checks the same bytes and refuses too, leaving nothing behind.
    const restoreError = await t.throwsAsync(backups.restore(store, s.path(`r-${file.name}`)))
    t.is(restoreError.code, 'ERR_ROCKSDB_CORRUPTION')
    t.false(fs.existsSync(s.path(`r-${file.name}`)))
    fs.writeFileSync(stored, original)
  }
  await backups.verify(store, 1)
  fs.rmSync(path.join(store, 'files', manifest(store, 1).files[0].blake3))
  t.is((await t.throwsAsync(backups.verify(store, 1))).code, 'ERR_ROCKSDB_CORRUPTION')
})

test('delete and purge remove backups and the files only they used', async (t) => {
  const { s, db } = withData(t)
  const store = s.path('store')
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 100; i++) db.putSync(['r', round, i], round)
    db.flushSync()
    await db.backup(store)
  }
  await backups.delete(store, 2)
  t.deepEqual(
    (await backups.list(store)).map((b) => b.backupId),
    [1, 3, 4],
  )
  t.deepEqual(await backups.purge(store, 1), [1, 3])
  t.deepEqual(
    (await backups.list(store)).map((b) => b.backupId),
    [4],
  )
  const used = new Set(manifest(store, 4).files.map((f) => f.blake3))
  t.deepEqual(storedFiles(store).sort(), [...used].sort(), 'exactly the files of the backup kept')
  await backups.verify(store, 4)
  t.is((await t.throwsAsync(backups.delete(store, 2))).code, 'ERR_BACKUP_NOT_FOUND')
  t.is(await db.backup(store), 5, 'ids keep growing')
})

test('the store lock: writers exclusive and restores shared, across processes, ERR_BACKUP_LOCKED when taken', async (t) => {
  const { s, db } = withData(t, 200)
  const store = s.path('store')
  await db.backup(store)
  const hold = async (mode) => {
    const child = spawn(process.execPath, [CHILD, db.path, store, mode], { stdio: ['pipe', 'pipe', 'inherit'] })
    t.teardown(() => child.kill())
    const line = await new Promise((resolve) => child.stdout.once('data', (data) => resolve(String(data).trim())))
    return {
      line,
      release: () => {
        child.stdin.end()
        return new Promise((resolve) => child.once('exit', resolve))
      },
    }
  }
  const writer = await hold('hold')
  t.is(writer.line, 'locked')
  for (const call of [() => db.backup(store), () => backups.delete(store, 1), () => backups.purge(store, 0), () => backups.restore(store, s.path('r1'))]) {
    t.is((await t.throwsAsync(call())).code, 'ERR_BACKUP_LOCKED')
  }
  t.deepEqual(
    (await backups.list(store)).map((b) => b.backupId),
    [1],
    'reading needs no lock',
  )
  await writer.release()

  const reader = await hold('shared')
  t.is(reader.line, 'locked')
  await backups.restore(store, s.path('r2'))
  t.is((await t.throwsAsync(db.backup(store))).code, 'ERR_BACKUP_LOCKED')
  await reader.release()
  t.is(await db.backup(store), 2)
})

test('a backup killed at random moments leaves every listed backup restorable, and the next writer clears its leftovers', async (t) => {
  const s = scratch(t)
  const dbPath = s.path('db')
  const store = s.path('store')
  const seed = RocksDatabase.open(dbPath)
  for (let i = 0; i < 3000; i++) seed.putSync(i, crypto.randomBytes(200))
  await seed.close()
  let acknowledged = 0
  for (let kill = 0; kill < 4; kill++) {
    const child = spawn(process.execPath, [CHILD, dbPath, store], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (data) => (output += data))
    await new Promise((resolve) => child.stdout.once('data', resolve))
    await new Promise((resolve) => setTimeout(resolve, 150 + kill * 97))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    acknowledged = Math.max(acknowledged, ...[...output.matchAll(/backup (\d+)/g)].map((m) => Number(m[1])))
  }
  const listed = await backups.list(store)
  t.true(listed.length >= acknowledged, `${listed.length} listed, ${acknowledged} acknowledged`)
  t.true(listed.length > 0)
  for (const info of listed) {
    await backups.verify(store, info.backupId)
    const target = s.path(`restored-${info.backupId}`)
    await backups.restore(store, target)
    await backups.restore(store, target, { backupId: info.backupId })
    const restored = RocksDatabase.open(target)
    t.true(restored.getKeysCount() >= 3000)
    await restored.close()
  }
  const db = RocksDatabase.open(dbPath)
  await db.backup(store)
  await db.close()
  t.deepEqual(
    fs.readdirSync(path.join(store, 'files')).filter((name) => name.startsWith('.tmp-')),
    [],
  )
  const used = new Set()
  for (const info of await backups.list(store)) for (const f of manifest(store, info.backupId).files) used.add(f.blake3)
  t.deepEqual(storedFiles(store).sort(), [...used].sort(), 'no stored file belongs to no backup')
  t.false(fs.existsSync(`${dbPath}.backup-staging`), 'the staging checkpoints of killed backups are gone')
})

test('an AbortSignal stops a backup and leaves the store as it was', async (t) => {
  const { s, db } = withData(t, 20_000)
  const store = s.path('store')
  await db.backup(store)
  for (let i = 0; i < 5000; i++) db.putSync(['new', i], crypto.randomBytes(100))
  db.flushSync()
  const before = { list: await backups.list(store), files: storedFiles(store).sort() }
  const controller = new AbortController()
  const error = await t.throwsAsync(
    db.backup(store, {
      signal: controller.signal,
      progress: ({ filesDone }) => {
        if (filesDone === 1) controller.abort()
      },
    }),
  )
  t.is(error.name, 'AbortError')
  t.is(error.code, 'ABORT_ERR')
  t.deepEqual(await backups.list(store), before.list)
  t.deepEqual(storedFiles(store).sort(), before.files)
  const aborted = new AbortController()
  aborted.abort()
  t.is((await t.throwsAsync(db.backup(store, { signal: aborted.signal }))).name, 'AbortError')
})

test('a full destination fails with ERR_NO_SPACE before anything is copied', async (t) => {
  if (!isRoot || process.platform !== 'linux') return t.pass('needs root on Linux to mount a small filesystem')
  const { s, db } = withData(t, 20_000)
  const mount = s.path('small')
  fs.mkdirSync(mount)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mount])
  if (mounted.status !== 0) return t.log(`skipped: cannot mount a tmpfs (${String(mounted.stderr).trim()})`) || t.pass()
  t.teardown(() => spawnSync('umount', ['-l', mount]))
  const store = path.join(mount, 'store')
  const error = await t.throwsAsync(db.backup(store))
  t.is(error.code, 'ERR_NO_SPACE')
  t.true(error.required > error.available)
  t.deepEqual(fs.existsSync(path.join(store, 'files')) ? storedFiles(store) : [], [])
  t.deepEqual(await backups.list(store), [])
  // Without the preflight, the copy itself meets the full disk: still coded, still nothing listed.
  const late = await t.throwsAsync(db.backup(store, { checkDiskSpace: false }))
  t.is(late.code, 'ERR_NO_SPACE')
  t.deepEqual(await backups.list(store), [])
  t.deepEqual(storedFiles(store), [], 'what the failed backup copied is removed')
})

test('a tar stream: unpacked by the system tar into a database that opens; gzip too; restoreStream reads both', async (t) => {
  const { s, db } = withData(t)
  const value = db.getSync(7)
  for (const gzip of [false, true]) {
    const archive = s.path(gzip ? 'db.tar.gz' : 'db.tar')
    const reports = []
    await db.backup(fs.createWriteStream(archive), { gzip, progress: (p) => reports.push(p) })
    t.is(reports.at(-1).bytesDone, reports.at(-1).bytesTotal)
    const dir = s.path(gzip ? 'untar-gz' : 'untar')
    fs.mkdirSync(dir)
    execFileSync('tar', [gzip ? '-xzf' : '-xf', archive, '-C', dir])
    const unpacked = s.open(path.relative(s.dir, dir))
    t.is(unpacked.getSync(7), value)
    t.is(unpacked.getKeysCount(), 2000)
    const restored = await backups.restoreStream(fs.createReadStream(archive), s.path(gzip ? 'streamed-gz' : 'streamed'))
    t.is(restored.preRestore, null)
    t.is(s.open(gzip ? 'streamed-gz' : 'streamed').getSync(7), value)
  }
  // A WHATWG WritableStream works as well.
  const chunks = []
  await db.backup(Writable.toWeb(new Writable({ write: (chunk, _, done) => (chunks.push(chunk), done()) })))
  const tar = Buffer.concat(chunks)
  t.is(tar.length % 512, 0)
  t.true(tar.subarray(-1024).every((byte) => byte === 0), 'ends with the end-of-archive marker')
})

test('restoreStream refuses a truncated or foreign archive and leaves nothing', async (t) => {
  const { s, db } = withData(t)
  const archive = s.path('db.tar')
  await db.backup(fs.createWriteStream(archive))
  const bytes = fs.readFileSync(archive)
  const truncated = s.path('truncated.tar')
  fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 3000))
  t.is((await t.throwsAsync(backups.restoreStream(fs.createReadStream(truncated), s.path('t1')))).code, 'ERR_ROCKSDB_CORRUPTION')
  t.false(fs.existsSync(s.path('t1')))
  const foreign = s.path('foreign')
  fs.mkdirSync(foreign)
  fs.writeFileSync(path.join(foreign, 'passwd'), 'x')
  execFileSync('tar', ['-cf', s.path('foreign.tar'), '-C', foreign, 'passwd'])
  const error = await t.throwsAsync(backups.restoreStream(fs.createReadStream(s.path('foreign.tar')), s.path('t2')))
  t.is(error.code, 'ERR_ROCKSDB_CORRUPTION')
  t.regex(error.message, /passwd/)
  t.false(fs.existsSync(s.path('t2')))
})

test('bad arguments are TypeErrors naming them; a store inside the database is refused', async (t) => {
  const { s, db } = withData(t, 10)
  const store = s.path('store')
  for (const [call, name] of [
    [() => db.backup(42), 'backupDir'],
    [() => db.backup(store, { metadata: 7 }), 'options.metadata'],
    [() => db.backup(store, { gzip: 'yes' }), 'options.gzip'],
    [() => db.backup(store, { progress: 1 }), 'options.progress'],
    [() => db.backup(store, { signal: {} }), 'options.signal'],
    [() => db.backup(store, null), 'options'],
    [() => backups.verify(store, 0), 'backupId'],
    [() => backups.delete(store, '1'), 'backupId'],
    [() => backups.purge(store, -1), 'keepCount'],
    [() => backups.restore(store, 5), 'dbDir'],
    [() => backups.restore(store, s.path('x'), { backupId: 1.5 }), 'options.backupId'],
    [() => backups.restoreStream(null, s.path('x')), 'readable'],
  ]) {
    const error = await t.throwsAsync(call())
    t.true(error instanceof TypeError, name)
    t.true(error.message.includes(`"${name}"`), `${name}: ${error.message}`)
  }
  const inside = await t.throwsAsync(db.backup(path.join(db.path, 'backups')))
  t.is(inside.code, 'ERR_INVALID_ARG_VALUE')
  t.false(fs.existsSync(path.join(db.path, 'backups')))
  await db.backup(store)
  t.is((await t.throwsAsync(backups.restore(store, path.join(store, 'db')))).code, 'ERR_INVALID_ARG_VALUE')
  await db.close()
  t.is((await t.throwsAsync(db.backup(store))).code, 'ERR_DATABASE_CLOSED')
})

// S3: a real S3-compatible server (moto's), started here on localhost.

/** A TCP port nobody listens on now: the system picks it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/**
 * moto's server, answering one request at a time. moto_server serves each
 * request on a thread of its own, and its conditional writes are not
 * atomic then: two `If-Match` writes of the same ETag can both succeed,
 * where S3 lets one through (seen: the test of the store lock, which
 * relies on them, failed once in many runs).
 */
const MOTO_ONE_REQUEST_AT_A_TIME = `
import sys
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
`

/**
 * A local S3 server with an empty bucket `bucket`: `{ s3, client }`, or
 * `null` (the test passed as skipped) where moto_server is not installed.
 * The server is this test's own: one that exits before it answers (its
 * port was taken meanwhile) is replaced, so no request can reach another
 * test's server.
 */
async function s3Bucket(t, bucket) {
  const found = spawnSync('moto_server', ['--help'], { stdio: 'ignore' })
  if (found.error) {
    // .ci/run installs it: under CI its absence is a failure, not a skip.
    if (process.env.CI) t.fail('moto_server is not installed (pip install "moto[server]")')
    else t.log('skipped: moto_server is not installed (pip install "moto[server]")') || t.pass()
    return null
  }
  const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3')
  for (let start = 0; ; start++) {
    const port = await freePort()
    const server = spawn('python3', ['-c', MOTO_ONE_REQUEST_AT_A_TIME, String(port)], { stdio: 'ignore' })
    let exited = false
    server.once('exit', () => (exited = true))
    t.teardown(() => server.kill())
    const s3 = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
    const client = new S3Client({ ...s3, forcePathStyle: true })
    for (let attempt = 0; !exited; attempt++) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }))
        if (!exited) return { s3, client }
      } catch (error) {
        if (attempt > 100) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    if (start > 5) throw new Error('moto_server kept exiting before it answered')
  }
}

test('S3: backup, incremental upload, list, verify, restore on another path, delete, purge against a local S3 server', async (t) => {
  const server = await s3Bucket(t, 'rocksdb-branch')
  if (!server) return
  const { s3, client } = server
  const { ListObjectsV2Command, PutObjectCommand } = require('@aws-sdk/client-s3')
  const objects = async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'rocksdb-branch', Prefix: 'team/app/files/' }))
    return (page.Contents ?? []).map((o) => o.Key)
  }
  const { s, db } = withData(t, 20_000)
  const url = 's3://rocksdb-branch/team/app'
  t.is(await db.backup(url, { s3, metadata: 'to s3' }), 1)
  const first = await objects()
  for (let i = 0; i < 200; i++) db.putSync(i, 'changed')
  db.flushSync()
  const reports = []
  t.is(await db.backup(url, { s3, progress: (p) => reports.push(p) }), 2)
  const uploaded = reports.at(-1).bytesCopied
  t.true(uploaded < reports.at(-1).bytesTotal * 0.1, `uploaded ${uploaded} of ${reports.at(-1).bytesTotal} bytes`)
  t.true((await objects()).length > first.length)
  const list = await backups.list(url, { s3 })
  t.deepEqual(
    list.map((b) => [b.backupId, b.appMetadata]),
    [
      [1, 'to s3'],
      [2, ''],
    ],
  )
  await backups.verify(url, 2, { s3 })
  const restored = await backups.restore(url, s.path('from-s3'), { s3 })
  t.is(restored.backupId, 2)
  const copy = s.open('from-s3')
  t.is(copy.getSync(0), 'changed')
  t.is(copy.getKeysCount(), 20_000)
  await copy.branches.create('b')
  t.is(s.track(await copy.branches.open('b')).getSync(1), 'changed')

  // A damaged object is found by verify.
  const key = (await objects())[0]
  await client.send(new PutObjectCommand({ Bucket: 'rocksdb-branch', Key: key, Body: Buffer.from('not the bytes') }))
  const damaged = await t.throwsAsync(async () => {
    await backups.verify(url, 1, { s3 })
    await backups.verify(url, 2, { s3 })
  })
  t.is(damaged.code, 'ERR_ROCKSDB_CORRUPTION')

  t.deepEqual(await backups.purge(url, 1, { s3 }), [1])
  await backups.delete(url, 2, { s3 })
  t.deepEqual(await backups.list(url, { s3 }), [])
  t.deepEqual(await objects(), [], 'nothing is left once no backup uses it')
})

test('S3: the store lock: conditional writes keep writers apart, restores share it, and a lease that ran out frees it', async (t) => {
  const server = await s3Bucket(t, 'locks')
  if (!server) return
  const { s3, client } = server
  const { PutObjectCommand, GetObjectCommand } = require('@aws-sdk/client-s3')
  const { openStore } = require('../lib/backups')
  const url = 's3://locks/p'
  const { s, db } = withData(t, 2000)
  const setLock = (mode, expiresAt) =>
    client.send(new PutObjectCommand({ Bucket: 'locks', Key: 'p/.backup.lock', Body: JSON.stringify({ mode, holders: [{ id: 'another process', expiresAt }] }) }))
  const readLock = async () => JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: 'locks', Key: 'p/.backup.lock' }))).Body.transformToString())
  const soon = () => new Date(Date.now() + 60_000).toISOString()

  // Another process's writer holds it: every call is refused and changes nothing.
  await setLock('exclusive', soon())
  t.is((await t.throwsAsync(db.backup(url, { s3 }))).code, 'ERR_BACKUP_LOCKED')
  t.deepEqual(await backups.list(url, { s3 }), [])
  // Its lease ran out (it died): the lock is free.
  await setLock('exclusive', new Date(Date.now() - 1).toISOString())
  t.is(await db.backup(url, { s3 }), 1)
  t.deepEqual((await readLock()).holders, [], 'released')

  // A restore of another process holds it shared: restores go on, writers wait.
  await setLock('shared', soon())
  t.is((await backups.restore(url, s.path('restored'), { s3 })).backupId, 1)
  for (const call of [() => db.backup(url, { s3 }), () => backups.delete(url, 1, { s3 }), () => backups.purge(url, 0, { s3 })]) {
    t.is((await t.throwsAsync(call())).code, 'ERR_BACKUP_LOCKED')
  }
  t.deepEqual((await readLock()).holders.map((h) => h.id), ['another process'], 'the restore left only the other holder')
  await setLock('shared', new Date(Date.now() - 1).toISOString())

  // Two writers at once: one gets it, the other is refused.
  const both = await Promise.allSettled([openStore(url, { s3 }).lock(false), openStore(url, { s3 }).lock(false)])
  t.is(both.filter((r) => r.status === 'fulfilled').length, 1)
  t.is(both.find((r) => r.status === 'rejected').reason.code, 'ERR_BACKUP_LOCKED')
  await both.find((r) => r.status === 'fulfilled').value.release()

  // A holder renews its lease while it works: after three leases it still
  // holds the lock and others are refused.
  const lease = 200
  const held = await openStore(url, { s3: { ...s3, lockLease: lease } }).lock(false)
  await new Promise((resolve) => setTimeout(resolve, lease * 3))
  held.assertHeld()
  t.is((await t.throwsAsync(openStore(url, { s3 }).lock(true))).code, 'ERR_BACKUP_LOCKED')
  // Taken over behind its back (as after a pause longer than its lease), it
  // knows at its next renewal, and a backup would fail before its manifest.
  await setLock('exclusive', soon())
  await new Promise((resolve) => setTimeout(resolve, lease))
  t.is(t.throws(() => held.assertHeld()).code, 'ERR_BACKUP_LOCKED')
  await held.release()
  t.deepEqual((await readLock()).holders.map((h) => h.id), ['another process'], 'a lost lock is not released over its new holder')
  t.is((await t.throwsAsync(backups.list(url, { s3: { ...s3, lockLease: 0 } }))).code, 'ERR_INVALID_ARG_TYPE')
})

test('S3: bad URLs and an unreachable server are coded errors', async (t) => {
  const { db } = withData(t, 10)
  t.is((await t.throwsAsync(db.backup('s3:///nobucket'))).code, 'ERR_INVALID_ARG_VALUE')
  const s3 = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }
  const error = await t.throwsAsync(backups.list('s3://bucket/x', { s3 }))
  t.is(error.code, 'ERR_S3')
  t.regex(error.message, /s3:\/\/bucket\/x/)
})

test('a store made with SHA-256 digests (before BLAKE3) still lists, verifies, restores and takes new backups', async (t) => {
  const s = scratch(t)
  // Made by the release that wrote version 1 manifests: two backups of a
  // database of 300 keys, the second after 50 more.
  const store = s.path('sha256-store')
  fs.cpSync(path.join(__dirname, 'fixtures', 'sha256-store'), store, { recursive: true })
  const listed = await backups.list(store)
  t.deepEqual(
    listed.map((b) => [b.backupId, b.appMetadata]),
    [
      [1, 'first'],
      [2, 'second'],
    ],
  )
  t.is((await backups.verify(store, 1)).backupId, 1)
  t.is((await backups.verify(store, 2)).backupId, 2)
  await backups.restore(store, s.path('restored'), { backupId: 2 })
  const restored = RocksDatabase.open(s.path('restored'))
  t.deepEqual(restored.getSync(0), { i: 0, note: 'kept by a SHA-256 store' })
  t.deepEqual(restored.getSync(299), { i: 299, note: 'second backup' })
  t.is(restored.getKeysCount(), 300)
  // A new backup into it keeps SHA-256, so its files stay shared.
  restored.putSync(300, { i: 300 })
  const id = await restored.backup(store)
  await restored.close()
  const written = JSON.parse(fs.readFileSync(path.join(store, 'backups', `${id}.json`), 'utf8'))
  t.is(written.version, 1)
  t.true(written.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.blake3 === undefined))
  t.is((await backups.verify(store, id)).backupId, id)
  // A damaged SHA-256 file is still found.
  const victim = written.files.find((f) => f.name.endsWith('.sst'))
  const file = path.join(store, 'files', victim.sha256)
  const bytes = fs.readFileSync(file)
  bytes[bytes.length >> 1] ^= 0xff
  fs.writeFileSync(file, bytes)
  const error = await t.throwsAsync(backups.verify(store, id), { code: 'ERR_ROCKSDB_CORRUPTION' })
  t.is(error.file, victim.name)
})

test('a new store names its files by BLAKE3', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  for (let i = 0; i < 100; i++) db.putSync(i, { i })
  // After a flush the WAL is a new, empty file, whose digest is known.
  await db.flush()
  const store = s.path('store')
  const id = await db.backup(store)
  const written = JSON.parse(fs.readFileSync(path.join(store, 'backups', `${id}.json`), 'utf8'))
  t.is(written.version, 2)
  for (const f of written.files) {
    t.regex(f.blake3, /^[0-9a-f]{64}$/)
    t.true(fs.existsSync(path.join(store, 'files', f.blake3)))
  }
  // The digest is BLAKE3's own: the empty WAL's is the well-known one.
  const empty = written.files.find((f) => f.size === 0)
  t.truthy(empty, 'the backup lists an empty file')
  t.is(empty.blake3, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262')
})
