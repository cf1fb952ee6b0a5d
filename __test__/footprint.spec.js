'use strict'

// What each open database costs on disk and in the process, for the app
// servers that keep hundreds of branches open (see docs/branches.md).

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

/** Bytes `file` holds on disk; 0 when RocksDB removed it meanwhile (a MANIFEST or WAL rolled over). */
function allocated(file) {
  try {
    return fs.statSync(file).blocks * 512
  } catch (error) {
    if (error.code === 'ENOENT') return 0
    throw error
  }
}

test('an open branch with a few writes takes little disk: RocksDB reserves no WAL or MANIFEST space ahead', async (t) => {
  const s = scratch(t)
  const base = s.open('base', { encoding: 'binary' })
  for (let i = 0; i < 2000; i++) base.putSync(`k${i}`, Buffer.alloc(100, 1))
  base.flushSync()
  await base.createCheckpoint(s.path('branch'))
  const branch = s.open('branch', { encoding: 'binary' })
  for (let i = 0; i < 200; i++) branch.putSync(`own${i}`, Buffer.alloc(100, 2))
  const files = fs.readdirSync(branch.path)
  const wal = files.filter((f) => f.endsWith('.log'))
  const manifest = files.filter((f) => f.startsWith('MANIFEST-'))
  t.true(wal.length > 0 && manifest.length > 0)
  for (const file of [...wal, ...manifest]) {
    // 200 writes of 100 bytes: tens of KiB, where fallocate would reserve 70 MiB (WAL) and 4 MiB (MANIFEST).
    t.true(allocated(path.join(branch.path, file)) < 1024 * 1024, `${file} takes ${allocated(path.join(branch.path, file))} bytes`)
  }
})

test('reopening a database many times keeps at most 4 old info logs', async (t) => {
  const s = scratch(t)
  const dir = s.path('db')
  for (let i = 0; i < 8; i++) {
    const db = RocksDatabase.open(dir)
    db.putSync('n', i)
    await db.close()
  }
  const old = fs.readdirSync(dir).filter((f) => f.startsWith('LOG.old'))
  t.true(old.length <= 4, `${old.length} old logs`)
  t.true(fs.existsSync(path.join(dir, 'LOG')))
})
