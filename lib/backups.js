'use strict'

/**
 * Backups: copies of a database that survive losing its disk, kept in a
 * directory or in S3-compatible object storage, incremental, and checked
 * byte for byte.
 *
 * A backup store (a directory, or `s3://bucket/prefix`) holds:
 *
 *   files/<sha256>       each distinct file content, once (SST files that
 *                        did not change are shared by every backup)
 *   backups/<id>.json    one backup: its id, time, sequence, metadata and
 *                        the name, size and SHA-256 of each of its files
 *   .backup.lock         held by writers exclusively and by restores
 *                        shared, across processes: a locked file in a
 *                        directory, an object with leased holders in S3
 *
 * A backup first makes a checkpoint (hardlinks, so a consistent set of files
 * at once), copies into `files/` what the store does not hold yet, taking
 * each file's SHA-256 as it copies (from the checkpoint's file, which
 * nothing changes), and writes its manifest
 * last: a crash or an abort leaves no manifest, and the files it copied are
 * removed by the next writer as belonging to no backup. Every listed backup
 * can therefore be restored. Verification and restore check every byte
 * against the digests in the manifest.
 *
 * Copies and digests run on libuv's pool (src/backup.rs); uploads and
 * downloads are the AWS SDK's asynchronous I/O; tar streams go through
 * Node's streams. None of it runs on the event loop for long.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const stream = require('node:stream')
const zlib = require('node:zlib')
const { copyFileHashed, hashFile, syncFilesystem, tryLockFile } = require('./binding')
const { invalidArgType, invalidArgValue, checkPath, coding } = require('./errors')
const { codedError, beside } = require('./registry')
const { replaceDatabase, verifyDatabase } = require('./checkpoints')

const FORMAT = 'rocksdb-branch-backup'
const FORMAT_VERSION = 1
const LOCK_FILE = '.backup.lock'
const SHA256 = /^[0-9a-f]{64}$/
// Names a manifest may list: RocksDB's own files, never a path.
const DB_FILE = /^(CURRENT|IDENTITY|MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob))$/
// Files of a live database's directory that are no part of its data: the
// lock RocksDB holds while it is open and its info logs. A tar of a
// database's directory has them; a restore leaves them out.
const NOT_DATA = /^(LOCK|LOG|LOG\.old\.\d+)$/
// Scratch copies of `backups.verify`, in a directory store.
const VERIFY_SCRATCH = /^\.verify-[0-9a-f-]{36}$/

function abortError(signal) {
  const error = new Error('The backup was aborted', { cause: signal?.reason })
  error.name = 'AbortError'
  error.code = 'ABORT_ERR'
  return error
}

async function exists(file) {
  try {
    await fs.promises.access(file)
    return true
  } catch {
    return false
  }
}

/** fsync of a directory through libuv's pool; a missing one has nothing to sync. */
async function syncDirectory(dir) {
  if (process.platform === 'win32') return
  let handle
  try {
    handle = await fs.promises.open(dir, 'r')
  } catch (error) {
    if (error.code === 'ENOENT') return
    throw error
  }
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function checkSignal(signal) {
  if (signal?.aborted) throw abortError(signal)
}

function corrupt(message, file) {
  return codedError('ERR_ROCKSDB_CORRUPTION', message, { file })
}

// ---------------------------------------------------------------------------
// Stores

function storeLocked(location) {
  return codedError('ERR_BACKUP_LOCKED', `${location} is locked by another backup, restore, delete or purge; retry when it is done`)
}

/** The holders of an S3 lock object whose lease has not run out. */
function liveHolders(state) {
  const now = Date.now()
  return Array.isArray(state?.holders) ? state.holders.filter((h) => typeof h?.id === 'string' && Date.parse(h.expiresAt) > now) : []
}

/** A backup store in a local directory. */
class DirectoryStore {
  // Files stored since the last sync() whose bytes may not be on disk yet.
  #unsynced = []

  constructor(dir) {
    this.dir = dir
    this.location = dir
  }

  #path(key) {
    return path.join(this.dir, ...key.split('/'))
  }

  async readJson(key) {
    try {
      return JSON.parse(await fs.promises.readFile(this.#path(key), 'utf8'))
    } catch (error) {
      if (error.code === 'ENOENT') return undefined
      if (error instanceof SyntaxError) throw corrupt(`${this.#path(key)} is not valid JSON: ${error.message}`, this.#path(key))
      throw error
    }
  }

  /** Writes `key` so that a crash leaves the old or the new content, with no fsync on the event loop. */
  async writeJson(key, value) {
    const file = this.#path(key)
    await fs.promises.mkdir(path.dirname(file), { recursive: true })
    const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
    const handle = await fs.promises.open(temp, 'w')
    try {
      await handle.writeFile(JSON.stringify(value, null, 2) + '\n')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.promises.rename(temp, file)
    await syncDirectory(path.dirname(file))
  }

  async has(key) {
    return exists(this.#path(key))
  }

  async list(prefix) {
    try {
      return (await fs.promises.readdir(this.#path(prefix))).map((name) => `${prefix}/${name}`)
    } catch (error) {
      if (error.code === 'ENOENT') return []
      throw error
    }
  }

  async delete(key) {
    await fs.promises.rm(this.#path(key), { force: true })
  }

  /**
   * Stores the file at `source` under its digest, copying it and taking its
   * digest in one pass (src/backup.rs). Resolves with `{ size, sha256,
   * copied }`; `copied` is the bytes added to the store. With `sync`, the
   * kernel starts writing the copy at once and `sync()` waits for it, so the
   * disk writes one file while the next is copied. With `likelyStored` (an
   * earlier backup had a file of that name and size), the digest is taken
   * first and the file copied only when the store lacks it.
   */
  async putFile(source, { sync, likelyStored = false }) {
    if (likelyStored) {
      // Read and hashed only: an unchanged file is not written again.
      const digest = await hashFile(source)
      if (await exists(this.#path(`files/${digest.sha256}`))) return { ...digest, copied: 0 }
    }
    const files = this.#path('files')
    await fs.promises.mkdir(files, { recursive: true })
    const temp = path.join(files, `.tmp-${crypto.randomUUID()}`)
    const digest = await copyFileHashed(source, temp, sync)
    const target = path.join(files, digest.sha256)
    if (await exists(target)) {
      await fs.promises.rm(temp, { force: true })
      return { ...digest, copied: 0 }
    }
    await fs.promises.rename(temp, target)
    if (sync) this.#unsynced.push(target)
    return { ...digest, copied: digest.size }
  }

  /** The size and SHA-256 of a stored file, read whole. */
  async hashStored(key) {
    return hashFile(this.#path(key))
  }

  /**
   * Copies a stored file to `target`, resolving with the digest of the bytes
   * copied; the kernel starts writing it, and the caller syncs it.
   */
  async getFile(key, target) {
    return copyFileHashed(this.#path(key), target, true)
  }

  /**
   * Waits until the files `putFile` stored, and the directories naming
   * them, are on disk: one sync of the store's filesystem for all of them
   * (an fsync of each would flush the disk's cache once per file).
   */
  async sync() {
    if (this.#unsynced.splice(0).length > 0) await syncFilesystem(this.dir)
    for (const dir of [this.dir, this.#path('files'), this.#path('backups')]) await syncDirectory(dir)
  }

  /**
   * Removes what interrupted work left: temporary copies of files and
   * manifests, and the scratch copies of verifications a crash stopped.
   * Needs the exclusive lock, which no verification runs beside.
   */
  async removeTemporaryFiles() {
    for (const key of [...(await this.list('files')), ...(await this.list('backups'))]) {
      const name = path.basename(key)
      if (name.startsWith('.tmp-') || name.endsWith('.tmp')) await this.delete(key)
    }
    let entries = []
    try {
      entries = await fs.promises.readdir(this.dir)
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
    }
    for (const name of entries) {
      if (VERIFY_SCRATCH.test(name)) await fs.promises.rm(path.join(this.dir, name), { recursive: true, force: true })
    }
  }

  /**
   * Takes the store's lock: exclusive for writers, shared for restores.
   * Rejects with `ERR_BACKUP_LOCKED` at once when it is taken. Resolves with
   * `{ release(), assertHeld() }`; a lock on a file is held until released.
   */
  async lock(shared) {
    const stats = await fs.promises.stat(this.dir).catch(() => undefined)
    if (stats !== undefined && !stats.isDirectory()) throw codedError('ERR_NOT_A_DIRECTORY', `the backup store ${this.dir} is a file, not a directory`)
    // A store that does not exist has nothing for a reader to protect.
    if (stats === undefined && shared) return { release: async () => {}, assertHeld() {} }
    await fs.promises.mkdir(this.dir, { recursive: true })
    const file = path.join(this.dir, LOCK_FILE)
    const lock = tryLockFile(file, shared)
    if (lock === null) throw storeLocked(this.dir)
    return { release: async () => lock.release(), assertHeld() {} }
  }

  /**
   * The free bytes of the filesystem under the store, or `undefined` when
   * the filesystem does not say.
   */
  async freeBytes() {
    let dir = this.dir
    while (!(await exists(dir))) dir = path.dirname(dir)
    const stats = await fs.promises.statfs(dir)
    const free = stats.bavail * stats.bsize
    return free > 0 ? free : undefined
  }

  /** A directory on the store's filesystem where files can be linked in. */
  localFile(key) {
    return this.#path(key)
  }
}

/** A backup store in S3 or an S3-compatible service, at `s3://bucket/prefix`. */
class S3Store {
  #client
  #sdk

  constructor(url, options = {}) {
    const parsed = new URL(url)
    this.bucket = parsed.hostname
    this.prefix = parsed.pathname.replace(/^\/+|\/+$/g, '')
    this.location = url
    if (!this.bucket) throw invalidArgValue('dir', `must name a bucket: s3://bucket/prefix. Received ${JSON.stringify(url)}`)
    this.options = options
  }

  #key(key) {
    return this.prefix ? `${this.prefix}/${key}` : key
  }

  get #s3() {
    if (!this.#client) {
      let sdk
      try {
        sdk = { ...require('@aws-sdk/client-s3'), ...require('@aws-sdk/lib-storage') }
      } catch (error) {
        throw codedError(
          'ERR_MODULE_NOT_FOUND',
          `backups to s3:// need the AWS SDK: npm install @aws-sdk/client-s3 @aws-sdk/lib-storage (${error.message.split('\n')[0]})`,
        )
      }
      const { endpoint, region, credentials, forcePathStyle } = this.options
      this.#sdk = sdk
      this.#client = new sdk.S3Client({
        endpoint: endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
        region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        credentials,
        // Servers other than AWS seldom have a DNS name per bucket.
        forcePathStyle: forcePathStyle ?? (endpoint !== undefined || process.env.AWS_ENDPOINT_URL !== undefined),
      })
    }
    return this.#client
  }

  #send(Command, input) {
    const client = this.#s3
    return client.send(new this.#sdk[Command]({ Bucket: this.bucket, ...input }))
  }

  #failed(error, what) {
    if (error?.code?.startsWith?.('ERR_')) return error
    const status = error?.$metadata?.httpStatusCode
    return codedError('ERR_S3', `${what} ${this.location}: ${error?.name ?? 'Error'}: ${error?.message ?? error}${status ? ` (HTTP ${status})` : ''}`)
  }

  #missing(error) {
    return error?.name === 'NoSuchKey' || error?.name === 'NotFound' || error?.$metadata?.httpStatusCode === 404
  }

  /** The text of the object `key` and its ETag, or `undefined` when it is missing. */
  async #getText(key) {
    try {
      const response = await this.#send('GetObjectCommand', { Key: this.#key(key) })
      return { text: await response.Body.transformToString('utf8'), etag: response.ETag }
    } catch (error) {
      if (this.#missing(error)) return undefined
      throw this.#failed(error, `cannot read ${key} of`)
    }
  }

  async readJson(key) {
    const object = await this.#getText(key)
    if (object === undefined) return undefined
    try {
      return JSON.parse(object.text)
    } catch (error) {
      throw corrupt(`${this.location}/${key} is not valid JSON: ${error.message}`, `${this.location}/${key}`)
    }
  }

  async writeJson(key, value) {
    try {
      await this.#send('PutObjectCommand', { Key: this.#key(key), Body: JSON.stringify(value, null, 2) + '\n', ContentType: 'application/json' })
    } catch (error) {
      throw this.#failed(error, `cannot write ${key} to`)
    }
  }

  async has(key) {
    try {
      await this.#send('HeadObjectCommand', { Key: this.#key(key) })
      return true
    } catch (error) {
      if (this.#missing(error)) return false
      throw this.#failed(error, `cannot look up ${key} in`)
    }
  }

  async list(prefix) {
    const keys = []
    let ContinuationToken
    const base = this.#key(prefix) + '/'
    try {
      do {
        const page = await this.#send('ListObjectsV2Command', { Prefix: base, ContinuationToken })
        for (const object of page.Contents ?? []) keys.push(`${prefix}/${object.Key.slice(base.length)}`)
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (ContinuationToken)
    } catch (error) {
      throw this.#failed(error, `cannot list ${prefix} of`)
    }
    return keys
  }

  async delete(key) {
    try {
      await this.#send('DeleteObjectCommand', { Key: this.#key(key) })
    } catch (error) {
      throw this.#failed(error, `cannot delete ${key} from`)
    }
  }

  /**
   * Uploads the file at `source` under its digest, unless the store has it.
   * The digest is taken first (on libuv's pool), so an unchanged file is
   * read but not uploaded. The source is a file of a checkpoint, which
   * nothing changes, so the bytes uploaded are the bytes hashed; verify
   * and restore check them again on the way back.
   */
  async putFile(source) {
    const digest = await hashFile(source)
    const key = `files/${digest.sha256}`
    if (await this.has(key)) return { ...digest, copied: 0 }
    const Body = fs.createReadStream(source, { highWaterMark: 1 << 20 })
    try {
      const upload = new this.#sdk.Upload({
        client: this.#s3,
        params: { Bucket: this.bucket, Key: this.#key(key), Body },
        partSize: 16 << 20,
        queueSize: 2,
      })
      await upload.done()
    } catch (error) {
      throw this.#failed(error, `cannot upload ${path.basename(source)} to`)
    } finally {
      Body.destroy()
    }
    return { ...digest, copied: digest.size }
  }

  async #download(key, target) {
    let response
    try {
      response = await this.#send('GetObjectCommand', { Key: this.#key(key) })
    } catch (error) {
      if (this.#missing(error)) throw corrupt(`${this.location}/${key} is missing`, `${this.location}/${key}`)
      throw this.#failed(error, `cannot download ${key} from`)
    }
    await stream.promises.pipeline(response.Body, fs.createWriteStream(target, { flags: 'wx' }))
  }

  async getFile(key, target) {
    await this.#download(key, target)
    return hashFile(target)
  }

  async sync() {}

  async removeTemporaryFiles() {}

  /**
   * Takes the store's lock, as a directory store's lock file does across
   * processes and machines: one object, `.backup.lock` under the prefix,
   * changed only by conditional writes (`If-None-Match: *` to make it,
   * `If-Match` on its ETag to change it), that lists its holders (one
   * writer, or any number of restores), each with a lease it renews while
   * it works (`s3.lockLease`, default 60 s). The lock of a holder that died
   * is free once its lease has run out. Rejects with `ERR_BACKUP_LOCKED`
   * when it is taken. A service that ignores conditional writes gets no
   * protection from it.
   */
  async lock(shared) {
    const lease = this.options.lockLease ?? 60_000
    const id = crypto.randomUUID()
    const mode = shared ? 'shared' : 'exclusive'
    const holder = () => ({ id, expiresAt: new Date(Date.now() + lease).toISOString(), host: os.hostname(), pid: process.pid })
    await this.#changeLock((state) => {
      const holders = liveHolders(state)
      if (holders.length > 0 && (!shared || state.mode !== 'shared')) throw storeLocked(this.location)
      return { mode, holders: [...holders, holder()] }
    })
    let heldUntil = Date.now() + lease
    let lost = null
    let renewing = Promise.resolve()
    const renew = () => {
      renewing = this.#changeLock((state) => {
        const holders = liveHolders(state)
        if (!holders.some((h) => h.id === id)) throw codedError('ERR_BACKUP_LOCKED', `the lock of ${this.location} was lost: its lease ran out`)
        return { mode: state.mode, holders: holders.map((h) => (h.id === id ? holder() : h)) }
      }).then(
        () => {
          heldUntil = Date.now() + lease
        },
        (error) => {
          if (error.code === 'ERR_BACKUP_LOCKED') lost = error
          // Otherwise the service failed: the next renewal tries again.
        },
      )
    }
    const timer = setInterval(renew, Math.max(1, Math.floor(lease / 3))).unref()
    return {
      release: async () => {
        clearInterval(timer)
        await renewing
        // Not deleted: a delete could remove a lock another process made
        // meanwhile. An object with no live holder is a free lock.
        await this.#changeLock((state) => ({ mode: state?.mode ?? mode, holders: liveHolders(state).filter((h) => h.id !== id) })).catch(() => {})
      },
      assertHeld: () => {
        if (lost) throw lost
        if (Date.now() >= heldUntil) throw codedError('ERR_BACKUP_LOCKED', `the lock of ${this.location} was lost: its lease ran out before it could be renewed`)
      },
    }
  }

  /**
   * Reads the lock object, passes its state to `change` (which returns the
   * new state or throws), and writes the result only if nobody changed the
   * object meanwhile; tries again when somebody did.
   */
  async #changeLock(change) {
    for (let attempt = 0; ; attempt++) {
      const object = await this.#getText(LOCK_FILE)
      let state
      try {
        state = object && JSON.parse(object.text)
      } catch {
        // A lock object this package did not write: nobody holds it.
      }
      const etag = object?.etag
      const next = change(state)
      try {
        await this.#send('PutObjectCommand', {
          Key: this.#key(LOCK_FILE),
          Body: JSON.stringify(next) + '\n',
          ContentType: 'application/json',
          ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        })
        return next
      } catch (error) {
        const status = error?.$metadata?.httpStatusCode
        // 412: the object changed (or appeared) since it was read; 409: a
        // concurrent conditional write is in progress.
        if ((status === 412 || status === 409) && attempt < 20) {
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)))
          continue
        }
        throw this.#failed(error, `cannot write the lock of`)
      }
    }
  }

  async freeBytes() {
    return undefined
  }

  localFile() {
    return undefined
  }
}

