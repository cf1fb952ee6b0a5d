'use strict'

/**
 * The registry files that managed checkpoints (./checkpoints) and branches
 * (./branches) keep beside a database: a JSON list of records, changed only
 * by whoever holds its lock, written so that a crash leaves the old or the
 * new list, never a mix.
 *
 * Layout of a registry directory:
 *
 *   registry.json      { version, <list>: [records] }
 *   registry.lock      locked by whoever changes the registry
 *   ...                the directories the records name
 *
 * A record carries `state` while work on its directory is in progress
 * ("creating", "deleting", or a state of the registry's own); a crash leaves
 * it marked, and the next holder of the lock finishes or undoes that work.
 * Only directories a record names are ever removed.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')
const { tryLockFile, isDatabaseClosing } = require('./binding')
const { invalidArgType, invalidArgValue } = require('./errors')

const REGISTRY_FILE = 'registry.json'
const LOCK_FILE = 'registry.lock'
// The state of a record written before its directory is made.
const CREATING = 'creating'
// The state of a record whose directory is being removed.
const DELETING = 'deleting'
// Names of checkpoints and branches: safe as one path component everywhere,
// never '.' or '..', and never the dot-names a registry stages work under.
const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The suffixes of the paths this package keeps beside a database `<path>`
 * for its own work, all in one list: a branch (a database in the branches
 * directory, beside its siblings) may not be named with one, or a sibling's
 * work would take its directory.
 */
const BESIDE = Object.freeze({
  // Named checkpoints and branches (the default `checkpointsPath` and `branchesPath`).
  checkpoints: '.checkpoints',
  branches: '.branches',
  // RocksDB's checkpoint of `<path>` is staged in `<path>.tmp`.
  checkpointStaging: '.tmp',
  // A backup's checkpoints, one folder and lock file per backup.
  backupStaging: '.backup-staging',
  // A restore: its lock, the new state being written, the new state whole,
  // and the old state while the two are swapped.
  restoreLock: '.restore.lock',
  restoreStaging: '.restore-staging',
  restoreReady: '.restore-ready',
  restoreReplaced: '.restore-replaced',
})

/** The path this package keeps beside the database at `dbPath` for `kind` of work (see `BESIDE`). */
function beside(dbPath, kind) {
  return `${dbPath}${BESIDE[kind]}`
}

/**
 * Resolves once the database at `dbPath` is no longer closing: RocksDB has
 * released it and its LOCK file, or another handle has it open. Polled, so
 * no thread of libuv's pool waits on it.
 */
async function released(dbPath) {
  for (let pause = 1; isDatabaseClosing(dbPath); pause = Math.min(pause * 2, 20)) await sleep(pause)
}

function codedError(code, message, extra) {
  const error = new Error(message)
  error.code = code
  return Object.assign(error, extra)
}

/** Checks the name of a checkpoint or branch. */
function checkName(name, argument = 'name') {
  if (typeof name !== 'string') throw invalidArgType(argument, 'of type string', name)
  if (!NAME_PATTERN.test(name)) {
    throw invalidArgValue(
      argument,
      `must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'. Received ${JSON.stringify(name)}`,
    )
  }
  return name
}

/** A JSON copy of record metadata, or a TypeError naming it. */
function copyMetadata(metadata) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalidArgType('options.metadata', 'a JSON object', metadata)
  }
  try {
    return JSON.parse(JSON.stringify(metadata))
  } catch (error) {
    // A BigInt, a cycle, or a toJSON that throws.
    throw invalidArgValue('options.metadata', `must be serializable as JSON: ${error?.message ?? error}`)
  }
}

