'use strict'

// A full disk and a denied permission, for real: a small tmpfs mounted by the
// test (root only) and a child process running as `nobody`. Where either is
// not possible the test says so and passes without exercising it.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { RocksDatabase } = require('..')
const { scratch, isRoot, mountSmall } = require('./helpers')

const root = path.resolve(__dirname, '..')

/** Fills the filesystem of `dir` but for about `leave` bytes, with a file that can be deleted later. */
function fill(dir, leave) {
  const filler = path.join(dir, 'filler')
  const { bavail, bsize } = fs.statfsSync(dir)
  const size = Math.max(0, bavail * bsize - leave)
  const fd = fs.openSync(filler, 'w')
  const chunk = Buffer.alloc(1 << 20, 1)
  for (let written = 0; written < size; ) {
    written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written))
  }
  fs.closeSync(fd)
  return filler
}

test('a full disk fails writes with ERR_NO_SPACE and an error event; writes work again once space returns', async (t) => {
  const s = scratch(t)
  const dir = mountSmall(t, s, '32m')
  if (dir === null) return t.pass()
  // RocksDB clears a full-disk error only once the free space exceeds its
  // write buffers, so they are kept small here.
  const db = RocksDatabase.open(path.join(dir, 'db'), { compression: 'none', writeBufferSize: 1 << 20 })
  const events = []
  db.on('error', (error) => events.push(error.code))
  t.is(db.getLastError(), null)
  const filler = fill(dir, 512 * 1024)
  const value = 'v'.repeat(16 * 1024)
  const acknowledged = []
  let failure
  for (let i = 0; i < 10_000; i++) {
    try {
      db.putSync(i, value)
      acknowledged.push(i)
    } catch (error) {
      failure = error
      break
    }
  }
  t.truthy(failure, 'the disk filled up')
  t.is(failure.code, 'ERR_NO_SPACE', failure.message)
  t.regex(failure.message, /No space left on device/)
  t.true(events.includes('ERR_NO_SPACE'))
  t.is(db.getLastError()?.code, 'ERR_NO_SPACE')
  // Meanwhile: reads work, writes and checkpoints fail with the same code.
  t.is(db.getSync(acknowledged.at(-1)), value)
  t.throws(() => db.putSync('more', 1), { code: 'ERR_NO_SPACE' })
  await t.throwsAsync(db.put('more', 1), { code: 'ERR_NO_SPACE' })
  await t.throwsAsync(db.createCheckpoint(path.join(dir, 'cp-full')), { code: 'ERR_NO_SPACE' })

  // Space returns: writes work again on the same handle, within RocksDB's
  // free-space check (every five seconds) at most.
  fs.rmSync(filler)
  const freed = Date.now()
  for (;;) {
    try {
      db.putSync('after', 'space returned')
      break
    } catch (error) {
      t.is(error.code, 'ERR_NO_SPACE')
      if (Date.now() - freed > 20_000) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  t.log(`writes worked again ${Date.now() - freed} ms after space was freed`)
  t.is(db.getSync('after'), 'space returned')
  t.is(db.getLastError(), null)
  await db.put('async after', 1)
  await db.createCheckpoint(path.join(dir, 'cp'))
  await db.close()
  const again = RocksDatabase.open(path.join(dir, 'db'))
  t.is(again.getSync('after'), 'space returned')
  for (const i of acknowledged) t.is(again.getSync(i), value, `acknowledged write ${i}`)
  await again.close()
  t.log(`${acknowledged.length} writes acknowledged before the disk filled; none lost`)
})

test('resume() after space returns clears the error before any write', async (t) => {
  const s = scratch(t)
  const dir = mountSmall(t, s, '16m')
  if (dir === null) return t.pass()
  const db = RocksDatabase.open(path.join(dir, 'db'), { writeBufferSize: 1 << 20 })
  const filler = fill(dir, 256 * 1024)
  await t.throwsAsync(
    (async () => {
      for (let i = 0; ; i++) await db.put(i, 'x'.repeat(8192))
    })(),
    { code: 'ERR_NO_SPACE' },
  )
  t.is(db.getLastError()?.code, 'ERR_NO_SPACE')
  fs.rmSync(filler)
  await db.resume()
  t.is(db.getLastError(), null)
  db.putSync('k', 1)
  await db.close()
})

test('opening a database in a directory the user cannot write is ERR_PERMISSION_DENIED', (t) => {
  if (!isRoot) {
    const s = scratch(t)
    fs.mkdirSync(s.path('locked'), { mode: 0o555 })
    t.throws(() => RocksDatabase.open(s.path('locked', 'db')), { code: 'ERR_PERMISSION_DENIED' })
    return
  }
  const s = scratch(t)
  fs.chmodSync(s.dir, 0o755)
  fs.mkdirSync(s.path('locked'), { mode: 0o755 }) // owned by root
  const db = s.open('theirs')
  db.putSync('k', 1)
  db.close()
  const script = `
    const { RocksDatabase } = require(${JSON.stringify(root)})
    const report = (f) => { try { f(); return 'ok' } catch (e) { return e.code + ': ' + e.message } }
    console.log(JSON.stringify([
      report(() => RocksDatabase.open(${JSON.stringify(s.path('locked', 'db'))})),
      report(() => RocksDatabase.open(${JSON.stringify(s.path('theirs'))})),
    ]))`
  const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' })
  t.is(child.status, 0, child.stderr)
  const [create, open] = JSON.parse(child.stdout.trim())
  t.regex(create, /^ERR_PERMISSION_DENIED: /)
  t.regex(open, /^ERR_PERMISSION_DENIED: /)
})