/** The store a destination names: a directory, or `s3://bucket/prefix`. */
function openStore(destination, options = {}, argument = 'dir') {
  if (typeof destination !== 'string') throw invalidArgType(argument, 'a directory or an s3:// URL', destination)
  if (/^s3:\/\//i.test(destination)) {
    const s3 = options.s3 ?? {}
    if (typeof s3 !== 'object' || s3 === null) throw invalidArgType('options.s3', 'an object', s3)
    if (s3.lockLease !== undefined && (!Number.isSafeInteger(s3.lockLease) || s3.lockLease < 1)) {
      throw invalidArgType('options.s3.lockLease', 'a positive integer', s3.lockLease)
    }
    return new S3Store(destination, s3)
  }
  return new DirectoryStore(checkPath(argument, destination))
}

// ---------------------------------------------------------------------------
// Manifests

const manifestKey = (id) => `backups/${id}.json`

/** Files a backup copies at a time by default: all cores but the event loop's, at most two. */
const DEFAULT_COPIES = Math.min(2, Math.max(1, os.availableParallelism() - 1))

/** Checks a manifest read from a store; throws ERR_ROCKSDB_CORRUPTION naming it otherwise. */
function checkManifest(manifest, where) {
  const files = manifest?.files
  const valid =
    manifest?.format === FORMAT &&
    Number.isInteger(manifest.backupId) &&
    manifest.backupId > 0 &&
    Array.isArray(files) &&
    files.every((f) => typeof f?.name === 'string' && DB_FILE.test(f.name) && SHA256.test(f.sha256) && Number.isSafeInteger(f.size))
  if (!valid) throw corrupt(`${where} is not a backup manifest this package can read`, where)
  const names = new Set(files.map((f) => f.name))
  if (names.size !== files.length) throw corrupt(`${where} lists one file twice`, where)
  if (manifest.version !== FORMAT_VERSION) {
    throw corrupt(`${where} has format version ${manifest.version}; this package reads version ${FORMAT_VERSION}`, where)
  }
  return manifest
}

