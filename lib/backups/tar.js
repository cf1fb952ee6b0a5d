'use strict'

/**
 * Tar streams of a database: written by `db.backup(stream)` and read back
 * by `backups.restoreStream`, plain or gzipped. The archive format is
 * tar-stream's (ustar, with pax headers where a name needs them), so any
 * tar unpacks what a backup writes, and a restore reads what GNU tar,
 * bsdtar or tar-stream wrote (pax headers, long names).
 */

const fs = require('node:fs')
const path = require('node:path')
const stream = require('node:stream')
const zlib = require('node:zlib')
const tar = require('tar-stream')
const { syncFilesystem } = require('../binding')
const { codedError } = require('../registry')
const { checkSignal, corrupt, syncDirectory } = require('./shared')
const { DB_FILE, LOG_FILE, NOT_DATA } = require('./format')

/** Resolves once `writable` (a tar-stream stream) drains or closes. */
function drained(writable) {
  return new Promise((resolve) => {
    const done = () => {
      writable.off('drain', done)
      writable.off('close', done)
      resolve()
    }
    writable.on('drain', done)
    writable.on('close', done)
  })
}

/**
 * Adds the file `name` of `dir`, of `size` bytes, to `pack`, read through
 * libuv's pool; resolves once the archive has taken it whole.
 */
async function addFile(pack, dir, name, size, mtime, signal, onBytes) {
  let done
  const taken = new Promise((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())))
  const entry = pack.entry({ name, size, mode: 0o644, mtime }, done)
  let read = 0
  // `end` is inclusive, and an empty file has no last byte.
  const chunks = size === 0 ? [] : fs.createReadStream(path.join(dir, name), { highWaterMark: 1 << 20, end: size - 1 })
  for await (const chunk of chunks) {
    checkSignal(signal)
    read += chunk.length
    onBytes(chunk.length)
    if (!entry.write(chunk)) await drained(entry)
    if (entry.destroyed) break
  }
  if (read !== size) throw codedError('ERR_IO', `${name} changed size while it was archived`)
  entry.end()
  await taken
}

/**
 * Yields the tar archive of `files` (`{ name, size, mtimeMs? }`) in `dir`,
 * chunk by chunk, each file read through libuv's pool; a file's time is
 * its `mtimeMs` when it has one, the archive's otherwise.
 */
async function* tarChunks(dir, files, signal, onBytes) {
  const pack = tar.pack()
  const mtime = new Date()
  // Files are added by a loop of their own while the archive is read here;
  // a failure there destroys the archive, which ends the reading with it.
  const adding = (async () => {
    try {
      for (const { name, size, mtimeMs } of files) {
        checkSignal(signal)
        await addFile(pack, dir, name, size, mtimeMs === undefined ? mtime : new Date(mtimeMs), signal, onBytes)
      }
      pack.finalize()
    } catch (error) {
      pack.destroy(error)
    }
  })()
  try {
    for await (const chunk of pack) yield chunk
  } finally {
    pack.destroy()
    await adding
  }
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
 * starts it. A damaged gzip rejects the iteration with
 * `ERR_ROCKSDB_CORRUPTION`, an error of the source with `ERR_IO` (its error
 * the `cause`): nothing is left to throw where no one listens.
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
  constructor(handle, name) {
    this.handle = handle
    this.name = name
  }

  static async create(dir, name) {
    let handle
    try {
      handle = await fs.promises.open(path.join(dir, name), 'wx')
    } catch (error) {
      if (error.code === 'EEXIST') throw corrupt(`the archive holds ${JSON.stringify(name)} twice`, undefined)
      throw error
    }
    return new UnpackedFile(handle, name)
  }

  async write(bytes) {
    let written = 0
    while (written < bytes.length) written += (await this.handle.write(bytes, written, bytes.length - written)).bytesWritten
  }

  async close() {
    const handle = this.handle
    this.handle = null
    await handle?.close()
  }
}

/**
 * Writes the bytes of `readable` (see `archiveBytes`) into the tar parser
 * `extract`, as fast as it takes them; a failure destroys the parser with
 * it, which fails the reading of its entries.
 */
async function feed(readable, extract) {
  try {
    for await (const chunk of archiveBytes(readable)) {
      if (extract.destroyed) return
      if (!extract.write(chunk)) await drained(extract)
    }
    extract.end()
  } catch (error) {
    extract.destroy(error)
  }
}

/**
 * Unpacks a tar or tar.gz stream of a database into `dir` (which must not
 * exist), writing each file through libuv's pool. Only RocksDB's own file
 * names are accepted: an entry named otherwise, or with a path, is refused;
 * `LOCK` and info logs (`LOG`, `LOG.old.*`), which a tar of a live
 * database's directory holds, are skipped. A damaged or truncated archive
 * is `ERR_ROCKSDB_CORRUPTION`.
 */
/** Where an archive keeps transaction logs, and their folders. */
const LOGS = 'transaction_logs/'
const LOG_FOLDER = /^transaction_logs(\/[^/\\\0]+)?\/?$/

async function untar(readable, dir, signal) {
  await fs.promises.mkdir(dir, { recursive: true })
  const extract = tar.extract()
  // What destroyed the parser (the archive's bytes failing, or the parser
  // finding them damaged): the entry being read then only says it was
  // destroyed, so this is the error to report.
  let failure = null
  extract.on('error', (error) => (failure ??= error))
  const feeding = feed(readable, extract)
  const names = []
  let current = null
  try {
    for await (const entry of extract) {
      checkSignal(signal)
      const { name, type } = entry.header
      const base = name.replace(/^\.\//, '')
      const folder = type === 'directory' && (base === '' || base === '.' || base === './' || LOG_FOLDER.test(base))
      if (folder || (type === 'file' && NOT_DATA.test(base))) {
        entry.resume()
        continue
      }
      // A transaction log's file, under `transaction_logs/<log>/`.
      const log = type === 'file' && base.startsWith(LOGS) && LOG_FILE.test(base.slice(LOGS.length)) && !/(^|\/)\.\.?(\/|$)/.test(base)
      if (type !== 'file' || !(DB_FILE.test(base) || log)) {
        throw corrupt(`the archive holds ${JSON.stringify(name)}, which is no file of a RocksDB database`, undefined)
      }
      if (log) await fs.promises.mkdir(path.dirname(path.join(dir, base)), { recursive: true })
      current = await UnpackedFile.create(dir, base)
      for await (const chunk of entry) await current.write(chunk)
      await current.close()
      // Its last write decides when purgeLogs() deletes it.
      if (log && entry.header.mtime instanceof Date) await fs.promises.utimes(path.join(dir, base), entry.header.mtime, entry.header.mtime)
      names.push(base)
      current = null
    }
  } catch (thrown) {
    extract.destroy()
    const error = thrown?.code === 'STREAM_DESTROYED' && failure !== null ? failure : thrown
    // tar-stream's own errors (a damaged header, an archive that ends
    // early) are not ours; a system error (a full disk) keeps its errno name.
    if (typeof error?.code === 'string' && error.code !== 'STREAM_DESTROYED') throw error
    throw corrupt(`the archive is damaged or truncated: ${error?.message ?? error}`, undefined)
  } finally {
    // The file being written is closed before its directory is removed.
    await current?.close().catch(() => {})
    await feeding
  }
  if (!names.includes('CURRENT')) throw corrupt('the archive holds no database (no CURRENT file)', undefined)
  // The files and the directory on disk, with one sync of the filesystem.
  await syncFilesystem(dir)
  await syncDirectory(dir)
  return names
}

module.exports = { tarChunks, isWritable, isWebWritable, untar }
