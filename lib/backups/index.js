'use strict'

/**
 * Backups: copies of a database that survive losing its disk, kept in a
 * directory or in S3-compatible object storage, incremental, and checked
 * byte for byte.
 *
 * A backup store (a directory, or `s3://bucket/prefix`) holds:
 *
 *   files/<digest>       each distinct file content, once (SST files that
 *                        did not change are shared by every backup)
 *   backups/<id>.json    one backup: its id, time, sequence, metadata and
 *                        the name, size and digest of each of its files
 *   .backup.lock         held by writers exclusively and by restores
 *                        shared, across processes: a locked file in a
 *                        directory, an object with leased holders in S3
 *
 * A backup first makes a checkpoint (hardlinks, so a consistent set of files
 * at once), copies into `files/` what the store does not hold yet, taking
 * each file's digest as it copies (from the checkpoint's file, which
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
const { startFileWriteback, syncFilesystem } = require('../binding')
const { invalidArgType, invalidArgValue, checkPath, coding } = require('../errors')
const { codedError } = require('../registry')
const { replaceDatabase, verifyDatabase } = require('../checkpoints')
const { checkSignal, corrupt, syncDirectory, eachAtATime } = require('./shared')
const { FORMAT, FORMAT_VERSION, NEW_STORE_DIGEST, VERSION_OF_DIGEST, digestAlgorithm, digestOf, manifestKey, checkManifest, readManifests, toInfo, collectGarbage, filesOf } = require('./format')
const { validateTransactionLogStore } = require('../transaction-log-validate')
const { DirectoryStore } = require('./directory-store')
const { S3Store } = require('./s3-store')
const { stageCheckpoint } = require('./staging')
const { tarChunks, isWritable, isWebWritable, untar } = require('./tar')

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

/** Files a backup copies at a time by default: all cores but the event loop's, at most two. */
const DEFAULT_COPIES = Math.min(2, Math.max(1, os.availableParallelism() - 1))

/** Checks the options of `db.backup()`: those of every `backups` call, and its own. */
function checkBackupOptions(options) {
  options = checkOptions(options)
  for (const name of ['flushBeforeBackup', 'checkDiskSpace', 'sync', 'backupLogFiles', 'gzip', 'shareTableFiles', 'shareFilesWithChecksum', 'transactionLogs']) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalidArgType(`options.${name}`, 'a boolean', options[name])
  }
  if (options.metadata !== undefined && typeof options.metadata !== 'string') throw invalidArgType('options.metadata', 'a string', options.metadata)
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
    // A store keeps the digest it was made with, so that its files stay
    // shared between backups: BLAKE3 for a new one, SHA-256 for a store an
    // earlier version made.
    const algorithm = manifests.length === 0 ? NEW_STORE_DIGEST : digestAlgorithm(manifests.at(-1))
    // Every write acknowledged before the checkpoint is in it: its sequence
    // number is this one or later. (Reading the checkpoint's own would open
    // it on the event loop.)
    const sequence = db.getLatestSequenceNumber()
    staged = await stageCheckpoint(db, options)
    // The transaction logs' files go with the database's, named under
    // `transaction_logs/` of the staging folder.
    const logs = staged.logs.map((f) => ({ ...f, source: path.join('transaction_logs', f.name), log: true }))
    const files = [...staged.files, ...logs]
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
    // share).
    await eachAtATime(files, options.maxBackgroundOperations ?? DEFAULT_COPIES, async ({ name, size, source }, index) => {
      checkSignal(signal)
      const stored = await store.putFile(path.join(staged.dir, source ?? name), { algorithm, sync, likelyStored: known.has(`${name}:${size}`) })
      entries[index] = { name, size: stored.size, [algorithm]: stored.digest }
      // A log file's last write, which decides when purgeLogs() deletes it.
      if (files[index].mtimeMs !== undefined) entries[index].mtimeMs = files[index].mtimeMs
      bytesDone += stored.size
      bytesCopied += stored.copied
      filesDone++
      tell()
    })
    checkSignal(signal)
    await store.sync()
    const backupId = (manifests.at(-1)?.backupId ?? 0) + 1
    const now = Date.now()
    const manifest = {
      format: FORMAT,
      version: VERSION_OF_DIGEST[algorithm],
      backupId,
      timestamp: Math.floor(now / 1000),
      createdAt: new Date(now).toISOString(),
      sequence,
      appMetadata: options.metadata ?? '',
      bytesCopied,
      files: entries.filter((entry, index) => !files[index].log),
    }
    if (options.transactionLogs === true) manifest.transactionLogs = entries.filter((entry, index) => files[index].log)
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

