'use strict'

/**
 * Managed branches: named, writable databases made from a database or from
 * one of its checkpoints, kept in a directory beside it and found again
 * after a restart.
 *
 * The branches directory is a registry (./registry) whose records name
 * directories `<name>/`, each a complete RocksDB database that shares its
 * unchanged SST files with its parent through hardlinks. Every change holds
 * the registry's lock. A create or delete marks its record first, as the
 * checkpoints do. A reset marks its record "resetting", makes the parent's
 * state in `.<name>.reset`, then swaps the directories through
 * `.<name>.replaced`: after a crash, the next holder of the lock finishes
 * the swap when the new state is whole and undoes it otherwise, so the
 * branch is its old state or its new one, never a mix.
 *
 * A reset or delete holds the branch's directory exclusively for as long as
 * it works, in this process through a claim (../src/claim.rs) that every
 * handle of the branch also holds, from the start of its open to its
 * close, dormant or not; another process's handle is found by a probe of
 * RocksDB's own LOCK before the work begins.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { isDatabaseOpen, claimDirectoryExclusive, claimDirectoryShared, NativeDatabase } = require('./binding')
const { invalidArgType, invalidArgValue, heldByAnotherProcess } = require('./errors')
const { RegistryFile, CREATING, DELETING, BESIDE, codedError, checkName, copyMetadata, fsyncDirectory, measure, released } = require('./registry')
const { viewOptions, readSequence, copyDatabase } = require('./checkpoints')
const { checkOpenOptions } = require('./options')

// The state of a record whose directory is being replaced by its parent's state.
const RESETTING = 'resetting'
const REGISTRY_VERSION = 1
const KIND = { list: 'branches', version: REGISTRY_VERSION, corruptCode: 'ERR_BRANCH_REGISTRY_CORRUPT', states: [CREATING, DELETING, RESETTING] }
// The options of the probe that tries a branch's RocksDB LOCK before a reset
// or delete: no LOG file, and never a new database.
const PROBE_OPTIONS = checkOpenOptions({ createIfMissing: false, infoLog: false })

function checkBranchName(name) {
  checkName(name)
  // Compared without case: on macOS and Windows the suffixes match so too.
  const suffix = Object.values(BESIDE).find((reserved) => name.toLowerCase().endsWith(reserved))
  if (suffix !== undefined) {
    throw invalidArgValue('name', `must not end in ${suffix}, which names the paths a database keeps beside itself`)
  }
  return name
}

function notFound(dir, name) {
  return codedError('ERR_BRANCH_NOT_FOUND', `no branch named ${JSON.stringify(name)} in ${dir}`)
}

/** The public `BranchInfo` of a record. */
function toInfo(record, dir) {
  const info = {
    name: record.name,
    id: record.id,
    path: dir,
    parent: { ...record.parent },
    createdAt: new Date(record.createdAt),
    resetAt: record.resetAt ? new Date(record.resetAt) : null,
    sequence: record.sequence,
    metadata: record.metadata,
    open: isDatabaseOpen(dir),
  }
  try {
    const { sizeBytes, fileCount, exclusiveBytes } = measure(dir)
    Object.assign(info, { sizeBytes, fileCount, exclusiveBytes })
  } catch {
    Object.assign(info, { sizeBytes: 0, fileCount: 0, exclusiveBytes: 0 })
  }
  return info
}

/**
 * The branches of one database. Reading (`list`, `info`) needs only the
 * directory; the rest needs the database open (`db.branches`). The public
 * `BranchStore` of ./index extends it with the database class.
 */
class BranchRegistry {
  #db
  #Database
  #registry

  /**
   * @param {string} dir the branches directory
   * @param {object | undefined} db the open database they branch from
   * @param {{ open(path: string, options: object): object }} Database opens the branches
   */
  constructor(dir, db, Database) {
    this.dir = path.resolve(dir)
    this.#db = db
    this.#Database = Database
    this.#registry = new RegistryFile(this.dir, KIND)
  }