async function readManifests(store) {
  const manifests = []
  for (const key of await store.list('backups')) {
    const name = path.posix.basename(key)
    if (!/^\d+\.json$/.test(name)) continue
    manifests.push(checkManifest(await store.readJson(key), `${store.location}/${key}`))
  }
  return manifests.sort((a, b) => a.backupId - b.backupId)
}

/** The public `BackupInfo` of a manifest: rocksdb-js's fields, and ours. */
function toInfo(manifest) {
  return {
    backupId: manifest.backupId,
    timestamp: manifest.timestamp,
    size: manifest.files.reduce((sum, f) => sum + f.size, 0),
    numberFiles: manifest.files.length,
    appMetadata: manifest.appMetadata,
    createdAt: new Date(manifest.createdAt),
    sequence: manifest.sequence,
  }
}

/**
 * Removes the stored files no backup lists (left by a crash or an abort, or
 * freed by a delete), and copies a crash left half made. Needs the
 * exclusive lock. Resolves with the manifests, oldest first.
 */
async function collectGarbage(store) {
  await store.removeTemporaryFiles()
  const manifests = await readManifests(store)
  const used = new Set()
  for (const manifest of manifests) for (const file of manifest.files) used.add(file.sha256)
  for (const key of await store.list('files')) {
    const name = path.posix.basename(key)
    if (SHA256.test(name) && !used.has(name)) await store.delete(key)
  }
  return manifests
}

