import type { MemoryUsage, OpenOptions, ProcessConfig } from '../native'

export type { MemoryUsage, OpenOptions, ProcessConfig }

/**
 * A key under the default `'ordered-binary'` key encoding: strings, numbers,
 * booleans, symbols (as `Symbol.for(description)`), Buffers, and arrays of those. Under `keyEncoding: 'binary'`, a
 * Buffer or Uint8Array.
 */
export type Key = string | number | boolean | symbol | Uint8Array | Array<string | number | boolean | symbol | null | Uint8Array>

/**
 * Options of `RocksDatabase.open()` and `new RocksDatabase()`: those the
 * native layer acts on (declared in `src/options.rs`) and those of the
 * JavaScript layer below.
 */
export interface RocksDatabaseOptions extends Omit<OpenOptions, 'compression'> {
  /**
   * Block compression of new SST files: a name, or rocksdb-js's
   * `{ algorithm, level }`.
   * @default 'lz4'
   */
  compression?: OpenOptions['compression'] | { algorithm: NonNullable<OpenOptions['compression']>; level?: number }
  /**
   * How values are stored: `'msgpack'` (any structured value, through
   * msgpackr), `'binary'` or `false` (Buffers and Uint8Arrays as they are),
   * or `'ordered-binary'`.
   * @default 'msgpack'
   */
  encoding?: 'msgpack' | 'binary' | 'ordered-binary' | false
  /**
   * A custom value encoder, or `{ Encoder }`: a class (msgpackr's `Encoder`
   * or one extending it) the handle instantiates with msgpackr's options and
   * the rest of the object. Takes precedence over `encoding`.
   */
  encoder?: { encode(value: any): Uint8Array; decode(bytes: Buffer): any } | { Encoder: new (options: any) => { encode(value: any): Uint8Array; decode(bytes: Buffer, options?: any): any }; [option: string]: any }
  /**
   * msgpack: the key under which msgpackr's record structures are kept in
   * the database; values are then msgpackr records.
   */
  sharedStructuresKey?: Key
  /** msgpack: decoded objects and arrays are frozen. */
  freezeData?: boolean
  /** msgpack: records laid out for reading single fields in place. */
  randomAccessStructure?: boolean
  /**
   * rocksdb-js's: the handle's `compression` (required with it) for every
   * column family open at the database's open, which take the opening
   * handle's options with or without it.
   */
  compressionForAllColumnFamilies?: boolean
  /** Bytes of a transaction log file before the log moves on to the next (0: one file). @default 16 MiB */
  transactionLogMaxSize?: number
  /** How old (ms) a transaction log file `purgeLogs()` deletes by default. @default 3 days */
  transactionLogRetention?: number
  /**
   * A transaction log moves on to a new file once its file is older than
   * `transactionLogRetention × (1 − this)`, so purging by age lets go of
   * old entries in steps however slowly the log grows; 0: never by age.
   * @default 0.75
   */
  transactionLogMaxAgeThreshold?: number
  /**
   * This family's writes move its keys' slots in the verification table, so
   * readers checking cached records with `expectedVersion` see them.
   * @default false
   */
  verificationTable?: boolean
  /**
   * How keys are stored: `'ordered-binary'` (strings, numbers and arrays that
   * sort naturally), `'binary'` (raw bytes) or `'uint32'` (unsigned integers).
   * @default 'ordered-binary'
   */
  keyEncoding?: 'ordered-binary' | 'binary' | 'uint32'
  /** Where `db.checkpoints` keeps named checkpoints. Default: `<path>.checkpoints`. */
  checkpointsPath?: string
  /** A custom key encoder (rocksdb-js's and lmdb-js's); wins over `keyEncoding`. */
  keyEncoder?: { writeKey(key: any, buffer: Buffer, start: number): number; readKey(buffer: Buffer, start: number, end: number): any }
  /** Refuse keys of more bytes than this. */
  maxKeySize?: number
  /** Where `db.branches` keeps named branches. Default: `<path>.branches`. */
  branchesPath?: string
  /**
   * Closes RocksDB under the open handle once it has not been used for
   * `idleTimeout` to twice `idleTimeout` milliseconds and nothing of it is in
   * flight; the next call opens it again, transparently (`dormant` tells).
   * For the many rarely used branches of an app server.
   */
  idleTimeout?: number
}

/** A named checkpoint. */
export interface CheckpointInfo {
  name: string
  /** A UUID. */
  id: string
  createdAt: Date
  /** When `prune()` deletes it; `null` for never. */
  expiresAt: Date | null
  /** RocksDB's latest sequence number inside the checkpoint. */
  sequence: number
  /** The checkpoint's directory: a complete RocksDB database. */
  path: string
  sizeBytes: number
  fileCount: number
  /** Whether its SST files are hardlinks of the source's or copies. */
  linkMode: 'hardlink' | 'copy' | 'mixed' | 'none'
  metadata: Record<string, unknown>
  /** Bytes that deleting the checkpoint would free (from `info()` and `create()`). */
  exclusiveBytes?: number
}

/** What `verify()` checked. */
export interface VerifyReport {
  name: string
  id: string
  files: number
  bytes: number
}

/** The named checkpoints of one database. */
export declare class CheckpointStore {
  /** Reads (list, info, latest, verify, branch) the checkpoints in `dir` without opening their database. */
  constructor(dir: string)
  readonly dir: string
  /** Makes a checkpoint of the live database. `lifetime` in ms; absent for never. */
  create(name: string, options?: { lifetime?: number | null; metadata?: Record<string, unknown> }): Promise<CheckpointInfo>
  /** Every checkpoint, oldest first. */
  list(): CheckpointInfo[]
  /** One checkpoint by name or id, or `undefined`. */
  info(nameOrId: string): CheckpointInfo | undefined
  /** The newest checkpoint, or `undefined`. */
  latest(): CheckpointInfo | undefined
  /** Deletes a checkpoint; `false` when there was none. */
  delete(nameOrId: string): Promise<boolean>
  /** A new expiry `lifetime` ms from now; `null` for never. */
  refresh(nameOrId: string, lifetime: number | null): Promise<CheckpointInfo>
  /** Deletes every expired checkpoint and returns them. */
  prune(): Promise<CheckpointInfo[]>
  /** Opens a checkpoint read-only with the database's encodings. */
  open<V = any>(nameOrId: string): Promise<RocksDatabase<V>>
  /** A new writable database at `targetPath` made from the checkpoint. */
  branch<V = any>(nameOrId: string, targetPath: string): Promise<RocksDatabase<V>>
  /** Reads every SST file and checks block checksums; rejects with `ERR_ROCKSDB_CORRUPTION` and `file`. */
  verify(nameOrId: string): Promise<VerifyReport>
}

