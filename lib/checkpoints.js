'use strict'

/**
 * Managed checkpoints: named restore points of one database, kept under a
 * directory beside it, with lifetimes, verification and branches.
 *
 * The checkpoints directory is a registry (./registry) whose records name
 * directories `<uuid>/`, each a complete RocksDB database.
 *
 * Every change to the registry holds its lock, across threads and
 * processes. A create records the checkpoint as being created before its
 * directory exists and completes the record after, so a crash leaves a
 * marked record, whose directory the next holder of the lock removes: only
 * directories the registry itself named are ever removed. A delete (and a
 * prune) marks the record as being deleted before it removes the directory
 * and drops the record after, so a crash between the two leaves a marked
 * record that the next holder of the lock finishes, never an unrecorded
 * directory.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { isDatabaseOpen, claimDirectoryExclusive, tryLockFile, NativeDatabase } = require('./binding')
const { invalidArgType, outOfRange, checkPath, heldByAnotherProcess } = require('./errors')
const { RegistryFile, CREATING, DELETING, beside, codedError, checkName, copyMetadata, fsyncDirectory, measure, released } = require('./registry')
const { checkOpenOptions } = require('./options')

// Longest lifetime, 100 years: enough for any expiry meant, and it keeps every
// expiry a valid Date (a lifetime of 1e300 ms is not one). `null` never expires.
const MAX_LIFETIME = 100 * 365.25 * 24 * 3600 * 1000
const REGISTRY_VERSION = 1
const KIND = { list: 'checkpoints', version: REGISTRY_VERSION, corruptCode: 'ERR_CHECKPOINT_REGISTRY_CORRUPT', states: [CREATING, DELETING] }

function checkNameOrId(nameOrId) {
  if (typeof nameOrId !== 'string' || nameOrId.length === 0) {
    throw invalidArgType('nameOrId', 'a non-empty string', nameOrId)
  }
  return nameOrId
}

function checkLifetime(lifetime, name = 'lifetime') {
  if (lifetime === undefined || lifetime === null) return null
  if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) {
    throw invalidArgType(name, 'a positive number of milliseconds or null', lifetime)
  }
  if (lifetime > MAX_LIFETIME) throw outOfRange(name, `<= ${MAX_LIFETIME} (100 years)`, lifetime)
  return lifetime
}

/** The record kept for one checkpoint, as the public `CheckpointInfo`. */
function toInfo(dir, record, withSpace) {
  const info = {
    name: record.name,
    id: record.id,
    createdAt: new Date(record.createdAt),
    expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt),
    sequence: record.sequence,
    path: path.join(dir, record.id),
    sizeBytes: record.sizeBytes,
    fileCount: record.fileCount,
    linkMode: record.linkMode,
    metadata: record.metadata,
  }
  if (withSpace) {
    try {
      const now = measure(info.path)
      info.exclusiveBytes = now.exclusiveBytes
      // Links change as the source compacts its files away.
      info.linkMode = now.linkMode === 'none' ? record.linkMode : now.linkMode
    } catch {
      info.exclusiveBytes = 0
    }
  }
  return info
}

/**
 * The checkpoints of one database. Reading (`list`, `info`, `latest`,
 * `verify`) needs only the directory; making and changing checkpoints needs
 * the database open (`db.checkpoints`). The public `CheckpointStore` of
 * ./index extends it with the database class, which this module is given
 * rather than requiring, so that the modules do not require each other.
 */
class CheckpointRegistry {
  #db
  #Database
  #registry

  /**
   * @param {string} dir the checkpoints directory
   * @param {object | undefined} db the open database they belong to
   * @param {{ open(path: string, options: object): object }} Database opens the checkpoints
   */
  constructor(dir, db, Database) {
    this.dir = path.resolve(dir)
    this.#db = db
    this.#Database = Database
    this.#registry = new RegistryFile(this.dir, KIND)
  }