// ---------------------------------------------------------------------------
// Making a backup

/**
 * Makes a checkpoint of `db` to read a consistent set of files from, in
 * `<db>.backup-staging/<uuid>/`, on the database's filesystem so that it
 * costs hardlinks, and lists the files to back up (see `stagedFiles`);
 * flushes first with `flushBeforeBackup` (by default only without a WAL).
 * Each staging folder has a lock file beside it, `<uuid>.lock`, held while
 * its backup runs: leftovers of crashed backups (folders whose lock is
 * free) are removed first, and backups running meanwhile in any thread or
 * process are left alone. Resolves with `{ dir, files, release }`.
 */
async function stageCheckpoint(db, options) {
  const root = beside(db.path, 'backupStaging')
  await removeStagingLeftovers(root)
  if (options.flushBeforeBackup ?? db.options.disableWAL === true) await db.flush()
  const dir = path.join(root, crypto.randomUUID())
  const lock = await lockStaging(root, dir)
  // A fresh name's lock is free; null would mean a clash of random UUIDs.
  if (lock === null) throw codedError('ERR_BACKUP_LOCKED', `${dir} is in use`)
  const release = async () => {
    try {
      await fs.promises.rm(dir, { recursive: true, force: true })
      // Removed while held, then released (src/lock.rs tells a lock on a removed file).
      await fs.promises.rm(`${dir}.lock`, { force: true })
    } finally {
      lock.release()
    }
    // Only when empty: another backup may be staging beside it.
    await fs.promises.rmdir(root).catch(() => {})
  }
  try {
    await db.createCheckpoint(dir)
    return { dir, files: await stagedFiles(dir, options), release }
  } catch (error) {
    await release()
    throw error
  }
}