/** Where a branch came from. */
export type BranchParent =
  /** The live database at `path`. */
  | { type: 'database'; path: string }
  /** A named checkpoint of the database. */
  | { type: 'checkpoint'; name: string; id: string }

/** A named branch. */
export interface BranchInfo {
  name: string
  /** A UUID. */
  id: string
  /** The branch's directory: a complete RocksDB database, `<branchesPath>/<name>`. */
  path: string
  parent: BranchParent
  createdAt: Date
  /** When `reset()` last brought it back to its parent's state; `null` if never. */
  resetAt: Date | null
  /** RocksDB's latest sequence number when it was made (or last reset). */
  sequence: number
  metadata: Record<string, unknown>
  /** Whether a handle of this process has it open. */
  open: boolean
  sizeBytes: number
  fileCount: number
  /** Bytes that deleting the branch would free: its files no other directory links to. */
  exclusiveBytes: number
}

/** The named branches of one database. */
export declare class BranchStore {
  /** Reads (list, info) the branches in `dir` without opening their database. */
  constructor(dir: string)
  readonly dir: string
  /** Makes a writable branch of the live database, or of its checkpoint `from` (a name or id). */
  create(name: string, options?: { from?: string; metadata?: Record<string, unknown> }): Promise<BranchInfo>
  /** Every branch, oldest first. */
  list(): BranchInfo[]
  /** One branch by name, or `undefined`. */
  info(name: string): BranchInfo | undefined
  /** The directory of the branch `name`. */
  pathOf(name: string): string
  /**
   * Opens a branch with the database's encodings, `infoLog: false`, and
   * `options` (such as `idleTimeout`). Rejects with `ERR_DATABASE_BUSY`
   * while a reset or delete of it is under way.
   */
  open<V = any>(name: string, options?: RocksDatabaseOptions): Promise<RocksDatabase<V>>
  /**
   * Deletes a closed branch; `false` when there was none. Rejects with
   * `ERR_DATABASE_OPEN` while a handle of it exists: open, being opened or
   * dormant, in any thread, or open in another process.
   */
  delete(name: string): Promise<boolean>
  /**
   * Brings a closed branch back to its parent's current state, in place.
   * Rejects with `ERR_DATABASE_OPEN` as `delete()` does.
   */
  reset(name: string): Promise<BranchInfo>
}

/** Where an S3-compatible store is, for `s3://bucket/prefix` destinations. Unset fields come from the usual `AWS_*` environment variables. */
export interface S3Options {
  /** The server, for S3-compatible services (also `AWS_ENDPOINT_URL`). */
  endpoint?: string
  /** Default `AWS_REGION`, else `'us-east-1'`. */
  region?: string
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Address buckets by path; the default when an endpoint is given. */
  forcePathStyle?: boolean
  /**
   * Milliseconds a holder of the store's lock (the object `.backup.lock`)
   * keeps it without renewing; it renews every third of that while it
   * works, and a holder that died frees it when it runs out. Default 60000.
   */
  lockLease?: number
}

/** How far a backup, verification or restore has got. */
export interface BackupProgress {
  bytesDone: number
  bytesTotal: number
  /** Bytes added to the store (not there already): what an incremental backup copied or uploaded. */
  bytesCopied?: number
  filesDone?: number
  filesTotal?: number
}

/** Options of `db.backup()` to a directory or an `s3://` URL. */
export interface BackupOptions {
  /** Text kept with the backup, returned by `backups.list()` as `appMetadata`. */
  metadata?: string
  /** Flush the memtables first. Default: only when opened with `disableWAL` (the checkpoint a backup reads flushes anyway). */
  flushBeforeBackup?: boolean
  /** Refuse with `ERR_NO_SPACE`, before copying, when the destination has less room than the files not stored yet. Default `true`. */
  checkDiskSpace?: boolean
  /** Every stored file is on disk before the backup is listed. Default `true`. */
  sync?: boolean
  /** Include the write-ahead log. Default `true`. */
  backupLogFiles?: boolean
  /** Include the transaction logs, each file up to its committed end, and `txn.state`. Default `false`. */
  transactionLogs?: boolean
  /** Called after each file with the bytes done so far. */
  progress?: (progress: BackupProgress) => void
  /** Stops the backup; it rejects with an `AbortError` and the store is left as it was. */
  signal?: AbortSignal
  s3?: S3Options
  /** Accepted for rocksdb-js compatibility; files are always shared by content. */
  shareTableFiles?: boolean
  /** Accepted for rocksdb-js compatibility; files are always told apart by their digest (BLAKE3, or SHA-256 in stores made before it). */
  shareFilesWithChecksum?: boolean
  /**
   * Files copied at a time, each on a thread of libuv's pool. Default: all
   * cores but one, at most 2 (1 on two cores), so that the event loop keeps
   * a core; on two cores, 2 copied an unsynced backup 1.8 times as fast,
   * with the event loop's p99 delay at 4 to 7 ms instead of 2 to 4.
   */
  maxBackgroundOperations?: number
}

/** Options of `db.backup()` to a stream. */
export interface BackupStreamOptions {
  /** A tar.gz instead of a tar. */
  gzip?: boolean
  flushBeforeBackup?: boolean
  backupLogFiles?: boolean
  progress?: (progress: BackupProgress) => void
  signal?: AbortSignal
}

