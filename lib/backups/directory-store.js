'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { copyFileHashed, hashFile, startFileWriteback, syncFilesystem, tryLockFile } = require('../binding')
const { codedError } = require('../registry')
const { exists, syncDirectory, corrupt } = require('./shared')
const { LOCK_FILE, storeLocked } = require('./lock')
const { VERIFY_SCRATCH } = require('./format')

/** A backup store in a local directory. */
class DirectoryStore {
  // The writebacks started of the files stored since the last sync(),
  // whose bytes may not be on disk yet.
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
   * digest (by `algorithm`) in one pass (src/backup.rs). Resolves with
   * `{ size, digest, copied }`; `copied` is the bytes added to the store.
   * With `sync`, the kernel is asked on another thread of the pool to start
   * writing the copy, and `sync()` waits for it, so the disk writes one file
   * while the next is copied. With `likelyStored` (an
   * earlier backup had a file of that name and size), the digest is taken
   * first and the file copied only when the store lacks it.
   */
  async putFile(source, { algorithm, sync, likelyStored = false }) {
    if (likelyStored) {
      // Read and hashed only: an unchanged file is not written again.
      const digest = await hashFile(source, algorithm)
      if (await exists(this.#path(`files/${digest.digest}`))) return { ...digest, copied: 0 }
    }
    const files = this.#path('files')
    await fs.promises.mkdir(files, { recursive: true })
    const temp = path.join(files, `.tmp-${crypto.randomUUID()}`)
    const digest = await copyFileHashed(source, temp, algorithm)
    const target = path.join(files, digest.digest)
    if (await exists(target)) {
      await fs.promises.rm(temp, { force: true })
      return { ...digest, copied: 0 }
    }
    await fs.promises.rename(temp, target)
    // Not awaited: the next copy starts meanwhile. A failure is no error of
    // the backup (the sync below writes what the hint did not).
    if (sync) this.#unsynced.push(startFileWriteback(target).catch(() => {}))
    return { ...digest, copied: digest.size }
  }

  /** The size and digest (by `algorithm`) of a stored file, read whole. */
  async hashStored(key, algorithm) {
    return hashFile(this.#path(key), algorithm)
  }

  /**
   * Copies a stored file to `target`, resolving with the digest of the bytes
   * copied; the caller syncs it.
   */
  async getFile(key, target, algorithm) {
    return copyFileHashed(this.#path(key), target, algorithm)
  }

  /**
   * Waits until the files `putFile` stored, and the directories naming
   * them, are on disk: one sync of the store's filesystem for all of them
   * (an fsync of each would flush the disk's cache once per file).
   */
  async sync() {
    const writebacks = this.#unsynced.splice(0)
    if (writebacks.length > 0) {
      await Promise.all(writebacks)
      await syncFilesystem(this.dir)
    }
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

module.exports = { DirectoryStore }
