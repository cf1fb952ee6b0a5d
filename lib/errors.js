'use strict'

const path = require('node:path')

/**
 * Argument checks and their errors: a `TypeError` that names the argument, with Node's own codes,
 * so callers can tell bad input from a database failure by `code`.
 */
function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (Buffer.isBuffer(value)) return 'a Buffer'
  const type = typeof value
  if (type === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (type === 'object') return `an instance of ${value.constructor ? value.constructor.name : 'Object'}`
  return `type ${type} (${String(value)})`
}

/**
 * A TypeError (ERR_INVALID_ARG_TYPE) naming the argument `name`; `lead`, when
 * given, opens the message (rocksdb-js's wording for the same mistake).
 */
function invalidArgType(name, expected, value, lead) {
  const detail = `the "${name}" argument must be ${expected}. Received ${describe(value)}`
  const error = new TypeError(lead === undefined ? detail[0].toUpperCase() + detail.slice(1) : `${lead}: ${detail}`)
  error.code = 'ERR_INVALID_ARG_TYPE'
  return error
}

/** A TypeError (ERR_INVALID_ARG_VALUE) naming the argument `name`; `lead` as for `invalidArgType`. */
function invalidArgValue(name, reason, lead) {
  const error = new TypeError(lead === undefined ? `The "${name}" argument ${reason}` : `${lead}: the "${name}" argument ${reason}`)
  error.code = 'ERR_INVALID_ARG_VALUE'
  return error
}

function outOfRange(name, range, value) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`)
  error.code = 'ERR_OUT_OF_RANGE'
  return error
}

// Linux's limits: longer names fail in the kernel with ENAMETOOLONG.
const MAX_NAME_BYTES = 255
const MAX_PATH_BYTES = 4095

/** Checks a filesystem path argument and returns it resolved. */
function checkPath(name, value) {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  if (value.length === 0) throw invalidArgValue(name, 'must not be empty')
  if (value.includes('\0')) throw invalidArgValue(name, 'must not contain null bytes')
  const resolved = path.resolve(value)
  if (Buffer.byteLength(resolved) > MAX_PATH_BYTES || resolved.split(path.sep).some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) {
    throw invalidArgValue(name, `is too long: at most ${MAX_PATH_BYTES} bytes, and ${MAX_NAME_BYTES} bytes a name`)
  }
  return resolved
}

function databaseNotOpen() {
  const error = new Error('Database not open (it was never opened, or was closed)')
  error.code = 'ERR_DATABASE_CLOSED'
  return error
}

/**
 * `error` as `ERR_DATABASE_OPEN` with `message` when it is RocksDB's refusal
 * to open a database whose LOCK file another process holds, else `error`
 * itself. RocksDB reports that as an I/O error of the lock file, which open()
 * passes on as it is (`ERR_ROCKSDB_IO_ERROR`); restore and the command line
 * tell the user what to do about it.
 */
function heldByAnotherProcess(error, message) {
  if (error?.code !== 'ERR_ROCKSDB_IO_ERROR' || !/lock/i.test(error.message)) return error
  const busy = new Error(`${message}: ${error.message}`)
  busy.code = 'ERR_DATABASE_OPEN'
  return busy
}

// The codes of system errors (Node's `code`, an errno name) the package
// reports under its own: a caller tells them apart as it tells RocksDB's.
const SYSTEM_CODES = {
  ENOSPC: 'ERR_NO_SPACE',
  EDQUOT: 'ERR_NO_SPACE',
  EACCES: 'ERR_PERMISSION_DENIED',
  EPERM: 'ERR_PERMISSION_DENIED',
  EROFS: 'ERR_PERMISSION_DENIED',
  ENOTDIR: 'ERR_NOT_A_DIRECTORY',
  EEXIST: 'ERR_TARGET_EXISTS',
  EISDIR: 'ERR_TARGET_EXISTS',
}

/**
 * `error` with a code of this package: a system error's errno name (kept as
 * `systemCode`) becomes `ERR_NO_SPACE`, `ERR_PERMISSION_DENIED`,
 * `ERR_NOT_A_DIRECTORY`, `ERR_TARGET_EXISTS` or `ERR_IO`; an error already
 * coded `ERR_*` (or `ABORT_ERR`) is returned as it is.
 */
function withCode(error) {
  const code = error?.code
  if (typeof code === 'string' && (code.startsWith('ERR_') || code === 'ABORT_ERR')) return error
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    error.systemCode = code
    error.code = SYSTEM_CODES[code] ?? 'ERR_IO'
  }
  return error
}

/** `fn` whose rejections carry a code of this package (see `withCode`). */
function coding(fn) {
  return async function (...args) {
    try {
      return await fn.apply(this, args)
    } catch (error) {
      throw withCode(error)
    }
  }
}

/**
 * The error of a native call that reported its failure in its result
 * (`{ errorCode, errorMessage }`), as the call would have thrown it.
 */
function nativeFailure(code, message) {
  const error = new Error(message)
  error.code = code
  return error
}

/**
 * A TypeError (ERR_INVALID_ARG_TYPE unless `code` says) whose message is
 * rocksdb-js's own, which names the argument ("Callback must be a function").
 */
function argumentError(message, code = 'ERR_INVALID_ARG_TYPE') {
  const error = new TypeError(message)
  error.code = code
  return error
}

/** A transaction's writes were abandoned (`abandonWrites()`): it can no longer write or commit. */
function transactionAbandoned() {
  const error = new Error('the writes of this transaction were abandoned (abandonWrites()); it can no longer write or commit')
  error.code = 'ERR_TRANSACTION_ABANDONED'
  return error
}

/**
 * A transaction used after it ended. rocksdb-js's words: "Transaction not
 * found" for a use of it, "Transaction has already been committed" (or
 * "aborted") for an abort after a commit or a commit after an abort.
 */
function transactionDone(state) {
  const error = new Error(state === undefined ? 'Transaction not found: it has already been committed or aborted' : `Transaction has already been ${state}`)
  error.code = 'ERR_TRANSACTION_DONE'
  return error
}

module.exports = { nativeFailure, argumentError, transactionAbandoned, transactionDone, withCode, coding, invalidArgType, invalidArgValue, outOfRange, checkPath, databaseNotOpen, heldByAnotherProcess }