/** Takes the lock of the new staging folder `dir` in `root`, making `root` (again, if a finished backup removed it meanwhile). */
async function lockStaging(root, dir) {
  for (let attempt = 1; ; attempt++) {
    await fs.promises.mkdir(root, { recursive: true })
    try {
      return tryLockFile(`${dir}.lock`, false)
    } catch (error) {
      if (attempt === 3) throw error
    }
  }
}

/** Removes the staging folders of `root` whose backup is no longer running (their lock is free). */
async function removeStagingLeftovers(root) {
  let entries
  try {
    entries = await fs.promises.readdir(root)
  } catch (error) {
    if (error.code === 'ENOENT') return
    throw error
  }
  // `<uuid>`, RocksDB's staging `<uuid>.tmp` while the checkpoint is made,
  // and `<uuid>.lock`, all under the one lock.
  const staged = new Set(entries.map((entry) => entry.replace(/\.(lock|tmp)$/, '')))
  for (const name of staged) {
    const dir = path.join(root, name)
    const lock = tryLockFile(`${dir}.lock`, false)
    if (lock === null) continue // its backup is running
    try {
      await fs.promises.rm(dir, { recursive: true, force: true })
      await fs.promises.rm(`${dir}.tmp`, { recursive: true, force: true })
      await fs.promises.rm(`${dir}.lock`, { force: true })
    } finally {
      lock.release()
    }
  }
}

/**
 * The files of a staged checkpoint to back up, in a fixed order, with their
 * sizes. Read through libuv's pool: a large database has hundreds of files.
 */