  #pathOf(name) {
    return path.join(this.dir, name)
  }

  #database() {
    if (!this.#db) throw codedError('ERR_DATABASE_CLOSED', 'changing branches needs their database open: use db.branches')
    return this.#db
  }

  #find(records, name) {
    return records.find((record) => record.name === name)
  }

  #require(records, name) {
    const record = this.#find(records, name)
    if (!record) throw notFound(this.dir, name)
    return record
  }

  /**
   * Finishes or undoes what interrupted work left (see the head of this
   * file), and removes temporary copies of the registry. Must run holding
   * the lock. Returns the complete records.
   */
  #settle() {
    this.#registry.removeTemporaryFiles()
    const records = this.#registry.readAll()
    if (records.every((record) => record.state === undefined)) return records
    const kept = []
    for (const record of records) {
      const dir = this.#pathOf(record.name)
      if (record.state === CREATING || record.state === DELETING) {
        // RocksDB stages a checkpoint in `<target>.tmp`; a delete moves the
        // directory away before it removes it.
        fs.rmSync(dir, { recursive: true, force: true })
        fs.rmSync(`${dir}.tmp`, { recursive: true, force: true })
        fs.rmSync(this.#deletedPath(record.name), { recursive: true, force: true })
        continue
      }
      if (record.state === RESETTING) {
        this.#recoverReset(record)
        delete record.state
      }
      kept.push(record)
    }
    this.#registry.write(kept)
    return kept
  }

  #deletedPath(name) {
    return path.join(this.dir, `.${name}.deleted`)
  }

  #resetPaths(name) {
    return { staging: path.join(this.dir, `.${name}.reset`), replaced: path.join(this.dir, `.${name}.replaced`) }
  }

  /** Brings a branch whose reset was interrupted to its old state or its new one. */
  #recoverReset(record) {
    const dir = this.#pathOf(record.name)
    const { staging, replaced } = this.#resetPaths(record.name)
    if (!fs.existsSync(dir)) {
      // RocksDB renames its staging directory to `staging` only once complete.
      if (fs.existsSync(staging)) fs.renameSync(staging, dir)
      else if (fs.existsSync(replaced)) fs.renameSync(replaced, dir)
      fsyncDirectory(this.dir)
    }
    for (const leftover of [staging, `${staging}.tmp`, replaced]) fs.rmSync(leftover, { recursive: true, force: true })
    if (fs.existsSync(path.join(dir, 'CURRENT'))) record.sequence = readSequence(dir)
  }

  /**
   * Runs `work()` holding the branch at `dir` exclusively (see the head of
   * this file), or rejects with `ERR_DATABASE_OPEN` while a handle of it
   * exists: in this process (open, being opened, or dormant), or in
   * another one (RocksDB's LOCK, which a probe tries before the work).
   */
  async #exclusively(name, dir, purpose, work) {
    const claim = claimDirectoryExclusive(dir, purpose)
    if (claim === null) {
      throw codedError('ERR_DATABASE_OPEN', `branch ${JSON.stringify(name)} is open in this process (or being opened); close it first`)
    }
    try {
      // RocksDB open here without a handle's claim: a read of the branch's
      // sequence number by another call, say.
      if (isDatabaseOpen(dir)) throw codedError('ERR_DATABASE_OPEN', `branch ${JSON.stringify(name)} is open in this process; close it first`)
      await this.#probe(name, dir)
      return await work()
    } finally {
      claim.release()
    }
  }

  /**
   * Rejects with `ERR_DATABASE_OPEN` when another process has the branch at
   * `dir` open, as RocksDB's LOCK tells. The probe is closed (and RocksDB
   * has let go of the directory) before it is renamed: RocksDB names its
   * files by path, so one still open across the rename would write into,
   * or delete from, whatever directory then has its name.
   */
  async #probe(name, dir) {
    if (!fs.existsSync(path.join(dir, 'CURRENT'))) return
    let probe
    try {
      probe = await NativeDatabase.openAsync(dir, PROBE_OPTIONS)
    } catch (error) {
      throw heldByAnotherProcess(error, `branch ${JSON.stringify(name)} is open in another process`)
    }
    probe.close()
    await released(dir)
  }

  /** Makes the current state of `parent` (the live database or a checkpoint of it) at `target`. */
  async #copyParent(parent, target) {
    const db = this.#database()
    if (parent.type === 'database') {
      await db.createCheckpoint(target)
      return
    }
    const checkpoint = db.checkpoints.info(parent.id)
    if (!checkpoint) {
      throw codedError('ERR_CHECKPOINT_NOT_FOUND', `the parent checkpoint ${JSON.stringify(parent.name)} (${parent.id}) no longer exists`)
    }
    await copyDatabase(this.#Database, checkpoint.path, target)
  }

  /**
   * The records of existing branches: complete ones and those whose reset
   * is in progress or was interrupted (they hold the old state or the new).
   */
  #branches() {
    return this.#registry.readCached().filter((record) => record.state === undefined || record.state === RESETTING)
  }

  /**
   * Finishes work a crash interrupted, on the calling thread, when nobody
   * else holds the registry: run when the database opens.
   */
  settleSync() {
    if (this.#registry.exists()) this.#registry.lockedIfFree(() => this.#settle(), undefined)
  }

  /**
   * Every branch, oldest first, with its parent, sizes (`exclusiveBytes`:
   * what deleting it frees) and whether it is open in this process.
   */
  list() {
    return this.#branches().map((record) => toInfo(record, this.#pathOf(record.name)))
  }

  /** One branch by name, or `undefined`. */
  info(name) {
    const record = this.#find(this.#branches(), checkBranchName(name))
    return record && toInfo(record, this.#pathOf(record.name))
  }

  /** The directory of the branch `name` (whether or not it exists). */
  pathOf(name) {
    return this.#pathOf(checkBranchName(name))
  }

  /**
   * Makes a writable branch named `name` of the live database, or of its
   * checkpoint `from`, at `<branches directory>/<name>`.
   * @param {string} name
   * @param {{ from?: string, metadata?: object }} [options]
   */
  async create(name, options = {}) {
    checkBranchName(name)
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
    const { from } = options
    if (from !== undefined && (typeof from !== 'string' || from.length === 0)) {
      throw invalidArgType('options.from', 'the name or id of a checkpoint', from)
    }
    const metadata = copyMetadata(options.metadata ?? {})
    const db = this.#database()
    let parent = { type: 'database', path: db.path }
    if (from !== undefined) {
      const checkpoint = db.checkpoints.info(from)
      if (!checkpoint) throw codedError('ERR_CHECKPOINT_NOT_FOUND', `no checkpoint named or with id ${JSON.stringify(from)} to branch from`)
      parent = { type: 'checkpoint', name: checkpoint.name, id: checkpoint.id }
    }
    return this.#registry.locked(async () => {
      const records = this.#settle()
      // Compared without case: on macOS and Windows `App` and `app` are one directory.
      if (records.some((record) => record.name.toLowerCase() === name.toLowerCase())) {
        throw codedError('ERR_BRANCH_EXISTS', `a branch named ${JSON.stringify(name)} already exists`)
      }
      const target = this.#pathOf(name)
      if (fs.existsSync(target) || fs.existsSync(`${target}.tmp`)) {
        // Not the registry's: never touched.
        throw codedError('ERR_BRANCH_EXISTS', `${target} exists but is no branch of this registry; it is left as it is`)
      }
      const id = crypto.randomUUID()
      const createdAt = new Date().toISOString()
      this.#registry.write([...records, { id, name, state: CREATING, createdAt }])
      let record
      try {
        await this.#copyParent(parent, target)
        record = { id, name, parent, createdAt, sequence: readSequence(target), metadata }
      } catch (error) {
        this.#settle()
        throw error
      }
      this.#registry.write([...records, record])
      return toInfo(record, target)
    })
  }

  /**
   * Opens the branch `name` with the encodings of its database and
   * `infoLog: false`, plus `options` (such as `idleTimeout`). Each call
   * opens a handle.
   */
  async open(name, options) {
    checkBranchName(name)
    const record = this.#require(this.#branches(), name)
    const dir = this.#pathOf(record.name)
    // Claimed from the call on, as the handle's own open claims it: a reset
    // or delete that comes while this one waits below must see it.
    const claim = claimDirectoryShared(dir)
    if (claim === null) {
      throw codedError('ERR_DATABASE_BUSY', `branch ${JSON.stringify(name)} is being reset or deleted; open it when that is done`)
    }
    try {
      // A reset a crash interrupted is finished (or undone) first.
      if (record.state === RESETTING) await this.#registry.locked(async () => this.#settle())
      // No info LOG by default: branches are many small databases, and the
      // LOG file costs each open a file (see docs/branches.md).
      return await this.#Database.openAsync(dir, { ...viewOptions(this.#db), infoLog: false, ...options, readOnly: false })
    } finally {
      claim.release()
    }
  }

  /**
   * Deletes the closed branch `name` and its files; resolves `true`, or
   * `false` when there was none. Rejects with `ERR_DATABASE_OPEN` while it
   * is open here or in another process.
   */
  async delete(name) {
    checkBranchName(name)
    this.#database()
    return this.#registry.locked(async () => {
      const records = this.#settle()
      const record = this.#find(records, name)
      if (!record) return false
      const dir = this.#pathOf(name)
      const deleted = this.#deletedPath(name)
      await this.#exclusively(name, dir, 'delete', async () => {
        record.state = DELETING
        this.#registry.write(records)
        // Moved away at once: the removal takes a while, and the branch is
        // gone for every open from here.
        if (fs.existsSync(dir)) fs.renameSync(dir, deleted)
        fsyncDirectory(this.dir)
      })
      fs.rmSync(deleted, { recursive: true, force: true })
      this.#registry.write(records.filter((r) => r !== record))
      return true
    })
  }

  /**
   * Brings the closed branch `name` back to its parent's current state (the
   * live database, or the checkpoint it was made from), in place: same
   * name, same path, its own writes gone. Rejects with `ERR_DATABASE_OPEN`
   * while it is open.
   */
  async reset(name) {
    checkBranchName(name)
    this.#database()
    return this.#registry.locked(async () => {
      const records = this.#settle()
      const record = this.#require(records, name)
      const dir = this.#pathOf(name)
      const { staging, replaced } = this.#resetPaths(name)
      await this.#exclusively(name, dir, 'reset', async () => {
        record.state = RESETTING
        this.#registry.write(records)
        try {
          await this.#copyParent(record.parent, staging)
        } catch (error) {
          this.#settle()
          throw error
        }
        fs.renameSync(dir, replaced)
        fs.renameSync(staging, dir)
        fsyncDirectory(this.dir)
      })
      fs.rmSync(replaced, { recursive: true, force: true })
      delete record.state
      record.sequence = readSequence(dir)
      record.resetAt = new Date().toISOString()
      this.#registry.write(records)
      return toInfo(record, dir)
    })
  }
}

module.exports = { BranchRegistry, REGISTRY_VERSION }
