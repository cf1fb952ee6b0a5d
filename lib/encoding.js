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

function requireBytes(name, value, lead) {
  if (!isBytes(value)) throw invalidArgType(name, 'a Buffer or Uint8Array', value, lead)
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
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'symbol' || part === null || isBytes(part)
}

function checkOrderedKey(key) {
  const type = typeof key
  if (type === 'string') {
    if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
  } else if (Array.isArray(key)) {
    if (key.length === 0) throw invalidArgValue('key', 'must not be empty')
    for (const part of key) {
      if (!isKeyPart(part)) throw invalidArgType('key', 'a string, number, symbol, Buffer or an array of those', key)
    }
  } else if (type !== 'number' && type !== 'boolean' && type !== 'symbol' && !isBytes(key)) {
    // Symbols are keys as rocksdb-js encodes them (ordered-binary: a 2 byte,
    // then the description; read back as Symbol.for(description)).
    throw invalidArgType('key', 'a string, number, symbol, Buffer or an array of those', key)
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

/**
 * Bytes as given, or a string's UTF-8 bytes: what the binary encodings
 * (and `encoding: false`) store, as rocksdb-js stores them.
 */
function bytesOf(name, value, lead) {
  return typeof value === 'string' ? Buffer.from(value) : requireBytes(name, value, lead)
}

function binaryKey(key) {
  const bytes = typeof key === 'string' ? Buffer.from(key) : requireBytes('key', key)
  if (bytes.length === 0) throw invalidArgValue('key', 'must not be empty', 'Zero length key is not allowed')
  return bytes
}

function checkUint32Key(key) {
  if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) {
    throw invalidArgType('key', 'an integer from 0 to 4294967295', key, typeof key === 'number' ? undefined : 'Key is not a number')
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
    encode: binaryKey,
    decode(bytes) {
      return bytes
    },
    decodeAt: copyOf,
    write(key, target) {
      const bytes = binaryKey(key)
      if (bytes.length > target.length) return -1
      target.set(bytes)
      return bytes.length
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

/**
 * The msgpack encoding (msgpackr). By default values are plain msgpack
 * maps, each self-describing; with `settings.structures` (the
 * `sharedStructuresKey` option) msgpackr's records are used, their
 * structures stored in the database under that key, as rocksdb-js and
 * lmdb-js store them.
 */
function msgpackEncoding(settings) {
  // copyBuffers: a decoded Buffer must own its bytes, never be a view of a
  // reused read buffer.
  const packr = new Packr({ ...packrOptions(settings), ...(settings.structures ? {} : { useRecords: false }) })
  return encoderOf(packr, 'msgpack')
}

/** msgpackr's options from the open options: `freezeData`, `randomAccessStructure`, shared structures. */
function packrOptions({ freezeData, randomAccessStructure, structures }) {
  const options = { copyBuffers: true }
  if (freezeData !== undefined) options.freezeData = freezeData
  if (randomAccessStructure !== undefined) options.randomAccessStructure = randomAccessStructure
  if (structures) {
    options.getStructures = structures.get
    options.saveStructures = structures.save
  }
  return options
}

/**
 * A value encoding over an encoder object with `encode(value)` and
 * `decode(bytes)` (msgpackr's Packr, an `Encoder` class's instance, or a
 * custom encoder); `encoder` is the object itself, exposed as `db.encoder`.
 */
function encoderOf(encoder, what) {
  return {
    encoder,
    encode(value) {
      let bytes
      try {
        bytes = encoder.encode(value)
      } catch (error) {
        throw invalidArgValue('value', `cannot be encoded by ${what}: ${error.message}`)
      }
      return bytesOf(`${what} encode() result`, bytes)
    },
    ...decoderOf(encoder),
  }
}

/**
 * `decode` and `decodeAt` of an encoder, as rocksdb-js picks them: its
 * `decode(bytes)`, else its `readKey(buffer, start, end)`, else none (the
 * stored bytes are the value).
 */
function decoderOf(encoder) {
  if (encoder instanceof Packr && encoder.decode === Packr.prototype.decode) {
    // msgpackr reads part of a buffer in place.
    return { decode: (bytes) => encoder.decode(bytes), decodeAt: (buffer, start, end) => encoder.unpack(buffer, { start, end }) }
  }
  // Other encoders get a copy of their own (they may keep views of it).
  if (typeof encoder.decode === 'function') return { decode: (bytes) => encoder.decode(bytes), decodeAt: (buffer, start, end) => encoder.decode(copyOf(buffer, start, end)) }
  if (typeof encoder.readKey === 'function') return { decode: (bytes) => encoder.readKey(bytes, 0, bytes.length), decodeAt: (buffer, start, end) => encoder.readKey(copyOf(buffer, start, end), 0, end - start) }
  return { decode: (bytes) => bytes, decodeAt: copyOf }
}

const binaryEncoding = {
  encode: (value) => bytesOf('value', value, `Invalid value put in database (${typeof value}), consider using an encoder`),
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
      throw invalidArgValue('options.keyEncoding', `must be 'ordered-binary', 'binary' or 'uint32'. Received ${JSON.stringify(name)}`, `Invalid key encoding: ${name}`)
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
    throw invalidArgType('options.keyEncoder', 'an object with writeKey() and readKey() methods', custom, 'Custom key encoder must provide both readKey and writeKey')
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
      throw invalidArgValue(
        'key',
        `was encoded by options.keyEncoder.writeKey() to ${end} bytes: it must return the end of a non-empty key`,
        end === 0 ? 'Zero length key is not allowed' : undefined,
      )
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
 * Resolves the `encoding` and `encoder` options to a value encoder, in
 * rocksdb-js's order: `encoding: false` stores bytes as given; an
 * `encoder.Encoder` class is instantiated with msgpackr's options (and the
 * rest of `encoder`); an `encoder` with `encode(value) => Uint8Array` and
 * `decode(bytes) => value` is used as it is; else the `encoding` named.
 * `settings`: `freezeData`, `randomAccessStructure` and `structures`
 * (`{ get, save }`, msgpackr's `getStructures`/`saveStructures`).
 */
function valueEncoder(name, custom, settings = {}) {
  if (name === false) return binaryEncoding
  if (custom !== undefined) {
    if (custom === null || typeof custom !== 'object') throw invalidArgType('options.encoder', 'an object', custom)
    if (typeof custom.Encoder === 'function') {
      const { Encoder, ...rest } = custom
      return encoderOf(new Encoder({ ...packrOptions(settings), ...rest }), 'options.encoder.Encoder')
    }
    // rocksdb-js's order: without encode() the named encoding encodes, and
    // without decode() (or readKey()) values read back as stored bytes.
    if (typeof custom.encode !== 'function') {
      if (custom.encode !== undefined && custom.encode !== null) throw invalidArgType('options.encoder.encode', 'a function', custom.encode)
      if (custom.decode !== undefined && custom.decode !== null && typeof custom.decode !== 'function') throw invalidArgType('options.encoder.decode', 'a function', custom.decode)
      const named = valueEncoder(name, undefined, settings)
      const decoding = typeof custom.decode === 'function' || typeof custom.readKey === 'function' ? decoderOf(custom) : {}
      return { ...named, encoder: custom, ...decoding }
    }
    if (custom.decode !== undefined && custom.decode !== null && typeof custom.decode !== 'function') throw invalidArgType('options.encoder.decode', 'a function', custom.decode)
    return encoderOf(custom, 'options.encoder')
  }
  switch (name ?? 'msgpack') {
    case 'msgpack':
      return msgpackEncoding(settings)
    case 'binary':
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

/** `values` decoding with `decoder` (`db.decoder = ...`), encoding as before. */
function withDecoder(values, decoder) {
  if (decoder === null || typeof decoder !== 'object' || typeof decoder.decode !== 'function') {
    throw invalidArgType('decoder', 'an object with a decode() method', decoder)
  }
  return {
    ...values,
    decoder,
    decode: (bytes) => decoder.decode(bytes),
    decodeAt: (buffer, start, end) => decoder.decode(copyOf(buffer, start, end)),
  }
}

module.exports = { keyEncoder, valueEncoder, withDecoder }
