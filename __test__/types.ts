// A type test: it uses every public API with the types users write, and
// `npm run test:types` (tsc --noEmit) fails when the declarations drift from
// what the code accepts or returns. It is compiled, never run.

import { BranchStore, CheckpointStore, DBI, ERROR_CODES, RocksDatabase, Store, Transaction as TransactionClass, TransactionLog, CorruptFrameError, validateTransactionLogStore, backups, constants, currentThreadId, fileLockRelease, parseTransactionLog, registryStatus, shutdown, supportedCompression, tryFileLock, versions } from '..'
import type { BackupInfo, BranchInfo, BranchParent, CheckpointInfo, Key, RangeOptions, RegistryStatus, RocksDatabaseOptions, RocksDBError, Transaction, VerifyReport } from '..'

interface User {
  name: string
  roles: string[]
}

async function everything(): Promise<void> {
  const options: RocksDatabaseOptions = {
    readOnly: false,
    createIfMissing: true,
    compression: 'zstd',
    encoding: 'msgpack',
    keyEncoding: 'ordered-binary',
    name: 'users',
    disableWAL: false,
    parallelismThreads: 4,
    writeBufferSize: 1 << 20,
    maxOpenFiles: -1,
    noBlockCache: false,
    pessimistic: true,
    lockTimeout: 10,
    checkpointsPath: '/tmp/checkpoints',
    branchesPath: '/tmp/branches',
    idleTimeout: 30_000,
    infoLog: false,
  }
  const custom: RocksDatabaseOptions = { encoder: { encode: (v: unknown) => Buffer.from(JSON.stringify(v)), decode: (b: Buffer) => JSON.parse(b.toString()) } }
  const db: RocksDatabase<User> = RocksDatabase.open<User>('/tmp/db', options)
  const other = new RocksDatabase('/tmp/other', custom).open()
  const opening: Promise<RocksDatabase<User>> = RocksDatabase.openAsync<User>('/tmp/db', options)
  const reopening: Promise<RocksDatabase> = other.openAsync()
  const key: Key = ['user', 42]
  const path: string = db.path
  const name: string = db.name
  const readOnly: boolean = db.readOnly
  const open: boolean = db.isOpen()
  const columns: string[] = db.columns

  await db.put(key, { name: 'Ada', roles: ['admin'] })
  db.putSync('k', { name: 'Bob', roles: [] })
  const user: User | undefined = await db.get(key)
  const sameUser: User | undefined = db.getSync(key)
  const bytes: Buffer | undefined = await db.getBinary(key)
  const sameBytes: Buffer | undefined = db.getBinarySync(key)
  await db.remove(key)
  db.removeSync(key)
  await db.flush()
  db.flushSync()

  const range: RangeOptions = { start: 'a', end: 'z', exclusiveStart: true, inclusiveEnd: false, reverse: true, limit: 10, offset: 1, values: true }
  for (const { key: k, value } of db.getRange(range)) console.log(k, value.name)
  for await (const k of db.getKeys({ limit: 3 })) console.log(k)
  const names: string[] = await db.getRange().map((entry) => entry.value.name).filter((n) => n !== '').take(5).asArray
  db.getKeys().forEach((k) => console.log(k))
  const count: number = db.getKeysCount({ start: 'a' })

  const result: number = await db.transaction(
    async (txn: Transaction<User>) => {
      const read: User | undefined = txn.getSync('k')
      const readAsync: User | undefined = await txn.get('k')
      for (const entry of txn.getRange({ limit: 2 })) console.log(entry.key, entry.value)
      for (const k of txn.getKeys()) console.log(k)
      txn.putSync('k', { name: 'Cy', roles: [] })
      await txn.put('j', { name: 'Di', roles: [] })
      txn.removeSync('x')
      await txn.remove('y')
      console.log(read, readAsync, txn.isOpen)
      return 1
    },
    { maxRetries: 5 },
  )
  const syncResult: string = db.transactionSync((txn) => {
    txn.putSync('s', { name: 'Ed', roles: [] })
    txn.commitSync()
    return 'done'
  })

  await db.clear()
  db.clearSync()
  await db.compact({ start: 'a', end: 'b' })
  db.compactSync()
  const prop: string | undefined = db.getDBProperty('rocksdb.stats')
  const intProp: number | undefined = db.getDBIntProperty('rocksdb.estimate-num-keys')
  const estimate: number = db.estimateCount({ start: 'a', end: 'z' }).count + db.getEstimatedKeyCount()
  const stats = db.getStats()
  const sequence: number = db.getLatestSequenceNumber() + stats.sequence + stats.estimatedKeys
  await db.verifyChecksums()
  RocksDatabase.config({ blockCacheSize: 64 << 20, writeBufferManagerSize: 0, writeBufferManagerCostToCache: false })
  const shared: number = RocksDatabase.memoryUsage().blockCacheUsage

  await db.createCheckpoint('/tmp/cp')
  const branch: RocksDatabase<User> = await db.branch('/tmp/branch')
  const store: CheckpointStore = db.checkpoints
  const info: CheckpointInfo = await store.create('nightly', { lifetime: 60_000, metadata: { build: 41 } })
  const listed: CheckpointInfo[] = store.list()
  const one: CheckpointInfo | undefined = store.info(info.id)
  const latest: CheckpointInfo | undefined = store.latest()
  const refreshed: CheckpointInfo = await store.refresh('nightly', null)
  const pruned: CheckpointInfo[] = await store.prune()
  const view: RocksDatabase<User> = await store.open<User>('nightly')
  const fromCheckpoint: RocksDatabase<User> = await store.branch<User>('nightly', '/tmp/b2')
  const report: VerifyReport = await store.verify('nightly')
  const deleted: boolean = await store.delete('nightly')
  const readOnlyStore = new CheckpointStore('/tmp/db.checkpoints')
  const restored = await RocksDatabase.restore('/tmp/db', info.path, { checkpointsPath: readOnlyStore.dir })
  const preRestore: CheckpointInfo | null = restored.preRestore

  const branches: BranchStore = db.branches
  const made: BranchInfo = await branches.create('app-1', { from: 'nightly', metadata: { owner: 'a' } })
  const parent: BranchParent = made.parent
  if (parent.type === 'checkpoint') console.log(parent.name, parent.id)
  else console.log(parent.path)
  const app: RocksDatabase<User> = await branches.open<User>('app-1', { idleTimeout: 60_000, infoLog: true })
  const dormant: boolean = app.dormant
  const allBranches: BranchInfo[] = new BranchStore('/tmp/db.branches').list()
  const maybe: BranchInfo | undefined = branches.info('app-1')
  const branchPath: string = branches.pathOf('app-1')
  await app.close()
  const reset: BranchInfo = await branches.reset('app-1')
  const gone: boolean = await branches.delete('app-1')
  const backupId: number = await db.backup('/tmp/backups', { metadata: 'nightly', progress: (p) => console.log(p.bytesDone), signal: new AbortController().signal })
  await db.backup('s3://bucket/prefix', { s3: { endpoint: 'http://127.0.0.1:5000' } })
  const nothing: void = await db.backup(require('node:fs').createWriteStream('/tmp/db.tar.gz'), { gzip: true })
  const backupList: BackupInfo[] = await backups.list('/tmp/backups')
  const checked = await backups.verify('/tmp/backups', backupId)
  const back = await backups.restore('/tmp/backups', '/tmp/restored', { backupId })
  const keptState: CheckpointInfo | null = back.preRestore
  await backups.restoreStream(require('node:fs').createReadStream('/tmp/db.tar.gz'), '/tmp/from-tar')
  const purgedIds: number[] = await backups.purge('/tmp/backups', 3)
  await backups.delete('/tmp/backups', 1)
  console.log(nothing, backupList, checked.bytes, keptState, purgedIds)
  console.log(made.exclusiveBytes, made.resetAt, dormant, allBranches, maybe, branchPath, reset, gone)

  db.on('error', (error: RocksDBError) => console.log(error.code))
  db.once('error', (error) => console.log(error.message))
  const listener = (error: RocksDBError) => console.log(error)
  const removed: boolean = db.addListener('error', listener).removeListener('error', listener) || db.off('error', listener)
  const listeners: number = db.listeners('error') + Number(removed)
  const last: RocksDBError | null = db.getLastError()
  await db.resume()

  const codes: readonly string[] = ERROR_CODES
  const compressions: readonly string[] = supportedCompression
  const rocksdb: string = versions.rocksdb
  const maybeBytes = db.get('k', { skipDecode: true })
  const value = maybeBytes instanceof Promise ? await maybeBytes : maybeBytes
  await db.transaction(async (txn, attempt: number) => {
    const id: number = txn.id
    txn.setTimestamp(txn.getTimestamp() + 1)
    await db.put('k', { name: 'x', roles: [] }, { transaction: txn })
    console.log(id, attempt, txn.getKeysCount())
  })
  const status: 'opened' | 'closed' = db.status
  const notified: boolean = db.notify('event', 1)
  console.log(compressions, rocksdb, value, status, notified)
  shutdown()
  await db.drop()
  db.dropSync()
  await db.destroy()
  await db.close()
  await Promise.all([other.close(), branch.close(), view.close(), fromCheckpoint.close()])
  console.log(path, name, readOnly, open, columns, user, sameUser, bytes, sameBytes, names, count, result, syncResult)
  console.log(prop, intProp, estimate, sequence, listed, one, latest, refreshed, pruned, report, deleted, preRestore, listeners, last, codes)
}