/** Writes `file` so that a crash leaves the old or the new content, never a mix. */
function writeFileAtomic(file, text) {
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
  const fd = fs.openSync(temp, 'w')
  try {
    fs.writeSync(fd, text)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(temp, file)
  fsyncDirectory(path.dirname(file))
}

/** Makes renames and removals in `dir` durable; Windows cannot open directories. */
function fsyncDirectory(dir) {
  if (process.platform === 'win32') return
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Size, file count and link state of a database directory's files.
 * `exclusiveBytes` counts the files no other directory links to: what
 * deleting it frees.
 */
function measure(dir) {
  let sizeBytes = 0
  let fileCount = 0
  let exclusiveBytes = 0
  let linkedSst = 0
  let copiedSst = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue
    const stat = fs.statSync(path.join(dir, entry.name))
    sizeBytes += stat.size
    fileCount++
    if (stat.nlink <= 1) exclusiveBytes += stat.size
    if (entry.name.endsWith('.sst')) {
      if (stat.nlink > 1) linkedSst++
      else copiedSst++
    }
  }
  const linkMode = linkedSst === 0 && copiedSst === 0 ? 'none' : copiedSst === 0 ? 'hardlink' : linkedSst === 0 ? 'copy' : 'mixed'
  return { sizeBytes, fileCount, exclusiveBytes, linkMode }
}

// One queue per registry directory, so that calls of this thread wait their
// turn here instead of polling the file lock against each other.
const queues = new Map()
function queued(dir, work) {
  const previous = queues.get(dir) ?? Promise.resolve()
  const next = previous.then(work, work)
  const settled = next.then(
    () => {},
    () => {},
  )
  queues.set(dir, settled)
  settled.then(() => {
    if (queues.get(dir) === settled) queues.delete(dir)
  })
  return next
}

/**
 * One registry file: reading and checking its records, writing them, and
 * its lock.
 */
class RegistryFile {
  /**
   * @param {string} dir the registry directory
   * @param {{ list: string, version: number, corruptCode: string, states: string[] }} kind
   *   the key of the record list, the format version, the code of a damaged
   *   registry, and the states a record may be in besides complete
   */
  // The records last read, and the identity of the file they were read
  // from: see readCached().
  #cache = null

  constructor(dir, kind) {
    this.dir = dir
    this.file = path.join(dir, REGISTRY_FILE)
    this.kind = kind
  }

  #corrupt(message) {
    return codedError(this.kind.corruptCode, `${this.file} ${message}`)
  }

  /**
   * Whether the registry directory exists: then it may hold leftovers to
   * settle, even without a registry file (a crash during the first write
   * leaves only its temporary copy).
   */
  exists() {
    return fs.existsSync(this.dir)
  }

  /**
   * Every record, complete or not, oldest first. A missing registry is an
   * empty one. Records are checked, so that no name or id from disk can
   * name a path outside the directory.
   */
  readAll() {
    let text
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (error) {
      if (error.code === 'ENOENT') return []
      throw error
    }
    let registry
    try {
      registry = JSON.parse(text)
    } catch (error) {
      throw this.#corrupt(`is not valid JSON: ${error.message}`)
    }
    const records = registry?.[this.kind.list]
    if (registry?.version !== this.kind.version || !Array.isArray(records)) {
      throw this.#corrupt(`has version ${registry?.version}; this package reads version ${this.kind.version}`)
    }
    for (const record of records) {
      if (typeof record?.id !== 'string' || !UUID_PATTERN.test(record.id) || typeof record.name !== 'string' || !NAME_PATTERN.test(record.name)) {
        throw this.#corrupt(`holds a record with an invalid id or name: ${JSON.stringify(record)?.slice(0, 200)}`)
      }
      if (record.state !== undefined && !this.kind.states.includes(record.state)) {
        // Finishing work of a state this version does not know could delete good data.
        throw this.#corrupt(`holds a record in an unknown state: ${JSON.stringify(record.state)?.slice(0, 50)}`)
      }
    }
    return records
  }

  /** The complete records (no work in progress), oldest first. */
  read() {
    return this.readAll().filter((record) => record.state === undefined)
  }

  /**
   * Every record, as `readAll()`, but parsed again only when the file
   * changed: every write replaces it by a rename, which gives it a new
   * inode. For reading only: the records are shared between calls and must
   * not be changed.
   */
  readCached() {
    let stat
    try {
      stat = fs.statSync(this.file, { bigint: true })
    } catch (error) {
      if (error.code === 'ENOENT') return []
      throw error
    }
    const identity = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`
    if (this.#cache?.identity !== identity) this.#cache = { identity, records: Object.freeze(this.readAll()) }
    return this.#cache.records
  }

  /** Replaces the records, atomically. */
  write(records) {
    fs.mkdirSync(this.dir, { recursive: true })
    writeFileAtomic(this.file, JSON.stringify({ version: this.kind.version, [this.kind.list]: records }, null, 2) + '\n')
  }

  /** Removes temporary copies of the registry that a crash left. Needs the lock. */
  removeTemporaryFiles() {
    for (const entry of fs.readdirSync(this.dir)) {
      if (entry.startsWith(`${REGISTRY_FILE}.`) && entry.endsWith('.tmp')) fs.rmSync(path.join(this.dir, entry), { force: true })
    }
  }

  /**
   * Runs `work` holding the registry's file lock, which excludes every other
   * thread and process (the command line included) that changes the same
   * registry. The lock is polled rather than waited for on a worker thread:
   * waiters must never fill libuv's pool, which the holder needs to finish.
   */
  locked(work) {
    return queued(this.dir, async () => {
      fs.mkdirSync(this.dir, { recursive: true })
      const file = path.join(this.dir, LOCK_FILE)
      let lock = tryLockFile(file)
      for (let pause = 1; lock === null; pause = Math.min(pause * 2, 50)) {
        await sleep(pause)
        lock = tryLockFile(file)
      }
      try {
        return await work()
      } finally {
        lock.release()
      }
    })
  }

  /**
   * Runs `work` holding the lock when nobody else holds it, on the calling
   * thread; returns `fallback` without running it otherwise.
   */
  lockedIfFree(work, fallback) {
    const lock = tryLockFile(path.join(this.dir, LOCK_FILE))
    if (lock === null) return fallback
    try {
      return work()
    } finally {
      lock.release()
    }
  }
}

module.exports = {
  BESIDE,
  beside,
  released,
  RegistryFile,
  CREATING,
  DELETING,
  NAME_PATTERN,
  codedError,
  checkName,
  copyMetadata,
  writeFileAtomic,
  fsyncDirectory,
  measure,
}