  #read() {
    return this.#registry.read()
  }

  #write(records) {
    this.#registry.write(records)
  }

  /**
   * Removes what interrupted work left, and only that: the directory (and
   * RocksDB's `<id>.tmp` staging directory) of each record still marked as
   * being created or deleted, and temporary copies of the registry. Must
   * run holding the registry lock: a create or delete in progress holds it,
   * so every record still marked then is a leftover. Returns the complete
   * records.
   */
  #settle() {
    this.#registry.removeTemporaryFiles()
    const records = this.#registry.readAll()
    const complete = records.filter((record) => record.state === undefined)
    if (complete.length === records.length) return records
    this.#remove(records, complete)
    return complete
  }

  /**
   * Removes from `records` those not in `keep` and their directories: marks
   * them as being deleted, removes the directories, then writes `keep`.
   */
  #remove(records, keep) {
    const doomed = records.filter((record) => !keep.includes(record))
    for (const record of doomed) if (record.state === undefined) record.state = DELETING
    this.#write(records)
    for (const record of doomed) {
      fs.rmSync(path.join(this.dir, record.id), { recursive: true, force: true })
      fs.rmSync(path.join(this.dir, `${record.id}.tmp`), { recursive: true, force: true })
    }
    this.#write(keep)
  }

  #find(records, nameOrId) {
    return records.find((r) => r.name === nameOrId || r.id === nameOrId)
  }

  #require(nameOrId) {
    const record = this.#find(this.#read(), checkNameOrId(nameOrId))
    if (!record) throw codedError('ERR_CHECKPOINT_NOT_FOUND', `no checkpoint named or with id ${JSON.stringify(nameOrId)} in ${this.dir}`)
    return record
  }

  #database() {
    if (!this.#db) {
      throw codedError('ERR_DATABASE_CLOSED', 'changing checkpoints needs the database open: use db.checkpoints')
    }
    return this.#db
  }

  /** Every checkpoint, oldest first. */
  list() {
    return this.#read().map((record) => toInfo(this.dir, record, false))
  }

  /** One checkpoint by name or id, with `exclusiveBytes`; `undefined` when absent. */
  info(nameOrId) {
    const record = this.#find(this.#read(), checkNameOrId(nameOrId))
    return record && toInfo(this.dir, record, true)
  }

  /** The newest checkpoint, or `undefined`. */
  latest() {
    const records = this.#read()
    return records.length === 0 ? undefined : toInfo(this.dir, records[records.length - 1], false)
  }

  /**
   * Makes a checkpoint of the live database named `name`. Its record is
   * written, marked as being created, before its directory exists, so that
   * only directories the registry made are ever removed as leftovers.
   * @param {string} name
   * @param {{ lifetime?: number | null, metadata?: object }} [options]
   */
  async create(name, options = {}) {
    checkName(name)
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
    const lifetime = checkLifetime(options.lifetime, 'options.lifetime')
    const metadata = copyMetadata(options.metadata ?? {})
    const db = this.#database()
    return this.#registry.locked(async () => {
      const records = this.#settle()
      if (this.#find(records, name)) {
        throw codedError('ERR_CHECKPOINT_EXISTS', `a checkpoint named ${JSON.stringify(name)} already exists`)
      }
      const id = crypto.randomUUID()
      const target = path.join(this.dir, id)
      const createdAt = Date.now()
      this.#write([...records, { id, name, state: CREATING, createdAt: new Date(createdAt).toISOString() }])
      let record
      try {
        await db.createCheckpoint(target)
        const sequence = readSequence(target)
        const { sizeBytes, fileCount, linkMode } = measure(target)
        record = {
          id,
          name,
          createdAt: new Date(createdAt).toISOString(),
          expiresAt: lifetime === null ? null : new Date(createdAt + lifetime).toISOString(),
          sequence,
          sizeBytes,
          fileCount,
          linkMode,
          metadata,
        }
      } catch (error) {
        this.#settle()
        throw error
      }
      this.#write([...records, record])
      return toInfo(this.dir, record, true)
    })
  }

  /** Deletes a checkpoint; resolves `true`, or `false` when there was none. */
  async delete(nameOrId) {
    checkNameOrId(nameOrId)
    this.#database()
    return this.#registry.locked(async () => {
      const records = this.#settle()
      const record = this.#find(records, nameOrId)
      if (!record) return false
      this.#remove(records, records.filter((r) => r !== record))
      return true
    })
  }

  /** Sets a new expiry `lifetime` milliseconds from now; `null` means never. */
  async refresh(nameOrId, lifetime) {
    checkNameOrId(nameOrId)
    if (lifetime === undefined) throw invalidArgType('lifetime', 'a positive number of milliseconds or null', lifetime)
    const ms = checkLifetime(lifetime)
    this.#database()
    return this.#registry.locked(async () => {
      const records = this.#settle()
      const record = this.#find(records, nameOrId)
      if (!record) throw codedError('ERR_CHECKPOINT_NOT_FOUND', `no checkpoint named or with id ${JSON.stringify(nameOrId)}`)
      record.expiresAt = ms === null ? null : new Date(Date.now() + ms).toISOString()
      this.#write(records)
      return toInfo(this.dir, record, false)
    })
  }

  /** Deletes every expired checkpoint and the leftovers of interrupted creates; returns the checkpoints deleted. */
  async prune() {
    this.#database()
    return this.#registry.locked(async () => this.#prune(Date.now()))
  }

  /**
   * `prune()` on the calling thread, run when the database opens. When
   * another thread or process holds the registry lock, it is busy with the
   * registry and nothing is pruned this time.
   */
  pruneSync(now = Date.now()) {
    if (!this.#registry.exists()) return []
    return this.#registry.lockedIfFree(() => this.#prune(now), [])
  }

  #prune(now) {
    const records = this.#settle()
    const expired = records.filter((r) => r.expiresAt !== null && Date.parse(r.expiresAt) <= now)
    if (expired.length === 0) return []
    this.#remove(records, records.filter((r) => !expired.includes(r)))
    return expired.map((record) => toInfo(this.dir, record, false))
  }

  /** Opens a checkpoint read-only, with the encodings of the database. */
  async open(nameOrId) {
    const record = this.#require(nameOrId)
    return this.#Database.openAsync(path.join(this.dir, record.id), { ...viewOptions(this.#db), readOnly: true })
  }

  /**
   * A new writable database at `targetPath` holding the checkpoint's data. It
   * shares unchanged SST files with the checkpoint through hardlinks.
   */
  async branch(nameOrId, targetPath) {
    const target = checkPath('targetPath', targetPath)
    const record = this.#require(nameOrId)
    await copyDatabase(this.#Database, path.join(this.dir, record.id), target)
    return this.#Database.openAsync(target, { ...viewOptions(this.#db), readOnly: false })
  }

  /**
   * Reads every SST file of a checkpoint and checks RocksDB's block
   * checksums. Resolves with `{ name, id, files, bytes }`; rejects with
   * `ERR_ROCKSDB_CORRUPTION` (and `file`, the damaged file) otherwise.
   */
  async verify(nameOrId) {
    const record = this.#require(nameOrId)
    const dir = path.join(this.dir, record.id)
    try {
      await verifyDatabase(this.#Database, dir)
    } catch (error) {
      if (error.file) error.file = path.join(dir, error.file)
      throw error
    }
    const { sizeBytes, fileCount } = measure(dir)
    return { name: record.name, id: record.id, files: fileCount, bytes: sizeBytes }
  }
}

/**
 * Makes a checkpoint of the closed database at `source` at `target`: a
 * writable copy sharing its SST files through hardlinks. `Database` opens it.
 */
async function copyDatabase(Database, source, target) {
  const view = await Database.openAsync(source, { readOnly: true, infoLog: false })
  try {
    await view.createCheckpoint(target)
  } finally {
    await view.close()
  }
}

// The name of a database file in a RocksDB error message.
const DAMAGED_FILE = /([^\s/\\]+\.(?:sst|log|blob)|MANIFEST-\d+)/

/**
 * Opens the database at `dir` read-only and checks RocksDB's block checksums
 * of every SST file. A failure (at open, for a damaged MANIFEST) carries
 * `file`, the name of the damaged file, when RocksDB's message names one.
 */
async function verifyDatabase(Database, dir) {
  let view
  try {
    view = await Database.openAsync(dir, { readOnly: true, infoLog: false })
    await view.verifyChecksums()
  } catch (error) {
    const file = DAMAGED_FILE.exec(error.message ?? '')
    if (file) error.file = file[1]
    throw error
  } finally {
    await view?.close()
  }
}

function viewOptions(db) {
  if (!db) return {}
  const { encoding, keyEncoding, encoder, name } = db.options
  return { encoding, keyEncoding, encoder, name }
}

const SEQUENCE_VIEW = checkOpenOptions({ readOnly: true, infoLog: false, createIfMissing: false })

/**
 * The latest sequence number inside a finished checkpoint or branch. Read
 * through RocksDB directly, not a handle: a reset reads it while it holds
 * the branch's directory, which a handle's open would wait for.
 */
function readSequence(dir) {
  const view = NativeDatabase.open(dir, SEQUENCE_VIEW)
  try {
    return view.latestSequenceNumber()
  } finally {
    view.close()
  }
}

// The paths a restore keeps beside the database (see `BESIDE` of ./registry).
const restorePaths = (dbPath) => ({
  lock: beside(dbPath, 'restoreLock'),
  staging: beside(dbPath, 'restoreStaging'),
  ready: beside(dbPath, 'restoreReady'),
  replaced: beside(dbPath, 'restoreReplaced'),
})

// Databases this thread is restoring: the restore itself opens the
// database it replaces (to keep its state as a checkpoint) while it holds
// the restore's lock, and that open must not wait for the lock.
const restoringHere = new Set()

function restoreInProgress(dbPath) {
  return codedError('ERR_RESTORE_IN_PROGRESS', `${dbPath} is being restored; open it (or restore it again) once that restore is done`)
}

/**
 * Takes the lock of restores into `dbPath` (a file beside it, locked across
 * threads and processes), or throws `ERR_RESTORE_IN_PROGRESS`. Its holder
 * removes the file before releasing it.
 */
function takeRestoreLock(dbPath) {
  const lock = tryLockFile(restorePaths(dbPath).lock, false)
  if (lock === null) throw restoreInProgress(dbPath)
  return lock
}

/** Removes the lock file of restores into `dbPath`, then releases `lock`. */
function dropRestoreLock(dbPath, lock) {
  try {
    fs.rmSync(restorePaths(dbPath).lock, { force: true })
  } finally {
    lock.release()
  }
}

/**
 * Finishes or undoes a restore that a crash interrupted, so the database is
 * either the old one or the restored one, whole. Runs before every open,
 * which it refuses with `ERR_RESTORE_IN_PROGRESS` while a restore (in any
 * thread or process) is working on the database: that restore's files are
 * left alone, and the database would be replaced under the handle.
 */
function recoverRestore(dbPath) {
  const paths = restorePaths(dbPath)
  const leftovers = [paths.lock, paths.staging, `${paths.staging}.tmp`, paths.ready, paths.replaced]
  // The common case costs these stat calls.
  if (restoringHere.has(dbPath) || !leftovers.some((leftover) => fs.existsSync(leftover))) return
  const lock = takeRestoreLock(dbPath)
  try {
    settleRestore(dbPath)
  } finally {
    dropRestoreLock(dbPath, lock)
  }
}

/** What `recoverRestore` does once it holds the restore lock. */
function settleRestore(dbPath) {
  const { staging, ready, replaced } = restorePaths(dbPath)
  // The staging copy, and RocksDB's own staging directory of it.
  for (const dir of [staging, `${staging}.tmp`]) {
    if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true })
  }
  if (fs.existsSync(ready)) {
    if (fs.existsSync(dbPath)) fs.rmSync(ready, { recursive: true, force: true }) // the swap never began
    else fs.renameSync(ready, dbPath) // the swap was half done: finish it
  }
  if (fs.existsSync(replaced) && fs.existsSync(dbPath)) fs.rmSync(replaced, { recursive: true, force: true })
}

