/**
 * A key under the default `'ordered-binary'` key encoding: strings, numbers,
 * booleans, Buffers, and arrays of those. Under `keyEncoding: 'binary'`, a
 * Buffer or Uint8Array.
 */
export type Key = string | number | boolean | Uint8Array | Array<string | number | boolean | null | Uint8Array>

/** Options of `RocksDatabase.open()` and `new RocksDatabase()`. */
export interface RocksDatabaseOptions {
  /**
   * Open read-only: reads work, writes reject with `ERR_DATABASE_READ_ONLY`,
   * and a missing database is an error instead of being created.
   * @default false
   */
  readOnly?: boolean
  /**
   * Create the database and missing parent directories when absent.
   * @default true
   */
  createIfMissing?: boolean
  /**
   * Block compression of new SST files.
   * @default 'lz4'
   */
  compression?: 'none' | 'lz4' | 'zstd'
  /**
   * How values are stored: `'msgpack'` (any structured value, through
   * msgpackr) or `'binary'` (Buffers and Uint8Arrays as they are).
   * @default 'msgpack'
   */
  encoding?: 'msgpack' | 'binary'
  /**
   * How keys are stored: `'ordered-binary'` (strings, numbers and arrays that
   * sort naturally) or `'binary'` (raw bytes).
   * @default 'ordered-binary'
   */
  keyEncoding?: 'ordered-binary' | 'binary'
}

/**
 * An `Error` raised by rocksdb-branch. `code` is stable: see the README for
 * the list. Failures reported by RocksDB carry its status message.
 */
export interface RocksDBError extends Error {
  code: string
}

/** A RocksDB database. */
export declare class RocksDatabase<V = any> {
  /** Prepares a handle; call `open()` to open it, or use `RocksDatabase.open()`. */
  constructor(path: string, options?: RocksDatabaseOptions)
  /** Opens the database at `path`, creating it and its parents when absent. */
  static open<V = any>(path: string, options?: RocksDatabaseOptions): RocksDatabase<V>
  /** The absolute directory of the database. */
  readonly path: string
  /** The options the handle was made with. */
  readonly options: RocksDatabaseOptions
  /** Whether the database was opened read-only. */
  readonly readOnly: boolean
  /** Opens this handle. Opening an open handle does nothing. */
  open(): this
  /**
   * Closes the database. Idempotent. Operations already in flight settle
   * normally; RocksDB releases its files when the last of them is done. Any
   * later call fails with `ERR_DATABASE_CLOSED`.
   */
  close(): void
  /** Whether the database is open. */
  isOpen(): boolean
  /** The decoded value of `key`, or `undefined`; read on a worker thread. */
  get(key: Key): Promise<V | undefined>
  /** The decoded value of `key`, or `undefined`; read on the calling thread. */
  getSync(key: Key): V | undefined
  /** The stored bytes of `key`, or `undefined`; read on a worker thread. */
  getBinary(key: Key): Promise<Buffer | undefined>
  /** The stored bytes of `key`, or `undefined`; read on the calling thread. */
  getBinarySync(key: Key): Buffer | undefined
  /** Stores `value` under `key` on a worker thread. */
  put(key: Key, value: V): Promise<void>
  /** Stores `value` under `key` on the calling thread. */
  putSync(key: Key, value: V): void
  /** Removes `key` on a worker thread; a missing key is not an error. */
  remove(key: Key): Promise<void>
  /** Removes `key` on the calling thread; a missing key is not an error. */
  removeSync(key: Key): void
  /** Flushes the memtables to SST files on a worker thread. */
  flush(): Promise<void>
  /** Flushes the memtables to SST files on the calling thread. */
  flushSync(): void
  /** RocksDB's latest sequence number; it grows with every write. */
  getLatestSequenceNumber(): number
  /**
   * Writes a checkpoint of the live database to `targetPath` on a worker
   * thread: a consistent, independent, writable database holding every write
   * acknowledged before the call. SST files are hardlinked where the
   * filesystem allows and copied where it does not. Missing parents of
   * `targetPath` are created; an existing `targetPath` or `targetPath + '.tmp'`
   * is refused (`ERR_TARGET_EXISTS`, `ERR_STAGING_PATH_EXISTS`).
   */
  createCheckpoint(targetPath: string): Promise<void>
}

/** Every error `code` the package raises. */
export declare const ERROR_CODES: readonly string[]