/** Writes a tar (or, with `gzip`, tar.gz) archive of `db` to `target`: a Node Writable or a WritableStream. */
async function backupToStream(db, target, options) {
  const { signal, progress } = options
  checkSignal(signal)
  const staged = await stageCheckpoint(db, options)
  try {
    // With `transactionLogs`, the logs go under `transaction_logs/` of the
    // archive, each file with its last write as its time.
    const logs = staged.logs.map((f) => ({ ...f, name: `transaction_logs/${f.name}` }))
    const files = [...staged.files, ...logs]
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

/**
 * Runs `work()` holding the store's lock (shared for readers, exclusive
 * for writers); it is released whatever `work` meets.
 */
async function locked(store, shared, work) {
  const lock = await store.lock(shared)
  try {
    return await work()
  } finally {
    await lock.release()
  }
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
     * Reads every file of a backup and checks its size and digest against
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
      return locked(store, true, () => verifyLocked(Database, store, backupId, options))
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
      return locked(store, true, async () => {
        let id = options.backupId
        if (id === undefined) {
          const manifests = await readManifests(store)
          if (manifests.length === 0) throw codedError('ERR_BACKUP_NOT_FOUND', `no backup in ${store.location}`)
          id = manifests.at(-1).backupId
        }
        const manifest = await manifestOf(store, checkBackupId(id, 'options.backupId'))
        const preRestore = await replaceDatabase(Database, target, (staging) => materialize(store, manifest, staging, options), options.openOptions)
        return { backupId: manifest.backupId, path: target, preRestore }
      })
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
      return locked(store, false, async () => {
        await manifestOf(store, backupId)
        await store.delete(manifestKey(backupId))
        await store.sync()
        await collectGarbage(store)
      })
    },

    /** Deletes all but the newest `keepCount` backups; resolves with the ids deleted. */
    async purge(backupDir, keepCount, options) {
      options = checkOptions(options)
      if (!Number.isInteger(keepCount) || keepCount < 0) throw invalidArgType('keepCount', 'a non-negative integer', keepCount)
      const store = openStore(backupDir, options, 'backupDir')
      return locked(store, false, async () => {
        const manifests = await readManifests(store)
        const doomed = manifests.slice(0, Math.max(0, manifests.length - keepCount))
        for (const manifest of doomed) await store.delete(manifestKey(manifest.backupId))
        await store.sync()
        await collectGarbage(store)
        return doomed.map((m) => m.backupId)
      })
    },
  }
}

/** `backups.verify` once it holds the store's shared lock. */
async function verifyLocked(Database, store, backupId, options) {
  const manifest = await manifestOf(store, backupId)
  const bytesTotal = toInfo(manifest).size
  const local = store.localFile('') !== undefined
  // RocksDB's own checksums are checked on the files as RocksDB sees them:
  // linked into a scratch database beside a directory store, downloaded
  // (and checked against their digests as they land) from a remote one.
  const scratch = path.join(store.localFile('') ?? os.tmpdir(), `.verify-${crypto.randomUUID()}`)
  const checkBlocks = async () => {
    await materialize(store, manifest, scratch, { link: local, sync: false, signal: options.signal, progress: local ? undefined : options.progress })
    await verifyDatabase(Database, scratch)
    if (manifest.transactionLogs !== undefined && options.verifyTransactionLogs !== false) await verifyLogs(manifest, scratch)
  }
  try {
    if (!local) {
      await checkBlocks()
    } else {
      // The digests of a directory store's files are taken beside RocksDB's
      // check, each on a thread of the pool: both read the same files, and
      // on two cores they take the time of one. A damaged file fails both;
      // the digests' report names it as the manifest does, so it wins.
      const [digests, blocks] = await Promise.allSettled([checkDigests(store, manifest, bytesTotal, options), checkBlocks()])
      if (digests.status === 'rejected') throw digests.reason
      if (blocks.status === 'rejected') throw blocks.reason
    }
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true })
  }
  return { backupId, files: manifest.files.length, bytes: bytesTotal }
}

/**
 * Checks the transaction logs of a backup, materialized in `dir`, strictly
 * (a copy ends on whole entries, with no gap): a failure is
 * ERR_ROCKSDB_CORRUPTION naming the log and what is wrong.
 */