async function stagedFiles(dir, { backupLogFiles = true } = {}) {
  const names = (await fs.promises.readdir(dir)).filter((name) => DB_FILE.test(name) && (backupLogFiles || !name.endsWith('.log'))).sort()
  return Promise.all(names.map(async (name) => ({ name, size: (await fs.promises.stat(path.join(dir, name))).size })))
}

function checkBackupOptions(options) {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  for (const name of ['flushBeforeBackup', 'checkDiskSpace', 'sync', 'backupLogFiles', 'gzip', 'shareTableFiles', 'shareFilesWithChecksum']) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalidArgType(`options.${name}`, 'a boolean', options[name])
  }
  if (options.metadata !== undefined && typeof options.metadata !== 'string') throw invalidArgType('options.metadata', 'a string', options.metadata)
  if (options.progress !== undefined && typeof options.progress !== 'function') throw invalidArgType('options.progress', 'a function', options.progress)
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', options.signal)
  if (options.maxBackgroundOperations !== undefined && (!Number.isInteger(options.maxBackgroundOperations) || options.maxBackgroundOperations < 1)) {
    throw invalidArgType('options.maxBackgroundOperations', 'a positive integer', options.maxBackgroundOperations)
  }
  return options
}

/**
 * Backs `db` up into the store at `destination` (see the head of this file).
 * Resolves with the new backup's id.
 */
async function backupToStore(db, destination, options) {
  const store = openStore(destination, options, 'backupDir')
  if (store instanceof DirectoryStore) {
    const relative = path.relative(db.path, store.dir)
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      throw invalidArgValue('backupDir', `must not be the database directory ${db.path} or inside it`)
    }
  }
  const { signal, progress } = options
  checkSignal(signal)
  const lock = await store.lock(false)
  let staged
  try {
    const manifests = await collectGarbage(store)
    // Every write acknowledged before the checkpoint is in it: its sequence
    // number is this one or later. (Reading the checkpoint's own would open
    // it on the event loop.)
    const sequence = db.getLatestSequenceNumber()
    staged = await stageCheckpoint(db, options)
    const { files } = staged
    const bytesTotal = files.reduce((sum, f) => sum + f.size, 0)
    // SST and blob files never change under one name, so a name and size
    // the store has seen are likely stored already; their digest decides,
    // taken before anything is written.
    const known = new Set()
    for (const manifest of manifests) for (const f of manifest.files) if (!/^(CURRENT|MANIFEST|OPTIONS|IDENTITY)/.test(f.name)) known.add(`${f.name}:${f.size}`)
    if (options.checkDiskSpace !== false) {
      const needed = files.filter((f) => !known.has(`${f.name}:${f.size}`)).reduce((sum, f) => sum + f.size, 0)
      const free = await store.freeBytes()
      if (free !== undefined && free < needed) {
        throw codedError('ERR_NO_SPACE', `${store.location} has ${free} bytes free; this backup needs up to ${needed}`, { available: free, required: needed })
      }
    }
    const entries = new Array(files.length)
    let bytesDone = 0
    let bytesCopied = 0
    let filesDone = 0
    const sync = options.sync !== false
    const tell = () => progress?.({ bytesDone, bytesTotal, bytesCopied, filesDone, filesTotal: files.length })
    tell()
    // Files are copied `maxBackgroundOperations` at a time. A copy keeps
    // one core busy (src/backup.rs) and the event loop needs one of its own,
    // so by default: one on two cores, two where there are more (each also
    // holds one of libuv's four threads, which the database's async calls
    // share). The first failure stops the others from starting a file, and
    // is reported once those running have settled.
    let next = 0
    let failure = null
    const copier = async () => {
      while (failure === null && next < files.length) {
        const index = next++
        try {
          checkSignal(signal)
          const { name, size } = files[index]
          const stored = await store.putFile(path.join(staged.dir, name), { sync, likelyStored: known.has(`${name}:${size}`) })
          entries[index] = { name, size: stored.size, sha256: stored.sha256 }
          bytesDone += stored.size
          bytesCopied += stored.copied
          filesDone++
          tell()
        } catch (error) {
          failure ??= error
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(options.maxBackgroundOperations ?? DEFAULT_COPIES, files.length) }, copier))
    if (failure !== null) throw failure
    checkSignal(signal)
    await store.sync()
    const backupId = (manifests.at(-1)?.backupId ?? 0) + 1
    const now = Date.now()
    const manifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      backupId,
      timestamp: Math.floor(now / 1000),
      createdAt: new Date(now).toISOString(),
      sequence,
      appMetadata: options.metadata ?? '',
      bytesCopied,
      files: entries,
    }
    // A lease that ran out (an S3 store) may have let another writer in.
    lock.assertHeld()
    await store.writeJson(manifestKey(backupId), manifest)
    await store.sync()
    return backupId
  } catch (error) {
    // An abort or a failure leaves the store as it was: what this backup
    // copied belongs to no manifest.
    await collectGarbage(store).catch(() => {})
    throw error
  } finally {
    // The store's lock is released whatever removing the staging folder
    // meets. A staging folder left behind fails no backup: the next one
    // removes it (see `removeStagingLeftovers`).
    try {
      await staged?.release().catch(() => {})
    } finally {
      await lock.release()
    }
  }
}

