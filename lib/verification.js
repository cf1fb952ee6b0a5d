'use strict'

/**
 * The verification table (src/verification.rs) as reads and writes use it:
 * a read with `expectedVersion` answers `FRESH_VERSION_FLAG` when the
 * table says that version is the latest, or when the value it read has
 * it; a read with `populateVersion` (or `expectedVersion`) publishes the
 * version it read; writes to a family opened with `verificationTable: true`
 * move the slots of their keys, from before the write until after it.
 */

const {
  configureVerificationTable,
  verificationSlot,
  verificationVerify,
  verificationPopulate,
  verificationObserve,
  verificationPublish,
  verificationLock,
  verificationSettle,
  verificationSweep,
} = require('./binding')
const { invalidArgType } = require('./errors')

/** What a read answers when the caller's cached version is still the latest (rocksdb-js's value). */
const FRESH_VERSION_FLAG = 0x08000000
/** The tag byte of the metadata word a producer may write after the version. */
const VERSION_HEADER_TAG = 0x0e
/** In that word: more than one value was stored under this version, so it identifies none. */
const VERSION_NOT_UNIQUE_FLAG = 0x10000

// The epoch of each native database: the open it belongs to (src/engine.rs).
const epochs = new WeakMap()

/** The slot of the encoded `key` in the column family `family` of the native database `db`. */
function slotOf(db, family, key) {
  let epoch = epochs.get(db)
  if (epoch === undefined) {
    epoch = db.verificationEpoch()
    epochs.set(db, epoch)
  }
  return verificationSlot(epoch, family, key)
}

/**
 * Whether the producer marked the value's version as naming more than one
 * value (`VERSION_NOT_UNIQUE_FLAG` in a tagged metadata word after it).
 */
function isNotUnique(bytes) {
  return bytes.length >= 12 && bytes[8] === VERSION_HEADER_TAG && (bytes.readUInt32BE(8) & VERSION_NOT_UNIQUE_FLAG) !== 0
}

/**
 * The version a stored value starts with (a big-endian float64), or
 * `undefined` when it has none, or one that identifies no single value.
 */
function versionOf(bytes) {
  if (bytes.length < 8 || isNotUnique(bytes)) return undefined
  return bytes.readDoubleBE(0)
}

function checkVersion(name, version) {
  if (typeof version !== 'number') throw invalidArgType(name, 'a number', version)
  return version
}

/** Whether get options ask anything of the table. */
function isVersioned(options) {
  return options.expectedVersion !== undefined || options.populateVersion === true
}

/**
 * A versioned read: `read()` gives the stored bytes (or a Promise of them,
 * then so is the answer) unless the table answers first. `context`:
 * `slot`, `verifyFirst` (the table may answer without a read: not in a
 * transaction, whose reads must be made to be checked at commit),
 * `mayPublish(version)` (whether a version read may be published now) and
 * `isLatest(version)`, for a read from a snapshot: false when the latest
 * value made that version ambiguous (the caller's copy may be of it, and
 * then is not known to be the one read).
 */
function readVersioned(context, options, read) {
  const expected = options.expectedVersion === undefined ? undefined : checkVersion('options.expectedVersion', options.expectedVersion)
  const { slot } = context
  if (expected !== undefined && context.verifyFirst && verificationVerify(slot, expected)) return FRESH_VERSION_FLAG
  const observed = verificationObserve(slot)
  const bytes = read()
  const answer = (stored) => {
    if (stored === undefined || stored === null) return undefined
    const version = versionOf(stored)
    if (version === undefined) return stored
    if (context.mayPublish(version)) verificationPublish(slot, observed, version)
    if (version !== expected) return stored
    return context.isLatest === undefined || context.isLatest(version) ? FRESH_VERSION_FLAG : stored
  }
  return bytes instanceof Promise ? bytes.then(answer) : answer(bytes)
}

/**
 * Whether a version read from the database at `handle` may be published:
 * only when no reader can still see an older value of the key, that is when
 * no snapshot older than the write of that version is open. RocksDB tells
 * the oldest snapshot's time and sequence: a snapshot taken before the
 * version's time, or before the database's latest write, may see an older
 * value, and then nothing is published (a missed cache, never a stale one).
 */
function snapshotsAllow(handle, version) {
  try {
    const time = handle.getDBIntProperty('rocksdb.oldest-snapshot-time') ?? 0
    if (time === 0) return true
    if (time * 1000 < version) return false
    const sequence = handle.getDBIntProperty('rocksdb.oldest-snapshot-sequence')
    return sequence !== undefined && sequence >= handle.getLatestSequenceNumber()
  } catch {
    return false
  }
}

/**
 * Runs `write()` with the slot of `key` marked as written meanwhile; a
 * Promise from it settles the slot when it settles.
 */
function guardWrite(slot, write) {
  verificationLock(slot)
  let result
  try {
    result = write()
  } catch (error) {
    verificationSettle(slot)
    throw error
  }
  if (result instanceof Promise) {
    return result.finally(() => verificationSettle(slot))
  }
  verificationSettle(slot)
  return result
}

/**
 * The slots a transaction's writes hold until it commits or aborts: no
 * version verifies or is published there meanwhile.
 */
class WriteIntents {
  #slots = []

  /** Marks `slot` as written until `release()`. */
  hold(slot) {
    verificationLock(slot)
    this.#slots.push(slot)
  }

  /** Lets go of every slot held: after the commit or the abort. */
  release() {
    const slots = this.#slots
    if (slots.length === 0) return
    this.#slots = []
    for (const slot of slots) verificationSettle(slot)
  }
}

/** `RocksDatabase.config({ verificationTableEntries })`. */
function configure(entries) {
  if (!Number.isInteger(entries) || entries < 0 || entries > 2 ** 31) {
    throw invalidArgType('options.verificationTableEntries', 'a non-negative integer', entries, 'Verification table entries must be a positive integer or 0 to disable verification')
  }
  configureVerificationTable(entries)
}

module.exports = {
  versionOf,
  isNotUnique,
  FRESH_VERSION_FLAG,
  VERSION_NOT_UNIQUE_FLAG,
  slotOf,
  checkVersion,
  isVersioned,
  readVersioned,
  snapshotsAllow,
  guardWrite,
  WriteIntents,
  configure,
  verificationVerify,
  verificationPopulate,
  verificationLock,
  verificationSettle,
  verificationSweep,
}
