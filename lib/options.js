'use strict'

/**
 * The options of `RocksDatabase.open()`, checked before anything reaches the
 * native layer. The native options (names, types, bounds, accepted values
 * and their documentation) are declared once, in `src/options.rs`, and read
 * here through `openOptionSpecs()`; this file adds only the options the
 * JavaScript layer acts on itself.
 */

const { openOptionSpecs, MAX_BUDGET_BYTES } = require('./binding')
const { invalidArgType, invalidArgValue, outOfRange } = require('./errors')

// The options of the JavaScript layer and their `typeof`. `encoding` (a
// string or false) and `encoder` are checked by ./encoding.
const JS_OPTIONS = [
  { name: 'keyEncoding', type: 'string' },
  { name: 'checkpointsPath', type: 'string' },
  { name: 'branchesPath', type: 'string' },
  // rocksdb-js's: a custom key encoder (checked by ./encoding) and a bound on key bytes.
  { name: 'keyEncoder', type: 'object' },
  { name: 'maxKeySize', type: 'number', min: 1, max: 2 ** 31 - 1 },
  // The most setTimeout() takes.
  { name: 'idleTimeout', type: 'number', min: 1, max: 2 ** 31 - 1 },
  // msgpackr's, for the msgpack encoding (./encoding).
  { name: 'freezeData', type: 'boolean' },
  { name: 'randomAccessStructure', type: 'boolean' },
  { name: 'verificationTable', type: 'boolean' },
  // rocksdb-js's: the handle's compression for every column family opened
  // with the database. Here the families open at the database's open take
  // the opening handle's options, compression included, with or without it.
  { name: 'compressionForAllColumnFamilies', type: 'boolean' },
  // Transaction logs (./transaction-log): bytes of a file before the next
  // one (0: one file), how long purgeLogs() keeps files, in ms, and the
  // share of that a file may live before the next starts.
  { name: 'transactionLogMaxSize', type: 'number', min: 0, max: 2 ** 32 - 1 },
  { name: 'transactionLogRetention', type: 'number', min: 0, max: Number.MAX_SAFE_INTEGER },
  { name: 'transactionLogMaxAgeThreshold', type: 'number', min: 0, max: 1, fraction: true },
]

const SPECS = [...openOptionSpecs(), ...JS_OPTIONS]

/** Checks the options of `open()` and returns a copy of them (see `checkSpecs`). */
function checkOpenOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'an object', options)
  }
  // A copy, so that getters run once and later changes by the caller do not
  // reach a handle already checked.
  const copy = { ...options }
  // rocksdb-js's `compression: { algorithm, level }`.
  if (copy.compression !== null && typeof copy.compression === 'object') {
    const { algorithm, level } = copy.compression
    copy.compression = algorithm
    if (level !== undefined) copy.compressionLevel = level
  }
  const checked = checkSpecs(copy, SPECS)
  if (checked.encoding !== undefined && checked.encoding !== false && typeof checked.encoding !== 'string') {
    throw invalidArgType('options.encoding', 'a string or false', checked.encoding)
  }
  if (checked.name === '') throw invalidArgValue('options.name', 'must not be empty')
  if (checked.compressionForAllColumnFamilies === true && checked.compression === undefined) {
    throw invalidArgValue('options.compressionForAllColumnFamilies', 'requires an explicit compression option')
  }
  return checked
}

/**
 * Checks `options` against `specs` ({ name, type, min, max, values,
 * fraction }): the wrong type is a TypeError naming the option, as is a
 * number that is not an integer (unless `fraction`) or below its least
 * value; one above its greatest is a RangeError.
 */
function checkSpecs(checked, specs) {
  for (const { name, type, min, max, values, fraction = false } of specs) {
    const value = checked[name]
    if (value === undefined) continue
    if (typeof value !== type) throw invalidArgType(`options.${name}`, `of type ${type}`, value)
    if (values && !values.includes(value)) {
      throw invalidArgValue(`options.${name}`, `must be ${values.map((v) => `'${v}'`).join(', ')}. Received ${JSON.stringify(value)}`)
    }
    if (fraction && min !== undefined && !(Number.isFinite(value) && value >= min)) {
      throw invalidArgValue(`options.${name}`, `must be a number of at least ${min}. Received ${value}`)
    }
    if (!fraction && min !== undefined && (!Number.isInteger(value) || value < min)) {
      throw invalidArgValue(`options.${name}`, `must be an integer of at least ${min}. Received ${value}`)
    }
    if (max !== undefined && value > max) throw outOfRange(`options.${name}`, `<= ${max}`, value)
  }
  return checked
}

// The options of RocksDatabase.config(): sizes in bytes up to the native
// layer's bound, and switches.
const CONFIG_SPECS = [
  { name: 'blockCacheSize', type: 'number', min: 0, max: MAX_BUDGET_BYTES },
  { name: 'writeBufferManagerSize', type: 'number', min: 0, max: MAX_BUDGET_BYTES },
  { name: 'writeBufferManagerCostToCache', type: 'boolean' },
  { name: 'writeBufferManagerAllowStall', type: 'boolean' },
]

/** Checks the options of `RocksDatabase.config()` and returns a copy of them. */
function checkConfig(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'an object', options)
  }
  return checkSpecs({ ...options }, CONFIG_SPECS)
}

/** The name of every open option, native or not, in the order declared. */
const OPEN_OPTION_NAMES = [...SPECS.map((spec) => spec.name), 'encoding', 'encoder', 'sharedStructuresKey']

module.exports = { checkOpenOptions, checkConfig, OPEN_OPTION_NAMES }
