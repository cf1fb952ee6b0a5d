'use strict'

// The verification table: a reader's cached version is answered fresh only
// while it is the latest, across threads; writes, clears, drops and
// reopens move it; snapshots that could see an older value keep reads from
// recording theirs. And coordinatedRetry's RETRY_NOW_VALUE. Serial: a clear
// or a drop moves every slot of the process's one table.

const test = require('ava')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { RocksDatabase, Transaction, constants } = require('..')
const { scratch } = require('./helpers')

const { FRESH_VERSION_FLAG, VERSION_NOT_UNIQUE_FLAG, RETRY_NOW_VALUE } = constants

/** A stored value with `version` first (a big-endian float64), and flags in a tagged word when given. */
function versioned(version, flags) {
  const value = Buffer.alloc(16)
  value.writeDoubleBE(version, 0)
  if (flags !== undefined) value.writeUInt32BE(((0x0e << 24) >>> 0) | flags, 8)
  return value
}

const raw = { encoding: false, verificationTable: true }

test.serial('populateVersion and verifyVersion: per key, per database, 0 is no version, arguments checked', (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  const other = s.open('other', raw)
  t.false(db.verifyVersion('k', 1.5e12), 'nothing recorded yet')
  db.populateVersion('k', 1.5e12)
  t.true(db.verifyVersion('k', 1.5e12))
  t.false(db.verifyVersion('k', 1.6e12))
  t.false(db.verifyVersion('j', 1.5e12), 'another key')
  t.false(other.verifyVersion('k', 1.5e12), 'another database')
  db.populateVersion('k', 0)
  t.false(db.verifyVersion('k', 0), '0 is never a version')
  t.throws(() => db.verifyVersion('k', 'x'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE', message: /"version"/ })
  t.throws(() => db.getSync('k', { expectedVersion: 'x' }), { instanceOf: TypeError, message: /expectedVersion/ })
  db.close()
  t.throws(() => db.verifyVersion('k', 1.5e12), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.populateVersion('k', 1.5e12), { code: 'ERR_DATABASE_CLOSED' })
  t.throws(() => db.getSync('k', { expectedVersion: 1.5e12 }), { code: 'ERR_DATABASE_CLOSED' })
})

test.serial('expectedVersion: FRESH_VERSION_FLAG from the table without a read, or from the value read, which records it', async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  await db.put('k', versioned(1.7e12))
  t.false(db.verifyVersion('k', 1.7e12))
  t.deepEqual(db.getSync('k', { expectedVersion: 9e12 }), versioned(1.7e12), 'another version: the value')
  t.true(db.verifyVersion('k', 1.7e12), 'the read recorded the version it read')
  t.is(db.getSync('k', { expectedVersion: 1.7e12 }), FRESH_VERSION_FLAG)
  const pending = db.getBinary('k', { expectedVersion: 1.7e12 })
  t.true(pending instanceof Promise)
  t.is(await pending, FRESH_VERSION_FLAG)

  // Without a table slot, the read's own version answers: a fresh handle's
  // family has its own slots.
  const family = s.open('db', { ...raw, name: 'cold' })
  await family.put('c', versioned(2e12))
  t.is(await family.get('c', { expectedVersion: 2e12 }), FRESH_VERSION_FLAG)
  t.true(family.verifyVersion('c', 2e12))
  t.is(family.getSync('missing', { expectedVersion: 2e12 }), undefined)

  // A family without the option is not moved by its writes: the table then
  // answers for what was recorded, without reading (no read is made).
  const untracked = s.open('db', { encoding: false, name: 'untracked' })
  untracked.populateVersion('u', 3e12)
  t.is(untracked.getSync('u', { expectedVersion: 3e12 }), FRESH_VERSION_FLAG, 'answered by the table: the key was never written')
})

test.serial('writes to a verificationTable family move their slots: puts, removes, clear, drop', async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  const seed = (key, version) => {
    db.populateVersion(key, version)
    t.true(db.verifyVersion(key, version))
  }
  seed('a', 1e12)
  db.putSync('a', versioned(2e12))
  t.false(db.verifyVersion('a', 1e12), 'putSync')
  t.not(db.getSync('a', { expectedVersion: 1e12 }), FRESH_VERSION_FLAG)
  seed('a', 2e12)
  await db.put('a', versioned(3e12))
  t.false(db.verifyVersion('a', 2e12), 'put')
  seed('a', 3e12)
  db.removeSync('a')
  t.false(db.verifyVersion('a', 3e12), 'removeSync')
  t.is(db.getSync('a', { expectedVersion: 3e12 }), undefined)
  seed('b', 4e12)
  await db.remove('b')
  t.false(db.verifyVersion('b', 4e12), 'remove')
  seed('c', 5e12)
  db.clearSync()
  t.false(db.verifyVersion('c', 5e12), 'clearSync')
  seed('c', 5e12)
  await db.clear()
  t.false(db.verifyVersion('c', 5e12), 'clear')
  const family = s.open('db', { ...raw, name: 'dropped' })
  family.populateVersion('d', 6e12)
  family.dropSync()
  db.populateVersion('e', 7e12)
  t.true(db.verifyVersion('e', 7e12))
  const other = s.open('db', { ...raw, name: 'other' })
  other.populateVersion('f', 8e12)
  await other.drop()
  t.false(db.verifyVersion('e', 7e12), 'a drop moves every slot')
})