/** One backup, as `backups.list()` gives it (rocksdb-js's fields, then this package's). */
export interface BackupInfo {
  backupId: number
  /** Seconds since the epoch. */
  timestamp: number
  /** Bytes of the backup's files. */
  size: number
  numberFiles: number
  appMetadata: string
  createdAt: Date
  /** RocksDB's latest sequence number when the backup was taken: every write up to it is in the backup. */
  sequence: number
}

/** Options of the `backups` functions. */
export interface BackupStoreOptions {
  s3?: S3Options
  signal?: AbortSignal
  progress?: (progress: BackupProgress) => void
}

/** Backups in a directory or an `s3://bucket/prefix` store; none needs the database open. */
export declare const backups: {
  /** Every backup, oldest first. */
  list(backupDir: string, options?: BackupStoreOptions): Promise<BackupInfo[]>
  /**
   * Reads every stored byte of a backup against the digest (BLAKE3, or
   * SHA-256 in older stores) taken when it was written, then RocksDB's
   * block checksums. Rejects with
   * `ERR_ROCKSDB_CORRUPTION` and `file` naming the damaged file.
   */
  verify(backupDir: string, backupId: number, options?: BackupStoreOptions & { verifyWithChecksum?: boolean; verifyTransactionLogs?: boolean }): Promise<{ backupId: number; files: number; bytes: number }>
  /**
   * Restores a backup (the latest unless `backupId`) into `dbDir`: a new
   * path, or a closed database, which is kept as checkpoint
   * `pre-restore-<time>` and replaced crash-safely.
   */
  restore(
    backupDir: string,
    dbDir: string,
    options?: BackupStoreOptions & { backupId?: number; openOptions?: RocksDatabaseOptions },
  ): Promise<{ backupId: number; path: string; preRestore: CheckpointInfo | null }>
  /** Restores a tar or tar.gz stream (from `db.backup(stream)`) into `dbDir`, as `restore()` does. */
  restoreStream(
    readable: NodeJS.ReadableStream | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    dbDir: string,
    options?: { signal?: AbortSignal; openOptions?: RocksDatabaseOptions },
  ): Promise<{ path: string; preRestore: CheckpointInfo | null }>
  /** Deletes a backup and the stored files no other backup uses. */
  delete(backupDir: string, backupId: number, options?: BackupStoreOptions): Promise<void>
  /** Deletes all but the newest `keepCount` backups; resolves with the ids deleted. */
  purge(backupDir: string, keepCount: number, options?: BackupStoreOptions): Promise<number[]>
}

/** Options of `getRange()`, `getKeys()` and `getKeysCount()`. */
export interface RangeOptions {
  /** Where the scan begins (inclusive unless `exclusiveStart`). */
  start?: Key
  /** Where the scan stops (exclusive unless `inclusiveEnd`). */
  end?: Key
  /** Leave out `start` itself. */
  exclusiveStart?: boolean
  /** Include `end` itself. */
  inclusiveEnd?: boolean
  /** Walk down from `start`, which is then the upper bound. */
  reverse?: boolean
  /** The most entries to return. */
  limit?: number
  /** Entries to skip before the first one returned. */
  offset?: number
  /** `false` reads keys only. */
  values?: boolean
  /** Accepted for compatibility: every iteration reads one consistent snapshot. */
  snapshot?: boolean
  /** rocksdb-js: the range of this one key. */
  key?: Key
  /** rocksdb-js: iterate the values alone. */
  valuesOnly?: boolean
  /**
   * rocksdb-js: read as this transaction sees it. It must have begun on this
   * handle's column family (`ERR_INVALID_ARG_VALUE` otherwise).
   */
  transaction?: Transaction<any>
}

/** Options of `get()` and `getSync()` (rocksdb-js's `GetOptions`). */
export interface GetOptions {
  /** Return the stored bytes, undecoded. */
  skipDecode?: boolean
  /**
   * The version of the caller's cached copy: the answer is
   * `constants.FRESH_VERSION_FLAG` (a number) when the verification table,
   * or the value read, says it is the latest. The read records its version.
   */
  expectedVersion?: number
  /** Record the version of the value read in the verification table. */
  populateVersion?: boolean
  /**
   * Read as this transaction sees it: one of this database, begun on any of
   * its column families (this handle's family is read, with its encodings).
   */
  transaction?: Transaction<any>
}

/** rocksdb-js's `MaybePromise`: the value itself when it was in memory, else a Promise of it. */
export type MaybePromise<T> = T | Promise<T>

/**
 * A lazy range: nothing is read until it is iterated. rocksdb-js's
 * `ExtendedIterable` (`@harperfast/extended-iterable`), whose methods return
 * ranges again, plus `take`.
 */
export interface RangeIterable<T> extends Iterable<T>, AsyncIterable<T> {
  map<U>(fn: (entry: T, index: number) => U): RangeIterable<U>
  filter(fn: (entry: T, index: number) => unknown): RangeIterable<T>
  flatMap<U>(fn: (entry: T, index: number) => U[] | Iterable<U>): RangeIterable<U>
  slice(start: number, end?: number): RangeIterable<T>
  concat(other: Iterable<T>): RangeIterable<T>
  /** Replaces an entry whose callback threw with `fn(error)`, and goes on. */
  mapError<U>(fn: (error: Error) => U): RangeIterable<T | U>
  /** The first `count` entries. */
  take(count: number): RangeIterable<T>
  forEach(fn: (entry: T, index: number) => void): void
  /** The entry at `index`, or `undefined`. */
  at(index: number): T | undefined
  /** Every entry, as a Promise of an array. */
  readonly asArray: Promise<T[]>
}

/**
 * What a database handle and a transaction have in common (rocksdb-js's
 * `DBI`): add a method to `DBI.prototype` and both have it.
 */
export declare class DBI {
  /** The `Store` under the handle or transaction. */
  readonly store: Store
  /** What calls on the store act in: the handle, or the transaction. */
  readonly _context: this
}

/**
 * The path and options of one column family of a database, claimed by the
 * one `RocksDatabase` made on it (rocksdb-js's `Store`).
 */
