'use strict'

/**
 * Argument errors: a `TypeError` that names the argument, with Node's own codes,
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

function invalidArgType(name, expected, value) {
  const error = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`)
  error.code = 'ERR_INVALID_ARG_TYPE'
  return error
}

function invalidArgValue(name, reason) {
  const error = new TypeError(`The "${name}" argument ${reason}`)
  error.code = 'ERR_INVALID_ARG_VALUE'
  return error
}

function databaseNotOpen() {
  const error = new Error('The database is closed')
  error.code = 'ERR_DATABASE_CLOSED'
  return error
}

module.exports = { invalidArgType, invalidArgValue, databaseNotOpen }
