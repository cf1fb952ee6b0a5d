'use strict'

/**
 * Tar streams (POSIX ustar) of a database: written by `db.backup(stream)`
 * and read back by `backups.restoreStream`, plain or gzipped.
 */

const fs = require('node:fs')
const path = require('node:path')
const stream = require('node:stream')
const zlib = require('node:zlib')
const { syncFilesystem } = require('../binding')
const { codedError } = require('../registry')
const { checkSignal, corrupt, syncDirectory } = require('./shared')
const { DB_FILE, NOT_DATA } = require('./format')

function octal(value, length) {
  return value.toString(8).padStart(length - 1, '0') + '\0'
}

/** The 512-byte ustar header of a regular file. */
function tarHeader(name, size, mtime) {
  const header = Buffer.alloc(512)
  header.write(name, 0, 100, 'utf8')
  header.write(octal(0o644, 8), 100)
  header.write(octal(0, 8), 108)
  header.write(octal(0, 8), 116)
  header.write(octal(size, 12), 124)
  header.write(octal(mtime, 12), 136)
  header.fill(' ', 148, 156)
  header.write('0', 156)
  header.write('ustar\0', 257)
  header.write('00', 263)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(octal(sum, 7) + ' ', 148)
  return header
}

/** Yields the tar archive of `files` in `dir`, chunk by chunk, read through libuv's pool. */
async function* tarChunks(dir, files, signal, onBytes) {
  const mtime = Math.floor(Date.now() / 1000)
  for (const { name, size } of files) {
    checkSignal(signal)
    yield tarHeader(name, size, mtime)
    let read = 0
    // `end` is inclusive, and an empty file has no last byte.
    const chunks = size === 0 ? [] : fs.createReadStream(path.join(dir, name), { highWaterMark: 1 << 20, end: size - 1 })
    for await (const chunk of chunks) {
      checkSignal(signal)
      read += chunk.length
      onBytes(chunk.length)
      yield chunk
    }
    if (read !== size) throw codedError('ERR_IO', `${name} changed size while it was archived`)
    if (size % 512 !== 0) yield Buffer.alloc(512 - (size % 512))
  }
  yield Buffer.alloc(1024)
}

function isWritable(target) {
  return target instanceof stream.Writable || (typeof target?.write === 'function' && typeof target?.on === 'function')
}

// Told by shape: naming the WritableStream global loads Node's web streams,
// several milliseconds of the event loop the first time.
function isWebWritable(target) {
  return typeof target?.getWriter === 'function' && typeof target?.write !== 'function'
}

/**
 * The first chunk of `source`, put back; `null` when it ends at once. Its
 * error rejects.
 */
function peek(source) {
  return new Promise((resolve, reject) => {
    const onReadable = () => {
      cleanup()
      const first = source.read()
      if (first !== null) source.unshift(first)
      resolve(first)
    }
    const onEnd = () => {
      cleanup()
      resolve(null)
    }
    const onError = (error) => {
      cleanup()
      reject(error)
    }
    const cleanup = () => {
      source.off('readable', onReadable)
      source.off('end', onEnd)
      source.off('error', onError)
    }
    source.once('readable', onReadable)
    source.once('end', onEnd)
    source.once('error', onError)
  })
}

/**
 * The bytes of a tar or tar.gz stream, gunzipped when gzip's magic number
 * starts it. A damaged gzip, or an error of the source, rejects the
 * iteration (`ERR_ROCKSDB_CORRUPTION` for the first): nothing is left to
 * throw where no one listens.
 */
async function* archiveBytes(readable) {
  try {
    yield* archiveChunks(readable)
  } catch (error) {
    if (typeof error?.code === 'string' && (error.code.startsWith('ERR_') || error.code === 'ABORT_ERR')) throw error
    // The caller's stream failed: coded, with its error as the cause.
    throw codedError('ERR_IO', `the archive could not be read: ${error?.message ?? error}`, { cause: error })
  }
}