export declare class Store {
  constructor(path: string, options?: RocksDatabaseOptions)
  readonly path: string
  readonly options: RocksDatabaseOptions
  readonly name: string
  readonly readOnly: boolean
  readonly pessimistic: boolean
  readonly sharedStructuresKey: Key | undefined
  readonly encoder: any
  readonly decoder: any
  /** Marks the store as the one of a `RocksDatabase`; throws when one claimed it already. */
  claim(): void
  isOpen(): boolean
  /** Opens the handle; whether it was open already. */
  open(): boolean
  close(): Promise<void> | undefined
  encodeKey(key: Key): Buffer
  decodeKey(bytes: Uint8Array): any
  encodeValue(value: any): Uint8Array
  decodeValue(bytes: Uint8Array): any
  getSync(context: DBI, key: Key, options?: GetOptions): any
  putSync(context: DBI, key: Key, value: any, options?: { transaction?: Transaction<any> }): void
  removeSync(context: DBI, key: Key, options?: { transaction?: Transaction<any> }): void
  getCount(context: DBI, options?: RangeOptions): number
  getKeys(context: DBI, options?: RangeOptions): RangeIterable<any>
  getKeysCount(context: DBI, options?: RangeOptions): number
  tryLock(key: Key, onUnlocked?: () => void): boolean
  unlock(key: Key): boolean
  hasLock(key: Key): boolean
  withLock<T>(key: Key, callback: () => T | Promise<T>): Promise<T>
}

/**
 * A transaction: handed to the callback of `transaction()`, or begun with
 * `new Transaction(db.store)` and committed or aborted by its maker. Reads
 * see its own writes over one snapshot, taken at its first read; writes
 * become visible to others at commit, all at once, in every column family
 * of the database it wrote to.
 */
export declare class Transaction<V = any> extends DBI {
  /**
   * Begins a transaction on the handle of `store`; pass it as the
   * `transaction` option of any handle of the database.
   */
  constructor(store: Store, options?: { coordinatedRetry?: boolean; disableSnapshot?: boolean })
  /** The `Store` of the handle the transaction began on. */
  readonly store: Store
  /** The transaction log `name` with this transaction bound: its `addEntry(data)` adds to it. */
  useLog(name: string | number): { name: string; path: string; addEntry(data: Uint8Array | ArrayBuffer): void; query(options?: TransactionLogQueryOptions): IterableIterator<TransactionLogEntry> }
  /** The stored bytes of `key` as this transaction sees them (`FRESH_VERSION_FLAG` with `expectedVersion`, see `GetOptions`). */
  getBinarySync(key: Key, options?: GetOptions): Buffer | undefined | number
  getBinary(key: Key, options?: GetOptions): Promise<Buffer | undefined | number>
  /** The transaction's id, a 32-bit unsigned integer unique to its database path. */
  readonly id: number
  /** The start time in milliseconds since the epoch, with a fraction; by default when it was made. */
  getTimestamp(): number
  /** Sets the start time (milliseconds, above 0); without `ts`, now. */
  setTimestamp(ts?: number): void
  /** Bars further writes and the commit (`ERR_TRANSACTION_ABANDONED`); reads keep working. */
  abandonWrites(): void
  /** How many keys a range holds as this transaction sees it. */
  getKeysCount(options?: RangeOptions): number
  /** Promise form of `getSync()`. */
  get(key: Key, options?: { skipDecode?: boolean }): Promise<V | undefined>
  /**
   * The value of `key` as this transaction sees it. In an optimistic
   * transaction the key is checked at commit: if another write changed it
   * since the snapshot, the commit is a conflict.
   */
  getSync(key: Key, options?: { skipDecode?: boolean }): V | undefined
  /** A lazy range as this transaction sees it; iterate it before the transaction ends. Not checked at commit. */
  getRange(options?: RangeOptions): RangeIterable<{ key: any; value: V }>
  /** The keys of a range as this transaction sees it. */
  getKeys(options?: RangeOptions): RangeIterable<any>
  put(key: Key, value: V): Promise<void>
  putSync(key: Key, value: V): void
  remove(key: Key): Promise<void>
  removeSync(key: Key): void
  /**
   * Commits; rejects with `ERR_BUSY` on a conflict (under `coordinatedRetry`,
   * resolves `constants.RETRY_NOW_VALUE` instead), which leaves the
   * transaction open and empty, ready for its work to run again on it.
   */
  commit(): Promise<void | number>
  commitSync(): void | number
  /** Discards every buffered write. */
  abort(): void
  readonly isOpen: boolean
}

/** Options of `purgeLogs()`. */
export interface PurgeLogsOptions {
  /** Delete files last written before this time (ms since the epoch). */
  before?: number
  /** Delete every file of the logs, and the logs. */
  destroy?: boolean
  /** Only this log. */
  name?: string | number
  /** Return `{ path, entries }` for each deleted file. */
  includeEntryCounts?: boolean
}

/** An entry of a transaction log, as `query()` gives it. */
export interface TransactionLogEntry {
  /** Its transaction's timestamp (ms since the epoch). */
  timestamp: number
  data: Buffer
  /** Whether it is its transaction's last entry. */
  endTxn: boolean
}

/** Options of `TransactionLog.query()`. */
export interface TransactionLogQueryOptions {
  /** From this timestamp; without it, only what commits from now on. */
  start?: number
  /** Up to this timestamp, exclusive. */
  end?: number
  exclusiveStart?: boolean
  /** From the first entry stamped `start`, and every later one. */
  exactStart?: boolean
  /** Also entries of transactions not (yet) committed. */
  readUncommitted?: boolean
  /** From where the entries of transactions the last `flush()` did not cover begin (a replay). */
  startFromLastFlushed?: boolean
}

