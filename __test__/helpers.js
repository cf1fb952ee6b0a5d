'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { RocksDatabase } = require('..')

/** A fresh directory for one test, removed with everything opened in it. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-'))
  const opened = []
  t.teardown(() => {
    for (const db of opened) db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return {
    dir,
    path: (...parts) => path.join(dir, ...parts),
    /** Opens a database that the teardown closes. */
    open(name, options) {
      const db = RocksDatabase.open(path.join(dir, name), options)
      opened.push(db)
      return db
    },
    track(db) {
      opened.push(db)
      return db
    },
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Mounts a tmpfs of `size` at a new directory; null (with a log) when it cannot. */
function mountSmall(t, s, size) {
  if (!isRoot) {
    t.log('mounting a tmpfs needs root; the disk-full case is not exercised')
    return null
  }
  const dir = s.path('small')
  fs.mkdirSync(dir)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  if (mounted.status !== 0) {
    t.log(`cannot mount a tmpfs here (${String(mounted.stderr).trim()}); the disk-full case is not exercised`)
    return null
  }
  t.teardown(() => spawnSync('umount', ['-l', dir]))
  return dir
}


module.exports = { scratch, isRoot, mountSmall }