/**
 * Checks that the staged copy at `dir` is a database RocksDB opens, before
 * it replaces anything: a backup whose manifest lists no CURRENT, say,
 * would otherwise swap in a folder that is no database.
 */
async function checkStaged(Database, dir) {
  let view
  try {
    view = await Database.openAsync(dir, { readOnly: true, createIfMissing: false, infoLog: false })
  } catch (error) {
    throw codedError('ERR_ROCKSDB_CORRUPTION', `the restored copy is not a database RocksDB can open, so nothing was replaced: ${error.message}`, { cause: error })
  } finally {
    await view?.close()
  }
}

/**
 * Replaces the closed database at `dbPath` (or makes one where none is) with
 * the files `stage(dir)` writes into a staging directory beside it, crash
 * safely: the current state is first kept as a checkpoint named
 * `pre-restore-<time>`, and the staged copy is swapped in by renames that
 * `recoverRestore` finishes or undoes after a crash. One restore into a path
 * at a time (`ERR_RESTORE_IN_PROGRESS` for the next), and no handle may
 * open the database meanwhile. `checkSource()` runs once the lock is held
 * and the database found closed, before anything is changed. Resolves
 * with the kept checkpoint's info, or `null` when there was no database to
 * keep. `Database` opens them.
 */
async function replaceDatabase(Database, dbPath, stage, options = {}, checkSource = () => {}) {
  const target = dbPath
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const lock = takeRestoreLock(target)
  restoringHere.add(target)
  try {
    if (isDatabaseOpen(target)) {
      throw codedError('ERR_DATABASE_OPEN', `${target} is open in this process; close it before restoring`)
    }
    checkSource()
    settleRestore(target)
    const kept = await keepPreRestore(Database, target, options)
    // From here to the swap no handle of this process may open it.
    const claim = claimDirectoryExclusive(target, 'restore')
    if (claim === null) throw codedError('ERR_DATABASE_OPEN', `${target} was opened in this process while being restored; close it and restore again`)
    try {
      await swapIn(Database, target, stage)
    } finally {
      claim.release()
    }
    return kept
  } finally {
    restoringHere.delete(target)
    dropRestoreLock(target, lock)
  }
}