/** A transaction log of a database (`db.useLog(name)`). */
export declare class TransactionLog {
  readonly name: string
  /** The directory of its files. */
  readonly path: string
  /** Adds `data` to the open transaction `transactionId`: written just before it commits. */
  addEntry(data: Uint8Array | ArrayBuffer, transactionId: number): void
  /** Entries of committed transactions in log order; iterating again goes on from where it stopped. */
  query(options?: TransactionLogQueryOptions): IterableIterator<TransactionLogEntry>
  /** Bytes of the file `sequence` (whole transactions), or of all of them; 0 when there is no such file. */
  getLogFileSize(sequence?: number): number
  /** Where committed entries end. */
  committedPosition(): { sequence: number; offset: number }
  /** Where the entries of transactions the last `flush()` covered end; `{ 0, 0 }` before any. */
  lastFlushedPosition(): { sequence: number; offset: number }
  /** Its files, positions, memory maps, and what this process did to it. */
  getStats(): TransactionLogStats
  /**
   * A read-only memory map of the file `sequence` (its bytes, then zeros;
   * the file being written shows later appends), or `undefined`.
   * rocksdb-js's internal, which its tools use.
   */
  _getMemoryMapOfFile(sequence: number): Buffer | undefined
  /**
   * The committed watermark as 8 bytes that move as transactions end: one
   * word `sequence << 32 | offset` in the machine's byte order (read it as
   * one float64). rocksdb-js's internal.
   */
  _getLastCommittedPosition(): Buffer
}

/** A place in a transaction log. */
export interface TransactionLogPosition {
  sequence: number
  offset: number
}

/** What `log.getStats()` reports (sizes in bytes, times in ms), in rocksdb-js's shape. */
export interface TransactionLogStats {
  name: string
  path: string
  fileCount: number
  currentSequenceNumber: number
  oldestSequenceNumber: number
  totalSizeBytes: number
  currentFileSize: number
  pendingTransactions: number
  /** Transactions written to the log whose commit has not ended. */
  uncommittedTransactions: number
  /** Bytes a replay from the last flush would read. */
  replayGapBytes: number
  nextLogPosition: TransactionLogPosition
  lastCommittedPosition: TransactionLogPosition
  lastFlushedPosition: TransactionLogPosition
  /** Maps readers hold: address space (`mappedBytes`), and the part that shows files. */
  memory: { activeMaps: number; mappedBytes: number; overlayBytes: number }
  /** Files past the retention a purge would delete, or keeps for a replay; the last purge (0: none). */
  purge: { oldestFileAgeMs: number; purgeableFiles: number; retainedUnflushedFiles: number; lastPurgeMs: number }
  config: { maxFileSize: number; retentionMs: number; maxAgeThreshold: number }
  totals: {
    transactionsWritten: number
    entriesWritten: number
    bytesWritten: number
    rotations: number
    writeFailures: number
    purgeRuns: number
    filesPurged: number
    bytesPurged: number
  }
}

/** The memory maps of transaction log files alive in the process. */
export declare function transactionLogMapCount(): number

/**
 * Advises the pages of every live transaction log map cold (Linux's
 * MADV_COLD: reclaimed first when memory is short, contents unchanged):
 * the maps and bytes advised, zeros where the kernel has no such advice.
 */
export declare function coolTransactionLogs(): { maps: number; bytes: number }

/** Bytes of a transaction log that are no whole entry where every byte must be one. */
export declare class CorruptFrameError extends RangeError {
  readonly code: 'ERR_ROCKSDB_CORRUPTION'
  /** The sequence number of the file. */
  readonly logId: number
  /** Where the broken frame starts. */
  readonly position: number
  /** Where whole frames start again, if they do. */
  readonly resyncPosition: number | undefined
  readonly unreadableBytes: number
}

/** One log file in `validateTransactionLogStore()`'s report. */
export interface TransactionLogFileValidation {
  file: string
  sequence: number
  size: number
  /** Whole entries. */
  entries: number
  /** Where the whole entries end. */
  validBytes: number
  valid: boolean
  errors: string[]
  warnings: string[]
}

/**
 * Checks a log directory (`<db>/transaction_logs/<name>`) offline: headers,
 * whole entries, sequence continuity, `txn.state`. A torn tail, a gap or a
 * `txn.state` past the files are warnings, or errors with `strict`.
 */
export declare function validateTransactionLogStore(
  path: string,
  options?: { strict?: boolean },
): Promise<{ path: string; valid: boolean; errors: string[]; warnings: string[]; files: TransactionLogFileValidation[] }>

/** A transaction log file read whole. */
export declare function parseTransactionLog(file: string): {
  size: number
  version: number
  timestamp: number
  entries: { timestamp: number; length: number; flags: number; data: Buffer }[]
}

/** Options of `transaction()`. */
export interface TransactionOptions {
  /** How many times a conflicting transaction is run again. @default 3 */
  maxRetries?: number
  /** rocksdb-js's: `false` rejects the first conflict (`maxRetries` 0) unless `maxRetries` says otherwise. */
  retryOnBusy?: boolean
  /**
   * Reads see the latest commits rather than the snapshot of the
   * transaction's first read; a conflict is then a change made after a
   * key was read. @default false
   */
  disableSnapshot?: boolean
  /**
   * A conflicting commit resolves `constants.RETRY_NOW_VALUE` rather than
   * rejecting; `transaction()` then runs the callback again. @default false
   */
  coordinatedRetry?: boolean
}

/** What `getStats()` reports. */
export interface DatabaseStats {
  estimatedKeys: number
  /** `estimatedKeys` under lmdb-js's name (Harper reads it). */
  entryCount: number
  liveDataBytes: number
  sstFilesBytes: number
  memtableBytes: number
  sequence: number
  text: string | undefined
}

/**
 * An `Error` raised by rocksdb-branch. `code` is stable: see the README for
 * the list. Failures reported by RocksDB carry its status message.
 */
export interface RocksDBError extends Error {
  code: string
}

