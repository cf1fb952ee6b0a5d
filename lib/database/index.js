'use strict'

/**
 * `RocksDatabase`, a handle of a RocksDB database (or of one of its column
 * families), made of layers that each hold one concern, built one on the
 * other: ./events, ./lifecycle, ./reads, ./ranges, ./writes, ./stats, and
 * here what ties a database to its checkpoints, branches and backups.
 */

const { errorCodes, configure, memoryUsage, openOptionSpecs, rocksdbVersion } = require('../binding')
const { withCode } = require('../errors')
const { checkOpenOptions, checkConfig } = require('../options')
const { CheckpointRegistry, restore } = require('../checkpoints')
const { BranchRegistry } = require('../branches')
const { beside } = require('../registry')
const { backup, makeBackups } = require('../backups')
const { shutdown } = require('./lifecycle')
const { DatabaseStats, stats } = require('./stats')
const { kDb } = require('./internal')

/**
 * A RocksDB database. Keys are encoded with ordered-binary and values with
 * msgpack unless the options say otherwise.
 */
class RocksDatabase extends DatabaseStats {
  #checkpoints = null

  #branches = null

  /**
   * Sets the memory every database opened from now on shares (see
   * `ProcessConfig`): one block cache and, when `writeBufferManagerSize` is
   * set, one budget for all memtables. Options not given keep their value.
   */
  static config(options) {
    configure(checkConfig(options))
  }

  /** What the memory all databases share holds now, in bytes. */
  static memoryUsage() {
    return memoryUsage()
  }

  /** Opens the database at `dbPath`, creating it and its parents when absent. */
  static open(dbPath, options) {
    return new RocksDatabase(dbPath, options).open()
  }

  /**
   * `open()` with RocksDB's part on a worker thread, so the event loop stays
   * free: resolves with the open handle.
   */
  static async openAsync(dbPath, options) {
    return new RocksDatabase(dbPath, options).openAsync()
  }

  /**
   * The named checkpoints of this database, kept in `checkpointsPath`
   * (default: `<path>.checkpoints`).
   */
  get checkpoints() {
    this.#checkpoints ??= new CheckpointStore(this.options.checkpointsPath ?? beside(this.path, 'checkpoints'), this)
    return this.#checkpoints
  }

  /**
   * The named branches of this database, kept in `branchesPath` (default:
   * `<path>.branches`): writable databases made from it or from one of its
   * checkpoints, found again after a restart.
   */
  get branches() {
    this.#branches ??= new BranchStore(this.options.branchesPath ?? beside(this.path, 'branches'), this)
    return this.#branches
  }

  /**
   * A new writable database at `targetPath`, branched from the live one: a
   * checkpoint opened with the same options. Isolated both ways.
   */
  async branch(targetPath) {
    await this.createCheckpoint(targetPath)
    const { checkpointsPath, branchesPath, readOnly, ...options } = this.options
    return RocksDatabase.open(targetPath, options)
  }

  /**
   * Rolls the closed database at `dbPath` back to the checkpoint at
   * `checkpointPath`. Its current state is first kept as a checkpoint named
   * `pre-restore-<time>`. Rejects with `ERR_DATABASE_OPEN` while it is open.
   */
  static async restore(dbPath, checkpointPath, options) {
    try {
      return await restore(RocksDatabase, dbPath, checkpointPath, checkOpenOptions(options))
    } catch (error) {
      throw withCode(error)
    }
  }

  /**
   * Backs the database up. To a directory or an `s3://bucket/prefix` URL:
   * an incremental backup (files the store holds already are not copied
   * again), every file checked by its digest (BLAKE3; SHA-256 in stores
   * made before it); resolves with the new backup's id. To a writable
   * stream (Node's or a WritableStream): a tar archive, or
   * tar.gz with `gzip`, that any tar unpacks into a database. Options:
   * `metadata`, `flushBeforeBackup`, `checkDiskSpace`, `sync`,
   * `backupLogFiles`, `progress`, `signal`, `s3`. See `backups` to list,
   * verify, restore, delete and purge.
   */
  async backup(destination, options) {
    // Refused now on a closed database, before anything is written.
    void this[kDb]
    return backup(this, destination, options)
  }
}

/**
 * The named checkpoints kept in `dir`. `new CheckpointStore(dir)` reads them
 * (list, info, verify, open, branch) without opening their database;
 * `db.checkpoints` also makes and changes them.
 */
class CheckpointStore extends CheckpointRegistry {
  /**
   * @param {string} dir the checkpoints directory
   * @param {RocksDatabase} [db] the open database they belong to
   */
  constructor(dir, db) {
    super(dir, db, RocksDatabase)
  }
}

/**
 * The named branches kept in `dir`. `new BranchStore(dir)` reads them
 * (list, info) without opening their database; `db.branches` also makes,
 * opens, resets and deletes them.
 */
class BranchStore extends BranchRegistry {
  /**
   * @param {string} dir the branches directory
   * @param {RocksDatabase} [db] the open database they branch from
   */
  constructor(dir, db) {
    super(dir, db, RocksDatabase)
  }
}

/** Every error `code` the package raises. */
const ERROR_CODES = Object.freeze(
  [
    ...new Set([
      ...errorCodes(),
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_CHECKPOINT_EXISTS',
      'ERR_CHECKPOINT_NOT_FOUND',
      'ERR_CHECKPOINT_REGISTRY_CORRUPT',
      'ERR_TRANSACTION_ABANDONED',
      'ABORT_ERR',
      'ERR_MODULE_NOT_FOUND',
      'ERR_BACKUP_LOCKED',
      'ERR_BACKUP_NOT_FOUND',
      'ERR_S3',
      'ERR_BRANCH_EXISTS',
      'ERR_BRANCH_NOT_FOUND',
      'ERR_BRANCH_REGISTRY_CORRUPT',
      'ERR_DATABASE_NOT_FOUND',
      'ERR_DATABASE_BUSY',
      'ERR_RESTORE_IN_PROGRESS',
      'ERR_NATIVE_BINARY_NOT_FOUND',
    ]),
  ].sort(),
)

/**
 * Backups in a directory or S3-compatible storage (made by `db.backup()`):
 * `list`, `verify`, `restore`, `restoreStream`, `delete`, `purge`. None
 * needs the database open.
 */
const backups = makeBackups(RocksDatabase)

/** The compressions this build supports (the `compression` open option). */
const supportedCompression = Object.freeze([...openOptionSpecs().find((spec) => spec.name === 'compression').values])

/** The versions of this package and of the RocksDB it is built on. */
const versions = Object.freeze({ 'rocksdb-branch': require('../../package.json').version, rocksdb: rocksdbVersion() })

module.exports = { RocksDatabase, CheckpointStore, BranchStore, backups, shutdown, supportedCompression, versions, stats, ERROR_CODES }