/** rocksdb-js's framework surface: stores, transactions begun on them, coordination. */
async function framework(): Promise<void> {
  class Index extends RocksDatabase {
    getValues(value: Key) {
      return super.getKeys({ start: value }).map((key) => key[1])
    }
  }
  const store = new Store('/tmp/db', { name: 'idx', sharedStructuresKey: Symbol.for('s'), freezeData: true })
  const db: RocksDatabase = RocksDatabase.open(store)
  const index = new Index('/tmp/index').open()
  const viaStore: Store = db.store
  const base: DBI = index
  const txn = new TransactionClass(db.store, { coordinatedRetry: true })
  db.putSync('k', 1, { transaction: txn })
  const raw: Buffer | undefined | number = txn.getBinarySync('k', { populateVersion: true })
  const committed: void | number = await txn.commit()
  const versioned = RocksDatabase.open('/tmp/vt', { encoding: false, verificationTable: true })
  RocksDatabase.config({ verificationTableEntries: 1024 })
  versioned.populateVersion('k', 1.7e12)
  const known: boolean = versioned.verifyVersion('k', 1.7e12)
  const answer: Buffer | undefined | number = versioned.getBinarySync('k', { expectedVersion: 1.7e12 })
  const plain: Buffer | undefined = versioned.getBinarySync('k')
  await db.transaction(async () => {}, { coordinatedRetry: true, disableSnapshot: true, maxRetries: 0 })
  console.log(committed, known, answer, plain, constants.VERSION_NOT_UNIQUE_FLAG)
  const log: TransactionLog = db.useLog('audit')
  await db.transaction(async (t) => {
    log.addEntry(Buffer.from('x'), t.id)
    t.useLog(7).addEntry(new Uint8Array(1))
  })
  for (const entry of log.query({ start: 0, readUncommitted: false })) console.log(entry.timestamp, entry.data.length, entry.endTxn)
  const names: string[] = db.listLogs()
  const counted: { path: string; entries: number }[] = db.purgeLogs({ includeEntryCounts: true })
  const paths: string[] = db.purgeLogs({ before: Date.now() })
  console.log(names, counted, paths, parseTransactionLog('/tmp/1.txnlog').entries.length, log.getLogFileSize(1))
  try {
    for (const entry of log.query({ start: 0 })) console.log(entry)
  } catch (error) {
    if (error instanceof CorruptFrameError) console.log(error.position, error.resyncPosition)
  }
  const backupId: number = await db.backup('/tmp/store', { transactionLogs: true })
  await backups.verify('/tmp/store', backupId, { verifyTransactionLogs: false })
  const report = await validateTransactionLogStore(log.path, { strict: true })
  console.log(report.valid, report.files.map((file) => file.entries))
  const locked: boolean = db.tryLock('k', () => {}) && db.hasLock('k') && db.unlock('k')
  const ran: number = await db.withLock('k', () => 1)
  const shared = db.getUserSharedBuffer('counter', new BigInt64Array(1).buffer, { callback: () => {} })
  const heard: boolean = shared.notify()
  shared.cancel()
  const now: number = db.getMonotonicTimestamp() + db.getOldestSnapshotTimestamp()
  db.decoder = db.encoder
  db.flushSync({ allowWriteStall: true })
  const fresh: number = constants.FRESH_VERSION_FLAG + constants.RETRY_NOW_VALUE
  const statuses: RegistryStatus[] = registryStatus()
  const token: number = tryFileLock('/tmp/x.lock', true)
  fileLockRelease(token)
  console.log(viaStore, base, raw, locked, ran, heard, now, fresh, statuses, currentThreadId(), index.getValues('a'))
  const encoded: RocksDatabaseOptions = { encoder: { Encoder: class { encode = (v: unknown) => Buffer.from(String(v)); decode = (b: Buffer) => b.toString() } } }
  console.log(encoded)
}

void everything
void framework