/** A RocksDB database. */
export declare class RocksDatabase<V = any> extends DBI {
  /**
   * Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`.
   * On a `Store`, the handle takes its options (overridden by `options`) and
   * claims it for good.
   */
  constructor(path: string | Store, options?: RocksDatabaseOptions)
  /** Opens the database at `path` (or on a `Store`), creating it and its parents when absent. */
  static open<V = any>(path: string | Store, options?: RocksDatabaseOptions): RocksDatabase<V>
  /**
   * `open()` with RocksDB's part (reading its files, writing and syncing new
   * ones) on a worker thread, so the event loop stays free: resolves with
   * the open handle, rejects with the error `open()` would throw.
   */
  static openAsync<V = any>(path: string | Store, options?: RocksDatabaseOptions): Promise<RocksDatabase<V>>
  /**
   * Sets the memory every database opened from now on shares: one block
   * cache (default 64 MiB) and, with `writeBufferManagerSize`, one budget
   * for all memtables. Options not given keep their value.
   */
  static config(options: ProcessConfig & {
    /** Slots of the verification table (8 bytes each; 0 disables it), fixed once it is made. @default 131072 */
    verificationTableEntries?: number
  }): void
  /** What the memory all databases share holds now, in bytes. */
  static memoryUsage(): MemoryUsage
  /** The absolute directory of the database. */
  readonly path: string
  /** The options the handle was made with. */
  readonly options: RocksDatabaseOptions
  /** Whether the database was opened read-only. */
  readonly readOnly: boolean
  /** Opens this handle. Opening an open handle does nothing. */
  open(): this
  /**
   * Opens this handle with RocksDB's part on a worker thread; resolves with
   * it. Concurrent calls share one open; a `close()` meanwhile makes it
   * reject with `ERR_DATABASE_CLOSED`, and `open()` meanwhile throws
   * `ERR_DATABASE_OPEN`.
   */
  openAsync(): Promise<this>
  /**
   * Closes the database. Idempotent. Async writes already made and work
   * already on the pool settle normally; open transactions are aborted (their
   * commit rejects with `ERR_DATABASE_CLOSED`), as are ranges being iterated.
   * Any later call fails with `ERR_DATABASE_CLOSED`. The Promise (which never
   * rejects) resolves once RocksDB has released the directory, so that
   * another process can open it (at once while another handle of it stays
   * open); an open in this process waits by itself. During `openAsync()` it
   * resolves once that open has ended and RocksDB let go of the directory.
   * A dormant handle (`idleTimeout`) writes what `put()` accepted first.
   */
  close(): Promise<void>
  /**
   * Listens for `'error'`: a coded `Error` each time a write meets a failure
   * of the storage (`ERR_NO_SPACE`, `ERR_ROCKSDB_IO_ERROR`). Unlike Node's
   * EventEmitter, an unheard `'error'` is not thrown.
   */
  on(event: 'error' | (string & {}), listener: (error: RocksDBError) => void): this
  /** Alias of `on()`. */
  addListener(event: 'error' | (string & {}), listener: (error: RocksDBError) => void): this
  /** Listens for the next `event` only. */
  once(event: 'error' | (string & {}), listener: (error: RocksDBError) => void): this
  /** Removes a listener; whether it was found. */
  off(event: string | number | symbol, listener: (...args: any[]) => void): boolean
  /** Alias of `off()`. */
  removeListener(event: string | number | symbol, listener: (...args: any[]) => void): boolean
  /** How many listeners `event` has. */
  listeners(event: string | number | symbol): number
  /** The last storage failure a write met, or `null` once writing works again. */
  getLastError(): RocksDBError | null
  /**
   * Asks RocksDB to resume writing after a storage failure, waiting up to
   * 15 s for the recovery RocksDB runs by itself; rejects while the
   * condition (a full disk, say) persists. Writes also try this first.
   */
  resume(): Promise<void>
  /** Whether the database is open (a dormant one is: see `idleTimeout`). */
  isOpen(): boolean
  /**
   * Whether RocksDB is closed under this open handle because it was idle
   * (the `idleTimeout` option); the next call opens it again.
   */
  readonly dormant: boolean
  /**
   * The decoded value of `key`, or `undefined`: the value itself when
   * RocksDB holds it in memory, else a Promise of it read on a worker
   * thread (rocksdb-js's `MaybePromise`; `await` works either way). Errors
   * are rejected Promises.
   */
  get(key: Key, options: GetOptions & { expectedVersion: number }): MaybePromise<V | undefined | number>
  get(key: Key, options?: GetOptions): MaybePromise<V | undefined>
  /** The decoded value of `key`, or `undefined`; read on the calling thread. */
  getSync(key: Key, options: GetOptions & { expectedVersion: number }): V | undefined | number
  getSync(key: Key, options?: GetOptions): V | undefined
  /** The stored bytes of `key`, or `undefined`; answered like `get()`. */
  getBinary(key: Key, options: GetOptions & { expectedVersion: number }): MaybePromise<Buffer | undefined | number>
  getBinary(key: Key, options?: GetOptions): MaybePromise<Buffer | undefined>
  /** The stored bytes of `key`, or `undefined`; read on the calling thread. */
  getBinarySync(key: Key, options: GetOptions & { expectedVersion: number }): Buffer | undefined | number
  getBinarySync(key: Key, options?: GetOptions): Buffer | undefined
  /** Whether the verification table holds `version` as the latest of `key` (no read is made). */
  verifyVersion(key: Key, version: number): boolean
  /** Records `version` as the latest of `key` in the verification table, unless a write of it is in flight. */
  populateVersion(key: Key, version: number): void
  /** rocksdb-js's name of `getBinary()`. */
  getBinaryFast(key: Key, options?: GetOptions): MaybePromise<Buffer | undefined>
  /** rocksdb-js's name of `getBinarySync()`. */
  getBinaryFastSync(key: Key, options?: GetOptions): Buffer | undefined
  /** The values under `key` (one at most: keys are unique). */
  getValues(key: Key, options?: RangeOptions): RangeIterable<V>
  /**
   * Stores `value` under `key` on a worker thread; with `transaction` (one
   * of this database, begun on any of its column families), in it, in this
   * handle's family, committed with the transaction's other writes.
   */
  put(key: Key, value: V, options?: { transaction?: Transaction<any> }): Promise<void>
  /** Stores `value` under `key` on the calling thread; `transaction` as for `put()`. */
  putSync(key: Key, value: V, options?: { transaction?: Transaction<any> }): void
  /** Removes `key` on a worker thread; a missing key is not an error; `transaction` as for `put()`. */
  remove(key: Key, options?: { transaction?: Transaction<any> }): Promise<void>
  /** Removes `key` on the calling thread; a missing key is not an error; `transaction` as for `put()`. */
  removeSync(key: Key, options?: { transaction?: Transaction<any> }): void
  /** `'opened'` or `'closed'`. */
  readonly status: 'opened' | 'closed'
  /** The compression of new SST files, as rocksdb-js reports it. */
  readonly compression: { algorithm: string; level?: number }
  /** Adds a process-global listener (rocksdb-js's `RocksDatabase.on`). */
  static on(event: string | number | symbol, listener: (...args: any[]) => void): void
  /** Adds a process-global listener called once. */
  static once(event: string | number | symbol, listener: (...args: any[]) => void): void
  /** Removes a process-global listener; whether it was found. */
  static off(event: string | number | symbol, listener: (...args: any[]) => void): boolean
  /** Calls the process-global listeners of `event` after the current turn; whether there were any. */
  static notify(event: string | number | symbol, ...args: unknown[]): boolean
  /**
   * Calls the listeners of `event` with `args` after the current turn, in
   * the order added; returns whether it had listeners.
   */
  notify(event: string | number | symbol, ...args: unknown[]): boolean
  /** Flushes the memtables to SST files on a worker thread. */
  flush(options?: { allowWriteStall?: boolean }): Promise<void>
  /** Flushes the memtables to SST files on the calling thread. */
  flushSync(options?: { allowWriteStall?: boolean }): void
  /** The column family of this handle. */
  readonly name: string
  /** The column families of the database on disk. */
  readonly columns: string[]
  /** rocksdb-js's `onlyCount`: the number of entries of the range instead of the entries. */
  getRange(options: RangeOptions & { onlyCount: true }): number
  /** A lazy range of `{ key, value }` in key order. */
  getRange(options?: RangeOptions): RangeIterable<{ key: any; value: V }>
  /** A lazy range of keys. */
  getKeys(options?: RangeOptions): RangeIterable<any>
  /** How many keys a range holds. */
  getKeysCount(options?: RangeOptions): number
  /** Runs `callback` in an optimistic transaction; see the README. */
  transaction<T>(callback: (txn: Transaction<V>, attempt: number) => T | Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * The synchronous form of `transaction()`. A callback that returns a
   * Promise makes it return that Promise's result as a Promise, committing
   * once it resolves (rocksdb-js's behaviour).
   */
  transactionSync<T>(callback: (txn: Transaction<V>, attempt: number) => T, options?: TransactionOptions): T
  /** Removes every key of this column family. */
  clear(): Promise<void>
  clearSync(): void
  /**
   * The value encoder in use: msgpackr's encoder (the `msgpack` encoding),
   * the `encoder` option's object or its `Encoder`'s instance; `null` when
   * values are stored as given.
   */
  readonly encoder: any
  /** The value decoder: the encoder unless one was set; reads use the one set. */
  decoder: any
  /**
   * Locks `key` for this process (every handle of the database, every
   * worker thread) if nobody holds it: `true`. Otherwise `false`, and
   * `onUnlocked` is called once the key is unlocked.
   */
  tryLock(key: Key, onUnlocked?: () => void): boolean
  /** Unlocks `key` (whoever locked it) and calls the callbacks left on it; whether it was locked. */
  unlock(key: Key): boolean
  /** Whether `key` is locked by any handle of the database in any thread. */
  hasLock(key: Key): boolean
  /** Runs `callback` holding the lock of `key`, waiting while another holds it. */
  withLock<T>(key: Key, callback: () => T | Promise<T>): Promise<T>
  /**
   * An `ArrayBuffer` over memory every worker thread shares, one per
   * database, column family and `key`, made from a copy of `defaultBuffer`.
   */
  getUserSharedBuffer(key: Key, defaultBuffer: ArrayBuffer, options?: { callback?: () => void }): ArrayBuffer & { notify(): boolean; cancel(): void }
  /**
   * The transaction log `name` of this database, shared by every handle and
   * thread of the process (`<path>/transaction_logs/<name>/`).
   */
  useLog(name: string | number): TransactionLog
  /** The names of this database's transaction logs. */
  listLogs(): string[]
  /**
   * Deletes transaction log files last written before `before` (default:
   * `transactionLogRetention` ago), never a log's newest nor those a replay
   * from the last flush needs (all, while no flush was recorded); `destroy`
   * deletes logs whole; `name` limits it to one log. The deleted files.
   */
  purgeLogs(options: PurgeLogsOptions & { includeEntryCounts: true }): { path: string; entries: number }[]
  purgeLogs(options?: PurgeLogsOptions): string[]
  /** Milliseconds since the epoch, each call in the process later than the last. */
  getMonotonicTimestamp(): number
  /** When the oldest snapshot held was taken (seconds since the epoch), or 0. */
  getOldestSnapshotTimestamp(): number
  /** Drops this column family and closes the handle; on the default family, removes every key. */
  drop(): Promise<void>
  dropSync(): void
  /**
   * Closes every handle of this database in this process and deletes it
   * from disk before returning; the Promise returned is already settled.
   * While another handle's `openAsync()` is in flight, that open is
   * cancelled and the deletion waits for it without blocking the event
   * loop: the Promise then settles once the database is deleted.
   */
  destroy(): Promise<void>
  /** Compacts this column family, or its `start`..`end` part. */
  compact(options?: { start?: Key; end?: Key }): Promise<void>
  compactSync(options?: { start?: Key; end?: Key }): void
  /** A RocksDB property as text, or `undefined`. */
  getDBProperty(name: string): string | undefined
  /** A numeric RocksDB property, or `undefined`. */
  getDBIntProperty(name: string): number | undefined
  /** RocksDB's estimate of the number of keys. */
  getEstimatedKeyCount(): number
  /** rocksdb-js's count estimator for a range traversed page by page (exact here: confidence 1). */
  createCountEstimator(options?: RangeOptions): {
    estimate(): { count: number; confidence: number }
    advance(lastKey: Key, count: number): void
    finish(): void
  }
  /** rocksdb-js's count estimate: exact (confidence 1) over a range, RocksDB's estimate (0.5) over the whole database. */
  estimateCount(options?: RangeOptions): { count: number; confidence: number }
  /**
   * Sizes and counts of this column family, under this package's names and
   * RocksDB's property names; with `enableStats`, RocksDB's tickers and
   * histograms too (the telling ones, or all with `all`).
   */
  getStats(all?: boolean): DatabaseStats & Record<string, number | StatsHistogramData | string>
  /** One ticker, histogram or numeric property, or `undefined`. */
  getStat(name: string): number | StatsHistogramData | undefined
  /** RocksDB's latest sequence number; it grows with every write. */
  getLatestSequenceNumber(): number
  /**
   * Reads every SST file and checks RocksDB's block checksums, on a worker
   * thread. Rejects with `ERR_ROCKSDB_CORRUPTION` naming the damaged file.
   */
  verifyChecksums(): Promise<void>
  /** The named checkpoints of this database. */
  readonly checkpoints: CheckpointStore
  /** The named branches of this database, kept in `branchesPath`. */
  readonly branches: BranchStore
  /**
   * An incremental backup into a directory or an `s3://bucket/prefix` store;
   * resolves with its id. See `backups`.
   */
  backup(backupDir: string, options?: BackupOptions): Promise<number>
  /** A tar (or tar.gz with `gzip`) archive of the database, written to a stream. */
  backup(stream: NodeJS.WritableStream | WritableStream<Uint8Array>, options?: BackupStreamOptions): Promise<void>
  /** A new writable database at `targetPath`, branched from the live one. */
  branch(targetPath: string): Promise<RocksDatabase<V>>
  /**
   * Rolls the closed database at `dbPath` back to the checkpoint at
   * `checkpointPath`, keeping the replaced state as checkpoint `pre-restore-<time>`.
   */
  static restore(
    dbPath: string,
    checkpointPath: string,
    options?: RocksDatabaseOptions,
  ): Promise<{ restoredFrom: string; preRestore: CheckpointInfo | null }>
  /**
   * Writes a checkpoint of the live database to `targetPath` on a worker
   * thread: a consistent, independent, writable database holding every write
   * acknowledged before the call. SST files are hardlinked where the
   * filesystem allows and copied where it does not. Missing parents of
   * `targetPath` are created; an existing `targetPath` or `targetPath + '.tmp'`
   * is refused (`ERR_TARGET_EXISTS`, `ERR_STAGING_PATH_EXISTS`), as is a
   * target inside the database directory (`ERR_INVALID_ARG_VALUE`).
   */
  createCheckpoint(targetPath: string): Promise<void>
}

/** Every error `code` the package raises. */
export declare const ERROR_CODES: readonly string[]

/** A RocksDB histogram, as `getStat()` reports it. */
export interface StatsHistogramData {
  count: number
  sum: number
  average: number
  median: number
  percentile95: number
  percentile99: number
  max: number
}

/** rocksdb-js's statistics constants. */
export declare const stats: {
  readonly StatsLevel: {
    readonly DisableAll: 0
    readonly ExceptTickers: 1
    readonly ExceptHistogramOrTimers: 2
    readonly ExceptTimers: 3
    readonly ExceptDetailedTimers: 4
    readonly ExceptTimeForMutex: 5
    readonly All: 6
  }
}

/** Flushes and closes every database open in this process. */
export declare function shutdown(): void

/** The compressions this build supports. */
export declare const supportedCompression: readonly string[]

/** The versions of this package and of its RocksDB. */
export declare const versions: { readonly 'rocksdb-branch': string; readonly rocksdb: string }

/** rocksdb-js's constants, with its values (`FRESH_VERSION_FLAG`, `RETRY_NOW_VALUE`, ...). */
export declare const constants: Readonly<Record<
  | 'TRANSACTION_LOG_TOKEN'
  | 'TRANSACTION_LOG_FILE_HEADER_SIZE'
  | 'TRANSACTION_LOG_ENTRY_HEADER_SIZE'
  | 'TRANSACTION_LOG_ENTRY_LAST_FLAG'
  | 'ONLY_IF_IN_MEMORY_CACHE_FLAG'
  | 'NOT_IN_MEMORY_CACHE_FLAG'
  | 'ALWAYS_CREATE_NEW_BUFFER_FLAG'
  | 'POPULATE_VERSION_FLAG'
  | 'FRESH_VERSION_FLAG'
  | 'VERSION_NOT_UNIQUE_FLAG'
  | 'RETRY_NOW_VALUE'
  | 'ITERATOR_REVERSE_FLAG'
  | 'ITERATOR_INCLUSIVE_END_FLAG'
  | 'ITERATOR_EXCLUSIVE_START_FLAG'
  | 'ITERATOR_INCLUDE_VALUES_FLAG'
  | 'ITERATOR_NEEDS_STABLE_VALUE_BUFFER_FLAG'
  | 'ITERATOR_CONTEXT_IS_TRANSACTION_FLAG'
  | 'ITERATOR_RESULT_DONE'
  | 'ITERATOR_RESULT_FAST',
  number
>>

/** A database open for writing in this process, as `registryStatus()` lists it. */
export interface RegistryStatus {
  path: string
  mode: 'optimistic' | 'pessimistic'
  /** The handles open on it, in every thread. */
  refCount: number
  /** By column family: how many user shared buffers of it are alive. */
  columnFamilies: Record<string, { userSharedBuffers: number }>
  /** How many keys are locked. */
  locks: number
}

/** The databases open for writing in this process, in every thread. */
export declare function registryStatus(): RegistryStatus[]

/** The id of the calling thread (0: the main thread). */
export declare function currentThreadId(): number

/** Takes the lock of a file (made when missing) without waiting: a token, or 0 when it is taken. */
export declare function tryFileLock(path: string, shared?: boolean): number

/** Releases the file lock of `token`. */
export declare function fileLockRelease(token: number): void