/** Keeps the state of the database at `target`, if any, as checkpoint `pre-restore-<time>`; resolves with its info or `null`. */
async function keepPreRestore(Database, target, options) {
  if (!fs.existsSync(path.join(target, 'CURRENT'))) {
    if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
      // Not a database: nothing that could be kept, so nothing is replaced.
      throw codedError('ERR_TARGET_EXISTS', `${target} holds files but no database; restore into a database or a new path`)
    }
    return null
  }
  let db
  try {
    db = await Database.openAsync(target, { ...options, readOnly: false })
  } catch (error) {
    throw heldByAnotherProcess(error, `${target} is held open by another process`)
  }
  try {
    return await db.checkpoints.create(`pre-restore-${new Date().toISOString().replace(/[:]/g, '-')}`)
  } finally {
    // RocksDB must have let go of the directory before it is renamed.
    await db.close()
  }
}

/** Stages the new state with `stage(dir)`, checks it opens, and swaps it in for `target` by renames. */
async function swapIn(Database, target, stage) {
  const { staging, ready, replaced } = restorePaths(target)
  try {
    await stage(staging)
    await checkStaged(Database, staging)
    await released(staging)
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true, maxRetries: 3 })
    throw error
  }
  fsyncDirectory(path.dirname(target))
  fs.renameSync(staging, ready)
  if (fs.existsSync(target)) fs.renameSync(target, replaced)
  fs.renameSync(ready, target)
  fsyncDirectory(path.dirname(target))
  fs.rmSync(replaced, { recursive: true, force: true })
}

/**
 * Rolls the closed database at `dbPath` back to the checkpoint at
 * `checkpointPath`, first keeping its current state as a checkpoint named
 * `pre-restore-<time>` (see `replaceDatabase`).
 */
async function restore(Database, dbPath, checkpointPath, options = {}) {
  const target = checkPath('dbPath', dbPath)
  const source = checkPath('checkpointPath', checkpointPath)
  const checkSource = () => {
    if (!fs.existsSync(path.join(source, 'CURRENT'))) {
      throw codedError('ERR_CHECKPOINT_NOT_FOUND', `${source} holds no RocksDB database`)
    }
  }
  const preRestore = await replaceDatabase(Database, target, (staging) => copyDatabase(Database, source, staging), options, checkSource)
  return { restoredFrom: source, preRestore }
}

module.exports = { CheckpointRegistry, REGISTRY_VERSION, restore, replaceDatabase, recoverRestore, copyDatabase, verifyDatabase, viewOptions, readSequence }
