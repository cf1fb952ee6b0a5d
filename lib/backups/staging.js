'use strict'

/**
 * The checkpoint a backup reads a consistent set of files from, staged
 * beside the database (`<path>.backup-staging/<uuid>/`), one folder and
 * lock file per backup.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { tryLockFile } = require('../binding')
const { codedError, beside } = require('../registry')
const { DB_FILE } = require('./format')
const { exists } = require('./shared')
const { snapshotLogs } = require('../transaction-log')

/**
 * Makes a checkpoint of `db` to read a consistent set of files from, in
 * `<db>.backup-staging/<uuid>/`, on the database's filesystem so that it
 * costs hardlinks, and lists the files to back up (see `stagedFiles`);
 * flushes first with `flushBeforeBackup` (by default only without a WAL).
 * Each staging folder has a lock file beside it, `<uuid>.lock`, held while
 * its backup runs: leftovers of crashed backups (folders whose lock is
 * free) are removed first, and backups running meanwhile in any thread or
 * process are left alone. With `transactionLogs`, the database's
 * transaction logs are copied in too (`<dir>/transaction_logs/`). Resolves
 * with `{ dir, files, logs, release }`.
 */
async function stageCheckpoint(db, options) {
  const root = beside(db.path, 'backupStaging')
  await removeStagingLeftovers(root)
  if (options.flushBeforeBackup ?? db.options.disableWAL === true) await db.flush()
  const dir = path.join(root, crypto.randomUUID())
  const lock = await lockStaging(root, dir)
  // A fresh name's lock is free; null would mean a clash of random UUIDs.
  if (lock === null) throw codedError('ERR_BACKUP_LOCKED', `${dir} is in use`)
  const release = async () => {
    try {
      await fs.promises.rm(dir, { recursive: true, force: true })
      // Removed while held, then released (src/lock.rs tells a lock on a removed file).
      await fs.promises.rm(`${dir}.lock`, { force: true })
    } finally {
      lock.release()
    }
    // Only when empty: another backup may be staging beside it.
    await fs.promises.rmdir(root).catch(() => {})
  }
  try {
    await db.createCheckpoint(dir)
    // With `transactionLogs`, the logs as they are after the checkpoint:
    // every transaction in it, and maybe some committed just after.
    const logs = options.transactionLogs === true ? await snapshotLogs(db, dir) : []
    return { dir, files: await stagedFiles(dir, options), logs, release }
  } catch (error) {
    await release()
    throw error
  }
}

/** Takes the lock of the new staging folder `dir` in `root`, making `root` (again, if a finished backup removed it meanwhile). */
async function lockStaging(root, dir) {
  for (let attempt = 1; ; attempt++) {
    try {
      // A backup finishing in another thread may remove `root` between this
      // mkdir's EEXIST and its check of what exists, which then fails with
      // ENOENT: that too is a try again.
      await fs.promises.mkdir(root, { recursive: true })
      return tryLockFile(`${dir}.lock`, false)
    } catch (error) {
      if (attempt === 5) throw error
    }
  }
}

/** Removes the staging folders of `root` whose backup is no longer running (their lock is free). */
async function removeStagingLeftovers(root) {
  let entries
  try {
    entries = await fs.promises.readdir(root)
  } catch (error) {
    if (error.code === 'ENOENT') return
    throw error
  }
  // `<uuid>`, RocksDB's staging `<uuid>.tmp` while the checkpoint is made,
  // and `<uuid>.lock`, all under the one lock.
  const staged = new Set(entries.map((entry) => entry.replace(/\.(lock|tmp)$/, '')))
  for (const name of staged) {
    const dir = path.join(root, name)
    let lock
    try {
      lock = tryLockFile(`${dir}.lock`, false)
    } catch (error) {
      // The last backup of another thread finished meanwhile and removed
      // the folder: nothing is left.
      if (!(await exists(root))) return
      throw error
    }
    if (lock === null) continue // its backup is running
    try {
      await fs.promises.rm(dir, { recursive: true, force: true })
      await fs.promises.rm(`${dir}.tmp`, { recursive: true, force: true })
      await fs.promises.rm(`${dir}.lock`, { force: true })
    } finally {
      lock.release()
    }
  }
}

/**
 * The files of a staged checkpoint to back up, in a fixed order, with their
 * sizes. Read through libuv's pool: a large database has hundreds of files.
 */
async function stagedFiles(dir, { backupLogFiles = true } = {}) {
  const names = (await fs.promises.readdir(dir)).filter((name) => DB_FILE.test(name) && (backupLogFiles || !name.endsWith('.log'))).sort()
  return Promise.all(names.map(async (name) => ({ name, size: (await fs.promises.stat(path.join(dir, name))).size })))
}

module.exports = { stageCheckpoint }