// ---------------------------------------------------------------------------
// Tar streams (POSIX ustar)

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

/** Writes a tar (or, with `gzip`, tar.gz) archive of `db` to `target`: a Node Writable or a WritableStream. */
async function backupToStream(db, target, options) {
  const { signal, progress } = options
  checkSignal(signal)
  const staged = await stageCheckpoint(db, options)
  try {
    const { files } = staged
    const bytesTotal = files.reduce((sum, f) => sum + f.size, 0)
    let bytesDone = 0
    const onBytes = (n) => {
      bytesDone += n
      progress?.({ bytesDone, bytesTotal, filesTotal: files.length })
    }
    const out = isWebWritable(target) ? stream.Writable.fromWeb(target) : target
    const stages = [stream.Readable.from(tarChunks(staged.dir, files, signal, onBytes))]
    if (options.gzip) stages.push(zlib.createGzip())
    stages.push(out)
    await stream.promises.pipeline(...stages)
  } finally {
    await staged.release()
  }
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

// ---------------------------------------------------------------------------
// The `backups` namespace

function checkBackupId(id, argument = 'backupId') {
  if (!Number.isInteger(id) || id < 1) throw invalidArgType(argument, 'a positive integer', id)
  return id
}

function backupNotFound(store, id) {
  return codedError('ERR_BACKUP_NOT_FOUND', `no backup ${id} in ${store.location}`)
}

async function manifestOf(store, id) {
  const manifest = await store.readJson(manifestKey(id))
  if (manifest === undefined) throw backupNotFound(store, id)
  return checkManifest(manifest, `${store.location}/${manifestKey(id)}`)
}

/** Checks the options object of a `backups` call. */
function checkOptions(options) {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', options.signal)
  if (options.progress !== undefined && typeof options.progress !== 'function') throw invalidArgType('options.progress', 'a function', options.progress)
  return options
}

/**
 * The `backups` namespace: every call checks its options and rejects only
 * with coded errors (a system error's errno name becomes a code of this
 * package, see `withCode` of ./errors).
 */
function makeBackups(Database) {
  const calls = backupCalls(Database)
  for (const name of Object.keys(calls)) calls[name] = coding(calls[name])
  return calls
}

function backupCalls(Database) {
  return {
    /** Every backup in `backupDir`, oldest first. */
    async list(backupDir, options) {
      options = checkOptions(options)
      const store = openStore(backupDir, options, 'backupDir')
      return (await readManifests(store)).map(toInfo)
    },

    /**
     * Reads every file of a backup and checks its size and SHA-256 against
     * the manifest, then RocksDB's block checksums inside its SST files.
     * Rejects with `ERR_ROCKSDB_CORRUPTION` and `file` naming the first
     * damaged file.
     */
    async verify(backupDir, backupId, options) {
      options = checkOptions(options)
      checkBackupId(backupId)
      const store = openStore(backupDir, options, 'backupDir')
      // Shared, as a restore's: a purge or delete meanwhile would take files
      // from under it and make it report damage that is not there.
      const lock = await store.lock(true)
      try {
        return await verifyLocked(Database, store, backupId, options)
      } finally {
        await lock.release()
      }
    },

    /**
     * Restores a backup (the latest unless `backupId`) into `dbDir`. A
     * database already there is kept as checkpoint `pre-restore-<time>` and
     * replaced crash-safely; a new path needs nothing. Every byte is checked
     * against the manifest as it is copied.
     */
    async restore(backupDir, dbDir, options) {
      options = checkOptions(options)
      const target = checkPath('dbDir', dbDir)
      const store = openStore(backupDir, options, 'backupDir')
      if (store instanceof DirectoryStore && (target === store.dir || !path.relative(store.dir, target).startsWith('..'))) {
        throw invalidArgValue('dbDir', `must not be the backup directory ${store.dir} or inside it`)
      }
      const lock = await store.lock(true)
      try {
        let id = options.backupId
        if (id === undefined) {
          const manifests = await readManifests(store)
          if (manifests.length === 0) throw codedError('ERR_BACKUP_NOT_FOUND', `no backup in ${store.location}`)
          id = manifests.at(-1).backupId
        }
        const manifest = await manifestOf(store, checkBackupId(id, 'options.backupId'))
        const preRestore = await replaceDatabase(Database, target, (staging) => materialize(store, manifest, staging, options), options.openOptions)
        return { backupId: manifest.backupId, path: target, preRestore }
      } finally {
        await lock.release()
      }
    },

    /**
     * Restores a tar or tar.gz stream made by `db.backup(stream)` (or any
     * tar of a database directory) into `dbDir`, as `restore()` does.
     */
    async restoreStream(readable, dbDir, options) {
      options = checkOptions(options)
      if (readable === null || (typeof readable !== 'object' && typeof readable !== 'function')) throw invalidArgType('readable', 'a readable stream', readable)
      const target = checkPath('dbDir', dbDir)
      const source = typeof readable.getReader === 'function' && typeof readable.pipe !== 'function' ? stream.Readable.fromWeb(readable) : readable
      const preRestore = await replaceDatabase(Database, target, (staging) => untar(source, staging, options.signal), options.openOptions)
      return { path: target, preRestore }
    },

    /** Deletes one backup and the files only it used. */
    async delete(backupDir, backupId, options) {
      options = checkOptions(options)
      checkBackupId(backupId)
      const store = openStore(backupDir, options, 'backupDir')
      const lock = await store.lock(false)
      try {
        await manifestOf(store, backupId)
        await store.delete(manifestKey(backupId))
        await store.sync()
        await collectGarbage(store)
      } finally {
        await lock.release()
      }
    },

    /** Deletes all but the newest `keepCount` backups; resolves with the ids deleted. */
    async purge(backupDir, keepCount, options) {
      options = checkOptions(options)
      if (!Number.isInteger(keepCount) || keepCount < 0) throw invalidArgType('keepCount', 'a non-negative integer', keepCount)
      const store = openStore(backupDir, options, 'backupDir')
      const lock = await store.lock(false)
      try {
        const manifests = await readManifests(store)
        const doomed = manifests.slice(0, Math.max(0, manifests.length - keepCount))
        for (const manifest of doomed) await store.delete(manifestKey(manifest.backupId))
        await store.sync()
        await collectGarbage(store)
        return doomed.map((m) => m.backupId)
      } finally {
        await lock.release()
      }
    },
  }
}

/** `backups.verify` once it holds the store's shared lock. */
async function verifyLocked(Database, store, backupId, options) {
  const manifest = await manifestOf(store, backupId)
  const bytesTotal = toInfo(manifest).size
  const local = store.localFile('') !== undefined
  // A directory store's files are read here and linked below; a remote
  // store's are checked as they are downloaded below, once.
  if (local) {
    let bytes = 0
    for (const file of manifest.files) {
      checkSignal(options.signal)
      await checkedRead(store, manifest, file, (key) => store.hashStored(key))
      bytes += file.size
      options.progress?.({ bytesDone: bytes, bytesTotal })
    }
  }
  // RocksDB's own checksums, on the files as RocksDB sees them: linked
  // into a scratch database beside the store (or downloaded).
  const scratch = path.join(store.localFile('') ?? os.tmpdir(), `.verify-${crypto.randomUUID()}`)
  try {
    await materialize(store, manifest, scratch, { link: true, sync: false, signal: options.signal, progress: local ? undefined : options.progress })
    await verifyDatabase(Database, scratch)
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true })
  }
  return { backupId, files: manifest.files.length, bytes: bytesTotal }
}

