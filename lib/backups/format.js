'use strict'

/**
 * The format of a backup store: the names of the files it may hold, and its
 * manifests (`backups/<id>.json`), read, checked and listed here, with the
 * garbage collection of the files no manifest lists.
 */

const path = require('node:path')
const { corrupt } = require('./shared')

const FORMAT = 'rocksdb-branch-backup'

const FORMAT_VERSION = 1

const SHA256 = /^[0-9a-f]{64}$/

// Names a manifest may list: RocksDB's own files, never a path.
const DB_FILE = /^(CURRENT|IDENTITY|MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob))$/

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

module.exports = { FORMAT, FORMAT_VERSION, SHA256, DB_FILE, NOT_DATA, VERIFY_SCRATCH, manifestKey, checkManifest, readManifests, toInfo, collectGarbage }
