'use strict'

/**
 * Key and value encodings. The native layer stores bytes; these turn
 * JavaScript values into bytes and back.
 */
const { Packr } = require('msgpackr')
const orderedBinary = require('ordered-binary')
const { invalidArgType, invalidArgValue } = require('./errors')

/** A Buffer of its own holding `buffer[start..end]`. */
function copyOf(buffer, start, end) {
  const bytes = Buffer.allocUnsafe(end - start)
  buffer.copy(bytes, 0, start, end)
  return bytes
}

function isBytes(value) {
  return value instanceof Uint8Array
}

function requireBytes(name, value) {
  if (!isBytes(value)) throw invalidArgType(name, 'a Buffer or Uint8Array', value)
  if (value.byteLength === 0 && isDetached(value)) throw invalidArgValue(name, 'is a detached buffer (its memory was transferred)')
  return value
}

/**
 * Whether the memory of `bytes` was transferred away. A detached view reads
 * as empty, so an empty one is checked: viewing a detached ArrayBuffer throws.
 */
function isDetached(bytes) {
  try {
    new Uint8Array(bytes.buffer, 0, 0)
    return false
  } catch {
    return true
  }
}

function isKeyPart(part) {
  const type = typeof part
  return type === 'string' || type === 'number' || type === 'boolean' || part === null || isBytes(part)
}

function checkOrderedKey(key) {
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
}

/**
 * ordered-binary's encoding of `value`, its failures turned into coded
 * TypeErrors: it encodes into a buffer of 8 KiB, so a larger key or value is
 * refused rather than truncated.
 */
function orderedBytes(name, value) {
  try {
    return orderedBinary.toBufferKey(value)
  } catch (error) {
    if (error instanceof RangeError || /too large/i.test(error?.message)) {
      throw invalidArgValue(name, "is too large for the ordered-binary encoding (about 8 KiB at most; use 'binary' for larger)")
    }
    throw invalidArgType(name, 'a string, number, boolean, Buffer or an array of those', value)
  }
}

function checkBinaryKey(key) {
  requireBytes('key', key)
  if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
}

function checkUint32Key(key) {
  if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) {
    throw invalidArgType('key', 'an integer from 0 to 4294967295', key)
  }
}

/**
 * Each key encoding has `encode(key)` (a new Buffer), `decode(bytes)`,
 * `decodeAt(buffer, start, end)`, which decodes part of a reused buffer into
 * a value that does not share its memory, and `write(key, target)`, which
 * encodes into the reusable `target` and returns the length, or -1 when the
 * key does not fit (the caller then uses `encode`). Value encodings have
 * `encode`, `decode` and `decodeAt`.
 */
const keyEncodings = {
  'ordered-binary': {
    encode(key) {
      checkOrderedKey(key)
      const bytes = orderedBytes('key', key)
      if (bytes.length === 0) throw invalidArgValue('key', 'must not be empty')
      return bytes
    },
    decode(bytes) {
      return orderedBinary.fromBufferKey(bytes)
    },
    // ordered-binary copies the bytes of binary parts and builds new strings.
    decodeAt: (buffer, start, end) => orderedBinary.readKey(buffer, start, end),
    write(key, target) {
      checkOrderedKey(key)
      if (typeof key === 'string' ? key.length * 3 + 8 > target.length : typeof key !== 'number') {
        // Only strings and numbers take the shared buffer: their size is
        // known up front, and ordered-binary must not write past its end.
        return -1
      }
      const end = orderedBinary.writeKey(key, target, 0)
      if (end === 0) throw invalidArgValue('key', 'must not be empty')
      return end <= target.length ? end : -1
    },
  },
  binary: {
    encode(key) {
      checkBinaryKey(key)
      return key
    },
    decode(bytes) {
      return bytes
    },
    decodeAt: copyOf,
    write(key, target) {
      checkBinaryKey(key)
      if (key.length > target.length) return -1
      target.set(key)
      return key.length
    },
  },
  uint32: {
    encode(key) {
      checkUint32Key(key)
      // Big-endian, so byte order is numeric order.
      const bytes = Buffer.allocUnsafe(4)
      bytes.writeUInt32BE(key)
      return bytes
    },
    decode(bytes) {
      return bytes.readUInt32BE(0)
    },
    decodeAt: (buffer, start) => buffer.readUInt32BE(start),
    write(key, target) {
      checkUint32Key(key)
      target.writeUInt32BE(key, 0)
      return 4
    },
  },
}

function msgpackEncoding() {
  // Records (msgpackr's shared structures) would tie stored values to
  // structures kept elsewhere; plain maps keep every value self-describing.
  // copyBuffers: a decoded Buffer must own its bytes, never be a view of a
  // reused read buffer.
  const packr = new Packr({ useRecords: false, copyBuffers: true })
  return {
    encode(value) {
      try {
        return packr.pack(value)
      } catch (error) {
        throw invalidArgValue('value', `cannot be encoded by msgpack: ${error.message}`)
      }
    },
    decode: (bytes) => packr.unpack(bytes),
    decodeAt: (buffer, start, end) => packr.unpack(buffer, { start, end }),
  }
}

