'use strict'

/**
 * rocksdb-js's file locks by token: `tryFileLock(path, shared)` takes the
 * lock of a file (made, with its parent directories, when missing) without
 * waiting and returns a token, 0 when another thread or process holds a
 * lock that excludes it; `fileLockRelease(token)` lets it go. Built on the
 * package's own file locks (src/lock.rs), which exclude the threads of a
 * process as they exclude processes.
 */

const fs = require('node:fs')
const path = require('node:path')
const { tryLockFile } = require('./binding')
const { checkPath, invalidArgType } = require('./errors')

// The locks this thread holds, by token.
const held = new Map()
let lastToken = 0

/**
 * Takes the exclusive lock (or with `shared`, a shared lock) of the file at
 * `file`; its token, or 0 when the lock is taken.
 */
function tryFileLock(file, shared = false) {
  const target = checkPath('path', file)
  if (typeof shared !== 'boolean') throw invalidArgType('shared', 'a boolean', shared)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const lock = tryLockFile(target, shared)
  if (lock === null) return 0
  lastToken = (lastToken % 0x7fffffff) + 1
  held.set(lastToken, lock)
  return lastToken
}

/** Releases the lock of `token`; nothing for 0 or a token not held. */
function fileLockRelease(token) {
  const lock = held.get(token)
  if (lock === undefined) return
  held.delete(token)
  lock.release()
}

module.exports = { tryFileLock, fileLockRelease }