async function verifyLogs(manifest, dir) {
  const names = new Set(manifest.transactionLogs.map((file) => file.name.split('/')[0]))
  const failures = []
  for (const name of names) {
    const report = await validateTransactionLogStore(path.join(dir, 'transaction_logs', name), { strict: true })
    if (!report.valid) failures.push(`${name}: ${[...report.errors, ...report.files.flatMap((file) => file.errors.map((error) => `${file.file}: ${error}`))].join('; ')}`)
  }
  if (failures.length > 0) throw corrupt(`backup ${manifest.backupId}: transaction log verification failed: ${failures.join(' | ')}`, failures[0].split(':')[0])
}

// Files whose digests verify takes at a time: with RocksDB's block check
// beside them, three threads of the pool on two cores, the work of both
// checks spread over the cores (measured on 1 GB: digests one at a time
// 0.65 s, two at a time 0.42 s, RocksDB's check 0.29 s).
const VERIFY_DIGESTS_AT_A_TIME = Math.min(2, os.availableParallelism())

/** Reads every file of `manifest` in a directory store and checks it against its digest. */
async function checkDigests(store, manifest, bytesTotal, options) {
  let bytes = 0
  await eachAtATime(filesOf(manifest), VERIFY_DIGESTS_AT_A_TIME, async (file) => {
    checkSignal(options.signal)
    await checkedRead(store, manifest, file, (key) => store.hashStored(key, digestAlgorithm(manifest)))
    bytes += file.size
    options.progress?.({ bytesDone: bytes, bytesTotal })
  })
}

/**
 * Reads the stored copy of `file`, one of `manifest`'s, with `read(key)`
 * (which resolves with the digest of what it read) and checks it against
 * the manifest: a missing or changed file is `ERR_ROCKSDB_CORRUPTION`
 * naming it.
 */
async function checkedRead(store, manifest, file, read) {
  const expected = digestOf(manifest, file)
  const key = `files/${expected}`
  let digest
  try {
    digest = await read(key)
  } catch (error) {
    if (error.code === 'ERR_IO' && /no such file/i.test(error.message)) {
      throw corrupt(`${file.name} of backup ${manifest.backupId} is missing from ${store.location}`, file.name)
    }
    throw error
  }
  if (digest.size !== file.size || digest.digest !== expected) {
    throw corrupt(
      `${file.name} of backup ${manifest.backupId} is damaged in ${store.location}: its stored bytes (${key}) do not match the digest taken when it was written`,
      file.name,
    )
  }
}

/**
 * Writes the files of `manifest` into the new directory `dir`, checking
 * each against its digest, and syncs them with one sync of the filesystem
 * once all are written: each file's writeback is started on another thread
 * of the pool as the next is copied, as a backup does; `sync: false` for a
 * scratch copy. With `link`, a directory store's files are hardlinked
 * instead (they are only read).
 */
async function materialize(store, manifest, dir, { link = false, sync = true, signal, progress } = {}) {
  await fs.promises.mkdir(dir, { recursive: true })
  const files = filesOf(manifest)
  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0)
  let bytesDone = 0
  // A hint each: the sync below writes what one did not.
  const writebacks = []
  for (const file of files) {
    checkSignal(signal)
    const key = `files/${digestOf(manifest, file)}`
    // A transaction log's file goes under `transaction_logs/<log>/`.
    const isLog = manifest.transactionLogs?.includes(file) === true
    const target = isLog ? path.join(dir, 'transaction_logs', file.name) : path.join(dir, file.name)
    if (isLog) await fs.promises.mkdir(path.dirname(target), { recursive: true })
    const local = link ? store.localFile(key) : undefined
    if (local) {
      await fs.promises.link(local, target)
    } else {
      await checkedRead(store, manifest, file, (stored) => store.getFile(stored, target, digestAlgorithm(manifest)))
      if (sync) writebacks.push(startFileWriteback(target).catch(() => {}))
      // A log file gets its last write back (a linked file is the store's
      // own, left as it is).
      if (isLog && file.mtimeMs !== undefined) await fs.promises.utimes(target, new Date(file.mtimeMs), new Date(file.mtimeMs))
    }
    bytesDone += file.size
    progress?.({ bytesDone, bytesTotal })
  }
  if (!sync) return
  if (writebacks.length > 0) {
    await Promise.all(writebacks)
    await syncFilesystem(dir)
  }
  await syncDirectory(dir)
}

/**
 * `db.backup(destination, options)`: to a directory or an s3:// URL (an
 * incremental backup; resolves with its id), or to a writable stream (a tar
 * archive; resolves when it is written).
 */
async function backup(db, destination, options) {
  options = checkBackupOptions(options)
  if (isWritable(destination) || isWebWritable(destination)) {
    return backupToStream(db, destination, options)
  }
  return backupToStore(db, destination, options)
}

module.exports = { backup: coding(backup), makeBackups, openStore, FORMAT_VERSION }
