'use strict'

/**
 * The format of a backup store: the names of the files it may hold, and its
 * manifests (`backups/<id>.json`), read, checked and listed here, with the
 * garbage collection of the files no manifest lists.
 */

const path = require('node:path')
const { corrupt } = require('./shared')

const FORMAT = 'rocksdb-branch-backup'

// The version of the manifests of new stores. Version 1 names each file's
// SHA-256 (`sha256`), version 2 its BLAKE3 (`blake3`); both are read.
const FORMAT_VERSION = 2
const DIGEST_OF_VERSION = Object.freeze({ 1: 'sha256', 2: 'blake3' })
const VERSION_OF_DIGEST = Object.freeze({ sha256: 1, blake3: 2 })
// The digest of the files of a store made now.
const NEW_STORE_DIGEST = 'blake3'

// A stored file's name: its digest, 64 hex digits (SHA-256 and BLAKE3 alike).
const DIGEST = /^[0-9a-f]{64}$/

// Names a manifest may list: RocksDB's own files, never a path.
const DB_FILE = /^(CURRENT|IDENTITY|MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob))$/

// Names of the transaction log files a manifest may list (`transactionLogs`):
// `<log name>/<sequence>.txnlog` or `<log name>/txn.state`, kept under the
// database's `transaction_logs/`.
const LOG_FILE = /^[^/\\\0]+\/(\d+\.txnlog|txn\.state)$/

// Files of a live database's directory that are no part of its data: the
// lock RocksDB holds while it is open and its info logs. A tar of a
// database's directory has them; a restore leaves them out.
const NOT_DATA = /^(LOCK|LOG|LOG\.old\.\d+)$/

// Scratch copies of `backups.verify`, in a directory store.
const VERIFY_SCRATCH = /^\.verify-[0-9a-f-]{36}$/

const manifestKey = (id) => `backups/${id}.json`

/** Checks a manifest read from a store; throws ERR_ROCKSDB_CORRUPTION naming it otherwise. */
function checkManifest(manifest, where) {
  const files = manifest?.files
  const valid =
    manifest?.format === FORMAT &&
    Number.isInteger(manifest.backupId) &&
    manifest.backupId > 0 &&
    Array.isArray(files)
  if (!valid) throw corrupt(`${where} is not a backup manifest this package can read`, where)
  const algorithm = DIGEST_OF_VERSION[manifest.version]
  if (algorithm === undefined) {
    throw corrupt(`${where} has format version ${manifest.version}; this package reads versions 1 and 2`, where)
  }
  if (!files.every((f) => typeof f?.name === 'string' && DB_FILE.test(f.name) && DIGEST.test(f[algorithm]) && Number.isSafeInteger(f.size))) {
    throw corrupt(`${where} is not a backup manifest this package can read: a file without a name, size or ${algorithm} digest`, where)
  }
  const names = new Set(files.map((f) => f.name))
  if (names.size !== files.length) throw corrupt(`${where} lists one file twice`, where)
  const logs = manifest.transactionLogs
  if (logs !== undefined) {
    const validLogs =
      Array.isArray(logs) &&
      logs.every(
        (f) =>
          typeof f?.name === 'string' &&
          LOG_FILE.test(f.name) &&
          !/^\.\.?\//.test(f.name) &&
          DIGEST.test(f[algorithm]) &&
          Number.isSafeInteger(f.size) &&
          (f.mtimeMs === undefined || Number.isFinite(f.mtimeMs)),
      )
    if (!validLogs) throw corrupt(`${where} is not a backup manifest this package can read: a transaction log file without a name, size or ${algorithm} digest`, where)
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
  for (const manifest of manifests) for (const file of filesOf(manifest)) used.add(digestOf(manifest, file))
  for (const key of await store.list('files')) {
    const name = path.posix.basename(key)
    if (DIGEST.test(name) && !used.has(name)) await store.delete(key)
  }
  return manifests
}

/** Every file a checked manifest lists: the database's, then its transaction logs'. */
function filesOf(manifest) {
  return manifest.transactionLogs === undefined ? manifest.files : [...manifest.files, ...manifest.transactionLogs]
}

/** The digest algorithm of a checked manifest's files: `'sha256'` or `'blake3'`. */
function digestAlgorithm(manifest) {
  return DIGEST_OF_VERSION[manifest.version]
}

/** The digest of `file`, one of a checked manifest's, which names it in the store. */
function digestOf(manifest, file) {
  return file[digestAlgorithm(manifest)]
}

module.exports = { filesOf, LOG_FILE, FORMAT, FORMAT_VERSION, NEW_STORE_DIGEST, VERSION_OF_DIGEST, digestAlgorithm, digestOf, DB_FILE, NOT_DATA, VERIFY_SCRATCH, manifestKey, checkManifest, readManifests, toInfo, collectGarbage }
