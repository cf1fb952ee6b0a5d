'use strict'

/**
 * Key and value encodings. The native layer stores bytes; these turn
 * JavaScript values into bytes and back.
 */
const { Packr } = require('msgpackr')
const orderedBinary = require('ordered-binary')
const { invalidArgType, invalidArgValue } = require('./errors')

function isBytes(value) {
  return value instanceof Uint8Array
}

function requireBytes(name, value) {
  if (!isBytes(value)) throw invalidArgType(name, 'a Buffer or Uint8Array', value)
  return value
}

function isKeyPart(part) {
  const type = typeof part
  return type === 'string' || type === 'number' || type === 'boolean' || part === null || isBytes(part)
}

const keyEncodings = {
  'ordered-binary': {
    encode(key) {
      const type = typeof key
      if (type === 'string') {
        if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
      } else if (Array.isArray(key)) {
        if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
        for (const part of key) {
          if (!isKeyPart(part)) throw invalidArgType('key', 'a string, number, Buffer or an array of those', key)
        }
      } else if (type !== 'number' && type !== 'boolean' && !isBytes(key)) {
        throw invalidArgType('key', 'a string, number, Buffer or an array of those', key)
      }
      const bytes = orderedBinary.toBufferKey(key)
      if (bytes.length === 0) throw invalidArgValue('key', 'must not be empty')
      return bytes
    },
    decode(bytes) {
      return orderedBinary.fromBufferKey(bytes)
    },
  },
  binary: {
    encode(key) {
      requireBytes('key', key)
      if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
      return key
    },
    decode(bytes) {
      return bytes
    },
  },
}

function msgpackEncoding() {
  // Records (msgpackr's shared structures) would tie stored values to
  // structures kept elsewhere; plain maps keep every value self-describing.
  const packr = new Packr({ useRecords: false })
  return {
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes),
  }
}

const binaryEncoding = {
  encode: (value) => requireBytes('value', value),
  decode: (bytes) => bytes,
}

/** Resolves the `keyEncoding` option to an encoder. */
function keyEncoder(name) {
  const encoding = keyEncodings[name ?? 'ordered-binary']
  if (!encoding) throw invalidArgValue('options.keyEncoding', `must be 'ordered-binary' or 'binary'. Received ${JSON.stringify(name)}`)
  return encoding
}

/** Resolves the `encoding` option to an encoder. */
function valueEncoder(name) {
  switch (name ?? 'msgpack') {
    case 'msgpack':
      return msgpackEncoding()
    case 'binary':
      return binaryEncoding
    default:
      throw invalidArgValue('options.encoding', `must be 'msgpack' or 'binary'. Received ${JSON.stringify(name)}`)
  }
}

module.exports = { keyEncoder, valueEncoder }
