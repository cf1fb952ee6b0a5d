'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
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

module.exports = { scratch, isRoot }
