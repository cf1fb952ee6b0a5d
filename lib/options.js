'use strict'

/**
 * The options of `RocksDatabase.open()`, checked before anything reaches the
 * native layer. The native options (names, types, bounds, accepted values
 * and their documentation) are declared once, in `src/options.rs`, and read
 * here through `openOptionSpecs()`; this file adds only the options the
 * JavaScript layer acts on itself.
 */

const { openOptionSpecs } = require('../native.js')
const { invalidArgType, invalidArgValue, outOfRange } = require('./errors')

// The options of the JavaScript layer and their `typeof`. `encoding` (a
// string or false) and `encoder` are checked by ./encoding.
const JS_OPTIONS = [
  { name: 'keyEncoding', type: 'string' },
  { name: 'checkpointsPath', type: 'string' },
]

const SPECS = [...openOptionSpecs(), ...JS_OPTIONS]

/**
 * Checks the options of `open()` and returns a copy of them. The wrong type
 * is a TypeError naming the option, as is an integer below its least value;
 * one above its greatest is a RangeError.
 */
function checkOpenOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'an object', options)
  }
  // A copy, so that getters run once and later changes by the caller do not
  // reach a handle already checked.
  const checked = { ...options }
  for (const { name, type, min, max, values } of SPECS) {
    const value = checked[name]
    if (value === undefined) continue
    if (typeof value !== type) throw invalidArgType(`options.${name}`, `of type ${type}`, value)
    if (values && !values.includes(value)) {
      throw invalidArgValue(`options.${name}`, `must be ${values.map((v) => `'${v}'`).join(', ')}. Received ${JSON.stringify(value)}`)
    }
    if (min !== undefined && (!Number.isInteger(value) || value < min)) {
      throw invalidArgValue(`options.${name}`, `must be an integer of at least ${min}. Received ${value}`)
    }
    if (max !== undefined && value > max) throw outOfRange(`options.${name}`, `<= ${max}`, value)
  }
  if (checked.encoding !== undefined && checked.encoding !== false && typeof checked.encoding !== 'string') {
    throw invalidArgType('options.encoding', 'a string or false', checked.encoding)
  }
  if (checked.name === '') throw invalidArgValue('options.name', 'must not be empty')
  return checked
}

/** The name of every open option, native or not, in the order declared. */
const OPEN_OPTION_NAMES = [...SPECS.map((spec) => spec.name), 'encoding', 'encoder']

module.exports = { checkOpenOptions, OPEN_OPTION_NAMES }
