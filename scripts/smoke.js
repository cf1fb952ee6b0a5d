'use strict'

// A short run through every native entry point, for memory checkers:
// `scripts/memcheck.sh` runs it under valgrind. Exits non-zero on a wrong
// result; a memory error is valgrind's to report.

const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { RocksDatabase } = require('..')
const native = require('../native.js')

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-smoke-'))
  try {
    const db = RocksDatabase.open(path.join(dir, 'db'))
    for (let i = 0; i < 2000; i++) db.putSync(i, { i, pad: 'x'.repeat(i % 300) })
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.put(`a${i}`, i)))
    db.putSync('big', 'y'.repeat(100_000))
    assert.strictEqual(db.getSync(5).i, 5)
    assert.strictEqual((await db.get('big')).length, 100_000)
    assert.strictEqual([...db.getRange({ start: 0, end: 2000 })].length, 2000)
    assert.strictEqual([...db.getKeys({ limit: 10, reverse: true })].length, 10)
    db.putSync('re', {
      get x() {
        return db.getSync(7).i
      },
    })
    assert.deepStrictEqual(db.getSync('re'), { x: 7 })
    // The key-passed forms (a key too long for the shared key buffer), the
    // range wire format outside the buffers, counts and transaction ranges.
    const long = 'k'.repeat(5000)
    db.putSync(long, 1)
    assert.strictEqual(db.getSync(long), 1)
    assert.strictEqual(db.getBinarySync(long).length > 0, true)
    assert.strictEqual([...db.getRange({ start: long, end: long + 'z' })].length, 1)
    db.removeSync(long)
    assert.strictEqual(db.getKeysCount({ start: 0, end: 100, offset: 10 }), 90)
    await db.transaction((txn) => {
      assert.strictEqual([...txn.getRange({ start: 0, end: 50 })].length, 50)
    })
    RocksDatabase.config({ blockCacheSize: 32 * 1024 * 1024 })
    assert.ok(RocksDatabase.memoryUsage().blockCacheCapacity === 32 * 1024 * 1024)
    // A transaction writing another column family of its database.
    const family = RocksDatabase.open(db.path, { name: 'family' })
    await db.transaction((txn) => {
      family.putSync('x', 1, { transaction: txn })
      assert.strictEqual(family.getSync('x', { transaction: txn }), 1)
    })
    assert.strictEqual(family.getSync('x'), 1)
    family.close()
    await db.transaction((txn) => {
      txn.putSync('t', txn.getSync(1).i + 1)
    })
    assert.strictEqual(db.getSync('t'), 2)
    db.flushSync()
    await db.createCheckpoint(path.join(dir, 'cp'))
    const info = await db.checkpoints.create('named')
    await db.checkpoints.verify('named')
    const branch = await db.checkpoints.branch('named', path.join(dir, 'branch'))
    branch.putSync('only-here', 1)
    await branch.close()
    const range = db.getRange()[Symbol.iterator]()
    range.next()
    await db.close()
    assert.throws(() => range.next(), { code: 'ERR_DATABASE_CLOSED' })
    const again = RocksDatabase.open(path.join(dir, 'db'))
    assert.strictEqual(again.getSync(1999).i, 1999)
    assert.ok(fs.existsSync(info.path))
    // The shared buffers, with JavaScript's views transferred away.
    const handle = native.NativeDatabase.open(path.join(dir, 'raw'))
    const shared = handle.shareBuffers(64, 64)
    const keys = native.sharedKeyBuffer(shared)
    keys.write('k')
    native.putShared(shared, 1, Buffer.from('v'))
    try {
      structuredClone(keys.buffer, { transfer: [keys.buffer] })
    } catch {}
    globalThis.gc?.()
    assert.strictEqual(native.getShared(shared, 1), 1)
    handle.close()
    // Opens on the pool: a handle made on the main thread from the
    // worker's engine; one closed while it opens; a RocksDB failure.
    const opened = await RocksDatabase.openAsync(path.join(dir, 'async'))
    opened.putSync('a', 1)
    const closing = new RocksDatabase(path.join(dir, 'async-closed'))
    const pending = assert.rejects(closing.openAsync(), { code: 'ERR_DATABASE_CLOSED' })
    await closing.close()
    await pending
    await assert.rejects(native.NativeDatabase.openAsync(path.join(dir, 'missing'), { createIfMissing: false }))
    await opened.close()
    // Backups: the copies and the digests, one sync of the filesystem, the
    // shared lock; an incremental backup that hashes before it copies.
    const { backups } = require('..')
    await again.backup(path.join(dir, 'store'), { maxBackgroundOperations: 2 })
    await native.syncFilesystem(dir)
    const id = await again.backup(path.join(dir, 'store'))
    await backups.verify(path.join(dir, 'store'), id)
    await backups.restore(path.join(dir, 'store'), path.join(dir, 'restored'))
    for (const algorithm of ['blake3', 'sha256']) {
      const digest = await native.hashFile(path.join(dir, 'store', 'backups', `${id}.json`), algorithm)
      assert.strictEqual(digest.digest.length, 64)
    }
    await assert.rejects(native.hashFile(path.join(dir, 'store', 'backups', `${id}.json`), 'md5'))
    // Claims on a directory: shared by handles, exclusive for a reset.
    const claim = native.claimDirectoryShared(path.join(dir, 'claimed'))
    assert.strictEqual(native.claimDirectoryExclusive(path.join(dir, 'claimed'), 'reset'), null)
    assert.strictEqual(native.directoryClaims(path.join(dir, 'claimed')).handles, 1)
    claim.release()
    native.claimDirectoryExclusive(path.join(dir, 'claimed'), 'reset').release()
    const shared1 = native.tryLockFile(path.join(dir, 'lock'), true)
    const shared2 = native.tryLockFile(path.join(dir, 'lock'), true)
    assert.strictEqual(native.tryLockFile(path.join(dir, 'lock')), null)
    shared1.release()
    shared2.release()
    // Statistics and the version.
    const counted = RocksDatabase.open(path.join(dir, 'stats'), { enableStats: true, infoLog: false })
    counted.putSync('a', 1)
    assert.strictEqual(counted.getStat('rocksdb.number.keys.written'), 1)
    await counted.close()
    assert.match(native.rocksdbVersion(), /^\d+\.\d+/)
    again.destroy()
    console.log('smoke: ok')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