/**
 * Reads the stored copy of `file`, one of `manifest`'s, with `read(key)`
 * (which resolves with the digest of what it read) and checks it against
 * the manifest: a missing or changed file is `ERR_ROCKSDB_CORRUPTION`
 * naming it.
 */
async function checkedRead(store, manifest, file, read) {
  const key = `files/${file.sha256}`
  let digest
  try {
    digest = await read(key)
  } catch (error) {
    if (error.code === 'ERR_IO' && /no such file/i.test(error.message)) {
      throw corrupt(`${file.name} of backup ${manifest.backupId} is missing from ${store.location}`, file.name)
    }
    throw error
  }
  if (digest.size !== file.size || digest.sha256 !== file.sha256) {
    throw corrupt(
      `${file.name} of backup ${manifest.backupId} is damaged in ${store.location}: its stored bytes (${key}) do not match the digest taken when it was written`,
      file.name,
    )
  }
}

/**
 * Writes the files of `manifest` into the new directory `dir`, checking
 * each against its digest, and syncs them with one sync of the filesystem
 * once all are written (the disk writes one while the next is copied);
 * `sync: false` for a scratch copy. With `link`, a directory store's files
 * are hardlinked instead (they are only read).
 */
async function materialize(store, manifest, dir, { link = false, sync = true, signal, progress } = {}) {
  await fs.promises.mkdir(dir, { recursive: true })
  const bytesTotal = manifest.files.reduce((sum, f) => sum + f.size, 0)
  let bytesDone = 0
  const written = []
  for (const file of manifest.files) {
    checkSignal(signal)
    const key = `files/${file.sha256}`
    const target = path.join(dir, file.name)
    const local = link ? store.localFile(key) : undefined
    if (local) {
      await fs.promises.link(local, target)
    } else {
      await checkedRead(store, manifest, file, (stored) => store.getFile(stored, target))
      written.push(target)
    }
    bytesDone += file.size
    progress?.({ bytesDone, bytesTotal })
  }
  if (!sync) return
  if (written.length > 0) await syncFilesystem(dir)
  await syncDirectory(dir)
}

/**
 * `db.backup(destination, options)`: to a directory or an s3:// URL (an
 * incremental backup; resolves with its id), or to a writable stream (a tar
 * archive; resolves when it is written).
 */
async function backup(db, destination, options) {
  options = checkBackupOptions(options)
  if (isWritable(destination) || isWebWritable(destination)) return backupToStream(db, destination, options)
  return backupToStore(db, destination, options)
}

module.exports = { backup: coding(backup), makeBackups, openStore, FORMAT_VERSION }