const binaryEncoding = {
  encode: (value) => requireBytes('value', value),
  decode: (bytes) => bytes,
  decodeAt: copyOf,
}

const orderedBinaryEncoding = {
  encode: (value) => orderedBytes('value', value),
  decode: (bytes) => orderedBinary.fromBufferKey(bytes),
  decodeAt: (buffer, start, end) => orderedBinary.readKey(buffer, start, end),
}

/**
 * Resolves the `keyEncoding` option to an encoder; a custom `keyEncoder`
 * (rocksdb-js's and lmdb-js's `{ writeKey, readKey }`) takes precedence.
 * With `maxKeySize`, longer keys are refused.
 */
function keyEncoder(name, custom, maxKeySize) {
  let encoding
  if (custom !== undefined) {
    encoding = customKeyEncoder(custom)
  } else {
    encoding = Object.hasOwn(keyEncodings, name ?? 'ordered-binary') ? keyEncodings[name ?? 'ordered-binary'] : undefined
    if (!encoding) {
      throw invalidArgValue('options.keyEncoding', `must be 'ordered-binary', 'binary' or 'uint32'. Received ${JSON.stringify(name)}`)
    }
  }
  return maxKeySize === undefined ? encoding : boundedKeys(encoding, maxKeySize)
}

// The most bytes a custom key encoder may write for one key.
const CUSTOM_KEY_BYTES = 1 << 16

/**
 * A key encoder of `{ writeKey(key, buffer, start) => end, readKey(buffer,
 * start, end) => key }`. Keys are written into a scratch buffer first, so
 * that an encoder can never write past the buffer it is given.
 */
function customKeyEncoder(custom) {
  if (custom === null || typeof custom !== 'object' || typeof custom.writeKey !== 'function' || typeof custom.readKey !== 'function') {
    throw invalidArgType('options.keyEncoder', 'an object with writeKey() and readKey() methods', custom)
  }
  const scratch = Buffer.allocUnsafe(CUSTOM_KEY_BYTES)
  const encode = (key) => {
    let end
    try {
      end = custom.writeKey(key, scratch, 0)
    } catch (error) {
      throw invalidArgValue('key', `cannot be encoded by options.keyEncoder: ${error?.message ?? error}`)
    }
    if (!Number.isInteger(end) || end <= 0 || end > scratch.length) {
      throw invalidArgValue('key', `was encoded by options.keyEncoder.writeKey() to ${end} bytes: it must return the end of a non-empty key`)
    }
    return copyOf(scratch, 0, end)
  }
  return {
    encode,
    decode: (bytes) => custom.readKey(bytes, 0, bytes.length),
    decodeAt: (buffer, start, end) => custom.readKey(buffer, start, end),
    // Writes into the shared key buffer of the fast path (./fast); -1 when it does not fit.
    write(key, target) {
      const bytes = encode(key)
      if (bytes.length > target.length) return -1
      target.set(bytes)
      return bytes.length
    },
  }
}

/** `encoding`, refusing keys of more than `maxKeySize` bytes. */
function boundedKeys(encoding, maxKeySize) {
  const tooLong = (length) => invalidArgValue('key', `is ${length} bytes; options.maxKeySize is ${maxKeySize}`)
  return {
    ...encoding,
    encode(key) {
      const bytes = encoding.encode(key)
      if (bytes.length > maxKeySize) throw tooLong(bytes.length)
      return bytes
    },
    write(key, target) {
      const length = encoding.write(key, target)
      if (length > maxKeySize) throw tooLong(length)
      // -1 (too long for the shared buffer) falls back to encode(), which checks too.
      return length
    },
  }
}

/**
 * Resolves the `encoding` and `encoder` options to a value encoder. A custom
 * `encoder` with `encode(value) => Uint8Array` and `decode(bytes) => value`
 * takes precedence.
 */
function valueEncoder(name, custom) {
  if (custom !== undefined) {
    if (custom === null || typeof custom.encode !== 'function' || typeof custom.decode !== 'function') {
      throw invalidArgType('options.encoder', 'an object with encode() and decode() methods', custom)
    }
    return {
      encode(value) {
        const bytes = custom.encode(value)
        return requireBytes('options.encoder.encode() result', bytes)
      },
      decode: (bytes) => custom.decode(bytes),
      decodeAt: (buffer, start, end) => custom.decode(copyOf(buffer, start, end)),
    }
  }
  switch (name ?? 'msgpack') {
    case 'msgpack':
      return msgpackEncoding()
    case 'binary':
    case false:
      return binaryEncoding
    case 'ordered-binary':
      return orderedBinaryEncoding
    default:
      throw invalidArgValue(
        'options.encoding',
        `must be 'msgpack', 'binary', 'ordered-binary' or false. Received ${JSON.stringify(name)}`,
      )
  }
}

module.exports = { keyEncoder, valueEncoder }