/** `archiveBytes` before its errors are coded. */
async function* archiveChunks(readable) {
  const source = stream.Readable.from(readable)
  // Until the iteration below owns them, the source's errors are caught here.
  const first = await peek(source)
  if (first === null) throw corrupt('the archive is empty', undefined)
  if (first[0] !== 0x1f || first[1] !== 0x8b) {
    yield* source
    return
  }
  const gunzip = zlib.createGunzip()
  // pipeline() destroys every stage on the first error, so a source that
  // fails mid-way fails the gunzip being read, and no error goes unheard.
  const piped = stream.promises.pipeline(source, gunzip).catch((error) => error)
  try {
    yield* gunzip
  } catch (error) {
    if (typeof error?.code === 'string' && error.code.startsWith('Z_')) throw corrupt(`the archive's gzip is damaged: ${error.message}`, undefined)
    throw error
  } finally {
    gunzip.destroy()
    source.destroy()
    // Settled (as a premature close) once both are destroyed; any error it
    // saw was thrown by the iteration above.
    await piped
  }
}

/** One file being unpacked: written through a FileHandle, so every failure is a rejection. */
class UnpackedFile {
  constructor(handle, name, size) {
    this.handle = handle
    this.name = name
    this.remaining = size
    this.padding = (512 - (size % 512)) % 512
  }

  static async create(dir, name, size) {
    let handle
    try {
      handle = await fs.promises.open(path.join(dir, name), 'wx')
    } catch (error) {
      if (error.code === 'EEXIST') throw corrupt(`the archive holds ${JSON.stringify(name)} twice`, undefined)
      throw error
    }
    return new UnpackedFile(handle, name, size)
  }

  async write(bytes) {
    let written = 0
    while (written < bytes.length) written += (await this.handle.write(bytes, written, bytes.length - written)).bytesWritten
    this.remaining -= bytes.length
  }

  async close() {
    const handle = this.handle
    this.handle = null
    await handle?.close()
  }
}

/**
 * Unpacks a tar or tar.gz stream of a database into `dir` (which must not
 * exist), writing each file through libuv's pool. Only RocksDB's own file
 * names are accepted: an entry named otherwise, or with a path, is refused;
 * `LOCK` and info logs (`LOG`, `LOG.old.*`), which a tar of a live
 * database's directory holds, are skipped.
 */
async function untar(readable, dir, signal) {
  await fs.promises.mkdir(dir, { recursive: true })
  let pending = Buffer.alloc(0)
  let current = null // the UnpackedFile being written
  let skipping = null // { remaining, padding } of an entry left out
  let ended = false
  const names = []
  try {
    for await (const chunk of archiveBytes(readable)) {
      checkSignal(signal)
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (!ended) {
        const entry = current ?? skipping
        if (entry) {
          if (entry.remaining > 0) {
            if (pending.length === 0) break
            const take = Math.min(entry.remaining, pending.length)
            const piece = pending.subarray(0, take)
            pending = pending.subarray(take)
            if (current) await current.write(piece)
            else skipping.remaining -= take
            continue
          }
          if (pending.length < entry.padding) break
          pending = pending.subarray(entry.padding)
          if (current) {
            await current.close()
            names.push(current.name)
          }
          current = skipping = null
          continue
        }
        if (pending.length < 512) break
        const header = pending.subarray(0, 512)
        pending = pending.subarray(512)
        if (header.every((byte) => byte === 0)) {
          ended = true
          break
        }
        let sum = 0
        for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]
        if (parseInt(header.toString('latin1', 148, 156), 8) !== sum) throw corrupt('the archive has a damaged header (checksum mismatch)', undefined)
        const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '')
        const type = String.fromCharCode(header[156] || 0x30)
        const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8)
        const base = name.replace(/^\.\//, '')
        if (type === '5' && (base === '' || base === '.' || base === './')) continue
        if (type === '0' && NOT_DATA.test(base)) {
          skipping = { remaining: size, padding: (512 - (size % 512)) % 512 }
          continue
        }
        if (type !== '0' || !DB_FILE.test(base)) {
          throw corrupt(`the archive holds ${JSON.stringify(name)}, which is no file of a RocksDB database`, undefined)
        }
        current = await UnpackedFile.create(dir, base, size)
      }
      if (ended) break
    }
    if (current || skipping || !ended) throw corrupt('the archive ends early: it is truncated', undefined)
  } finally {
    // The file being written is closed before its directory is removed.
    await current?.close().catch(() => {})
  }
  if (!names.includes('CURRENT')) throw corrupt('the archive holds no database (no CURRENT file)', undefined)
  // The files and the directory on disk, with one sync of the filesystem.
  await syncFilesystem(dir)
  await syncDirectory(dir)
  return names
}

module.exports = { tarChunks, isWritable, isWebWritable, untar }