test.serial("a transaction's writes hold their slots until it commits or aborts, in every family it writes", async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  const other = s.open('db', { ...raw, name: 'other' })
  db.populateVersion('k', 1e12)
  other.populateVersion('k', 1e12)
  const txn = new Transaction(db.store)
  txn.putSync('k', versioned(2e12))
  other.putSync('k', versioned(2e12), { transaction: txn })
  t.false(db.verifyVersion('k', 1e12), 'a write in flight')
  db.populateVersion('k', 1e12)
  t.false(db.verifyVersion('k', 1e12), 'no populate while a write is in flight')
  t.false(other.verifyVersion('k', 1e12))
  await txn.commit()
  t.false(db.verifyVersion('k', 1e12))
  db.populateVersion('k', 2e12)
  t.true(db.verifyVersion('k', 2e12), 'settled after the commit')

  const aborted = new Transaction(db.store)
  aborted.removeSync('k')
  t.false(db.verifyVersion('k', 2e12))
  aborted.abort()
  db.populateVersion('k', 2e12)
  t.true(db.verifyVersion('k', 2e12), 'settled after the abort')

  await db.transaction(async (inner) => {
    inner.putSync('k', versioned(3e12))
    inner.abandonWrites()
  })
  db.populateVersion('k', 2e12)
  t.true(db.verifyVersion('k', 2e12), 'abandoned writes hold nothing')
})

test.serial('a read records nothing while a snapshot that could see an older value is open', async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  await db.put('anchor', versioned(1e12))
  const snapshot = new Transaction(db.store)
  snapshot.getBinarySync('anchor')
  await db.put('k', versioned(1.1e12))
  db.getSync('k', { populateVersion: true })
  t.false(db.verifyVersion('k', 1.1e12), 'an older snapshot is open')
  snapshot.abort()
  db.getSync('k', { populateVersion: true })
  t.true(db.verifyVersion('k', 1.1e12), 'recorded once it closed')

  // A transaction's own read records when nothing was written since its snapshot.
  await db.put('j', versioned(1.2e12))
  await db.transaction(async (txn) => {
    t.deepEqual(txn.getBinarySync('j', { populateVersion: true }), versioned(1.2e12))
  })
  t.true(db.verifyVersion('j', 1.2e12))
})

test.serial('a version marked VERSION_NOT_UNIQUE_FLAG is never answered fresh nor recorded', async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  await db.put('k', versioned(1e12, VERSION_NOT_UNIQUE_FLAG))
  t.deepEqual(db.getSync('k', { expectedVersion: 1e12 }), versioned(1e12, VERSION_NOT_UNIQUE_FLAG))
  t.false(db.verifyVersion('k', 1e12))
  await db.put('k', versioned(1e12, 0))
  t.is(db.getSync('k', { expectedVersion: 1e12 }), FRESH_VERSION_FLAG, 'the flag cleared')
})

test.serial('the table is one for every thread, and a reopened database starts with none of its slots', async (t) => {
  const s = scratch(t)
  const db = s.open('db', raw)
  db.populateVersion('k', 1e12)
  const script = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { RocksDatabase } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const db = RocksDatabase.open(workerData.path, { encoding: false, verificationTable: true })
    const seen = db.verifyVersion('k', 1e12)
    db.populateVersion('w', 2e12)
    db.close()
    parentPort.postMessage(seen)`
  const worker = new Worker(script, { eval: true, workerData: { path: db.path } })
  t.true(await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)), 'the worker sees the main thread’s slot')
  t.true(db.verifyVersion('w', 2e12), 'and the main thread the worker’s')
  db.close()
  const again = s.open('db', raw)
  t.false(again.verifyVersion('k', 1e12), 'a new open, new slots')
})

test.serial('config: verificationTableEntries is checked, and fixed once the table is made', (t) => {
  t.throws(() => RocksDatabase.config({ verificationTableEntries: -1 }), {
    instanceOf: TypeError,
    message: /^Verification table entries must be a positive integer or 0 to disable verification/,
  })
  const s = scratch(t)
  s.open('db', raw).populateVersion('k', 1)
  t.throws(() => RocksDatabase.config({ verificationTableEntries: 64 }), { message: 'Verification table size cannot be changed after the first database is opened' })
  t.notThrows(() => RocksDatabase.config({ verificationTableEntries: 131072 }), 'the same size is no change')
})

test.serial('coordinatedRetry: a conflicting commit resolves RETRY_NOW_VALUE, and transaction() runs the callback again', async (t) => {
  const s = scratch(t)
  const db = s.open('db')
  db.putSync('n', 0)
  const txn = new Transaction(db.store, { coordinatedRetry: true })
  db.putSync('n', db.getSync('n', { transaction: txn }) + 1, { transaction: txn })
  db.putSync('n', 10)
  t.is(await txn.commit(), RETRY_NOW_VALUE)
  t.is(db.getSync('n'), 10, 'nothing of it was written')
  // Reset in place, as Harper's retry expects: the same transaction runs
  // its work again, over a fresh snapshot, and commits.
  t.true(txn.isOpen)
  db.putSync('n', db.getSync('n', { transaction: txn }) + 1, { transaction: txn })
  t.is(await txn.commit(), undefined)
  t.is(db.getSync('n'), 11)
  const abandoned = new Transaction(db.store, { coordinatedRetry: true })
  db.putSync('n', db.getSync('n', { transaction: abandoned }) + 1, { transaction: abandoned })
  db.putSync('n', 10)
  t.is(await abandoned.commit(), RETRY_NOW_VALUE)
  t.notThrows(() => abandoned.abort(), 'or it is aborted')
  t.is(db.getSync('n'), 10)

  let runs = 0
  await db.transaction(
    async (inner) => {
      runs++
      const n = inner.getSync('n')
      if (runs === 1) db.putSync('n', 20)
      inner.putSync('n', n + 1)
    },
    { coordinatedRetry: true },
  )
  t.is(runs, 2)
  t.is(db.getSync('n'), 21)
  t.throws(() => new Transaction(db.store, { coordinatedRetry: 'yes' }), { instanceOf: TypeError, message: /coordinatedRetry/ })
})
