'use strict'

/**
 * `RocksDatabase`, a handle of a RocksDB database (or of one of its column
 * families), made of layers that each hold one concern, built one on the
 * other: ./events, ./lifecycle, ./reads, ./ranges, ./writes, ./stats, and
 * here what ties a database to its checkpoints, branches and backups.
 */

const { threadId } = require('node:worker_threads')
const {
  errorCodes,
  configure,
  memoryUsage,
  openOptionSpecs,
  rocksdbVersion,
  openDatabases,
  keyLockCount,
  userSharedBufferCounts,
  transactionLogMapCount,
  coolTransactionLogs,
} = require('../binding')
const { withCode } = require('../errors')
const { checkOpenOptions, checkConfig } = require('../options')
const { CheckpointRegistry, restore } = require('../checkpoints')
const { BranchRegistry } = require('../branches')
const { beside } = require('../registry')
const { backup, makeBackups } = require('../backups')
const { shutdown } = require('./lifecycle')
const { stats } = require('./stats')
const { DatabaseLogs } = require('./logs')
const { TransactionLog, CorruptFrameError, parseTransactionLog } = require('../transaction-log')
const { validateTransactionLogStore } = require('../transaction-log-validate')
const logFormat = require('../transaction-log-read')
const { kDb } = require('./internal')
const { Store } = require('./store')
const { DBI } = require('../dbi')
const { Transaction, RETRY_NOW_VALUE } = require('../transaction')
const { tryFileLock, fileLockRelease } = require('../file-lock')
const { FRESH_VERSION_FLAG, VERSION_NOT_UNIQUE_FLAG, configure: configureVerification } = require('../verification')

/**
 * A RocksDB database. Keys are encoded with ordered-binary and values with
 * msgpack unless the options say otherwise.
 */
class RocksDatabase extends DatabaseLogs {
  #checkpoints = null

  #branches = null

  /**
   * Sets the memory every database opened from now on shares (see
   * `ProcessConfig`): one block cache and, when `writeBufferManagerSize` is
   * set, one budget for all memtables. Options not given keep their value.
   */
  static config(options) {
    const checked = checkConfig(options)
    // The verification table's size, the one setting that is not the
    // native memory's: refused once the table is made.
    if (checked.verificationTableEntries !== undefined) configureVerification(checked.verificationTableEntries)
    delete checked.verificationTableEntries
    configure(checked)
  }

  /** What the memory all databases share holds now, in bytes. */
  static memoryUsage() {
    return memoryUsage()
  }

  /**
   * Opens the database at `dbPath` (or on a `Store`), creating it and its
   * parents when absent.
   */
  static open(dbPath, options) {
    // `this`: a subclass's open() makes an instance of the subclass.
    return new this(dbPath, options).open()
  }

  /**
   * `open()` with RocksDB's part on a worker thread, so the event loop stays
   * free: resolves with the open handle.
   */
  static async openAsync(dbPath, options) {
    return new this(dbPath, options).openAsync()
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

/**
 * rocksdb-js's constants, with its values: the flags and sentinels of its
 * native calls (`FRESH_VERSION_FLAG`, `RETRY_NOW_VALUE`, ...) and the
 * layout of its transaction log files. Read them by name.
 */
const constants = Object.freeze({
  TRANSACTION_LOG_TOKEN: logFormat.TOKEN,
  TRANSACTION_LOG_FILE_HEADER_SIZE: logFormat.FILE_HEADER_SIZE,
  TRANSACTION_LOG_ENTRY_HEADER_SIZE: logFormat.ENTRY_HEADER_SIZE,
  TRANSACTION_LOG_ENTRY_LAST_FLAG: logFormat.LAST_IN_TRANSACTION,
  ONLY_IF_IN_MEMORY_CACHE_FLAG: 0x40000000,
  NOT_IN_MEMORY_CACHE_FLAG: 0x40000000,
  ALWAYS_CREATE_NEW_BUFFER_FLAG: 0x20000000,
  POPULATE_VERSION_FLAG: 0x10000000,
  FRESH_VERSION_FLAG,
  VERSION_NOT_UNIQUE_FLAG,
  RETRY_NOW_VALUE,
  ITERATOR_REVERSE_FLAG: 0x01,
  ITERATOR_INCLUSIVE_END_FLAG: 0x02,
  ITERATOR_EXCLUSIVE_START_FLAG: 0x04,
  ITERATOR_INCLUDE_VALUES_FLAG: 0x08,
  ITERATOR_NEEDS_STABLE_VALUE_BUFFER_FLAG: 0x10,
  ITERATOR_CONTEXT_IS_TRANSACTION_FLAG: 0x20,
  ITERATOR_RESULT_DONE: 0,
  ITERATOR_RESULT_FAST: 1,
})

/**
 * The databases open for writing in this process (every thread): `path`,
 * `mode` (`'optimistic'` or `'pessimistic'`), `refCount` (the handles open
 * on it), `columnFamilies` (by name: `userSharedBuffers`, how many user
 * shared buffers of it are alive) and `locks` (how many keys are locked).
 */
function registryStatus() {
  return openDatabases().map(({ path: dbPath, mode, refCount }) => {
    const columnFamilies = {}
    for (const [name, count] of Object.entries(userSharedBufferCounts(dbPath))) columnFamilies[name] = { userSharedBuffers: count }
    return { path: dbPath, mode, refCount, columnFamilies, locks: keyLockCount(dbPath) }
  })
}

/** The id of the calling thread, unique among the threads of the process (0: the main thread). */
function currentThreadId() {
  return threadId
}

module.exports = {
  RocksDatabase,
  Store,
  DBI,
  Transaction,
  CheckpointStore,
  BranchStore,
  backups,
  shutdown,
  supportedCompression,
  versions,
  stats,
  constants,
  registryStatus,
  currentThreadId,
  transactionLogMapCount,
  coolTransactionLogs,
  tryFileLock,
  fileLockRelease,
  TransactionLog,
  CorruptFrameError,
  parseTransactionLog,
  validateTransactionLogStore,
  ERROR_CODES,
}
