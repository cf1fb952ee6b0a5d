'use strict'

// Model-based fuzzing: fast-check runs random sequences of operations against
// a real database and a Map, and checks after each step that they agree.
// Some values carry getters that re-enter the database while they are
// encoded. A failure shrinks to a minimal sequence, printed with its seed.
//
// FUZZ_RUNS sets the number of sequences (default 25); FUZZ_SEED replays one.

const test = require('ava')
const fc = require('fast-check')
const fs = require('node:fs')
const { RocksDatabase } = require('..')
const { scratch } = require('./helpers')

const runs = Number(process.env.FUZZ_RUNS ?? 25)
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)

const keyArb = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom('a', 'b', 'zz', 'zzzz', 'é'))
const valueArb = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.record({ n: fc.integer(), s: fc.string({ maxLength: 8 }) }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.string({ minLength: 70_000, maxLength: 70_001 }).map((s) => s.slice(0, 1) + 'x'.repeat(70_000)),
)

/** The database's key order: numbers before strings, strings by UTF-8 bytes. */
function compare(a, b) {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1
  return typeof a === 'number' ? a - b : Buffer.compare(Buffer.from(a), Buffer.from(b))
}

const ordered = (model) => [...model.keys()].sort(compare)

function same(real, model) {
  const entries = [...real.db.getRange()]
  const expected = ordered(model).map((key) => ({ key, value: model.get(key) }))
  if (JSON.stringify(entries) !== JSON.stringify(expected)) {
    throw new Error(`database ${JSON.stringify(entries).slice(0, 300)} != model ${JSON.stringify(expected).slice(0, 300)}`)
  }
}

const command = (name, fields, run) => {
  class Command {
    constructor(values) {
      Object.assign(this, values)
    }

    check() {
      return true
    }

    async run(model, real) {
      await run.call(this, model, real)
    }

    toString() {
      return `${name}(${JSON.stringify(Object.fromEntries(Object.keys(fields).map((k) => [k, this[k]])))?.slice(0, 80)})`
    }
  }
  return fc.record(fields).map((values) => new Command(values))
}

const commands = [
  command('putSync', { key: keyArb, value: valueArb }, function (model, real) {
    real.db.putSync(this.key, this.value)
    model.set(this.key, this.value)
  }),
  command('put', { key: keyArb, value: valueArb }, async function (model, real) {
    await real.db.put(this.key, this.value)
    model.set(this.key, this.value)
  }),
  command('removeSync', { key: keyArb }, function (model, real) {
    real.db.removeSync(this.key)
    model.delete(this.key)
  }),
  command('remove', { key: keyArb }, async function (model, real) {
    await real.db.remove(this.key)
    model.delete(this.key)
  }),
  command('get', { key: keyArb }, async function (model, real) {
    const sync = real.db.getSync(this.key)
    const async = await real.db.get(this.key)
    if (JSON.stringify(sync) !== JSON.stringify(model.get(this.key)) || JSON.stringify(async) !== JSON.stringify(model.get(this.key))) {
      throw new Error(`get(${this.key}) = ${JSON.stringify(sync)?.slice(0, 80)} / ${JSON.stringify(async)?.slice(0, 80)}, model ${JSON.stringify(model.get(this.key))?.slice(0, 80)}`)
    }
  }),
  // A value whose getter reads one key and writes another while it is encoded.
  command('reentrantPut', { key: keyArb, read: keyArb, nested: keyArb, value: valueArb, sync: fc.boolean() }, async function (model, real) {
    const { db } = real
    const { read, nested, value } = this
    let seen
    const outer = {
      get inner() {
        seen = db.getSync(read)
        db.putSync(nested, value)
        return 'outer'
      },
    }
    const expectedRead = model.get(read)
    if (this.sync) db.putSync(this.key, outer)
    else await db.put(this.key, outer)
    model.set(nested, value)
    model.set(this.key, { inner: 'outer' })
    if (JSON.stringify(seen) !== JSON.stringify(expectedRead)) throw new Error(`nested read of ${read} saw ${JSON.stringify(seen)?.slice(0, 80)}`)
  }),
  command('range', { start: keyArb, end: keyArb, reverse: fc.boolean(), limit: fc.option(fc.nat(40)) }, function (model, real) {
    const options = { start: this.start, end: this.end, reverse: this.reverse, limit: this.limit ?? undefined }
    // `start` is where the scan begins (inclusive), `end` where it stops (exclusive).
    const inRange = ordered(model).filter((k) =>
      this.reverse ? compare(k, this.start) <= 0 && compare(k, this.end) > 0 : compare(k, this.start) >= 0 && compare(k, this.end) < 0,
    )
    if (this.reverse) inRange.reverse()
    const expected = inRange.slice(0, this.limit ?? undefined)
    const got = [...real.db.getKeys(options)]
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`range ${JSON.stringify(options)}: ${JSON.stringify(got)} != ${JSON.stringify(expected)}`)
  }),
  command('transaction', { puts: fc.array(fc.tuple(keyArb, valueArb), { maxLength: 5 }), removes: fc.array(keyArb, { maxLength: 3 }), read: fc.boolean(), fail: fc.boolean() }, async function (model, real) {
    const attempt = real.db.transaction(async (txn) => {
      if (this.read) txn.getSync(0)
      for (const [k, v] of this.puts) txn.putSync(k, v)
      for (const k of this.removes) txn.removeSync(k)
      if (this.fail) throw new Error('abort')
    })
    if (this.fail) {
      await attempt.then(
        () => {
          throw new Error('the failing transaction committed')
        },
        () => {},
      )
      return
    }
    await attempt
    for (const [k, v] of this.puts) model.set(k, v)
    for (const k of this.removes) model.delete(k)
  }),
  command('checkpoint', { write: keyArb }, async function (model, real) {
    const name = `c${real.count++}`
    await real.db.checkpoints.create(name)
    const view = await real.db.checkpoints.open(name)
    try {
      same({ db: view }, model)
    } finally {
      await view.close()
    }
    // A branch of it is independent both ways.
    const branch = await real.db.checkpoints.branch(name, `${real.path}.branch-${name}`)
    branch.putSync(this.write, 'branch only')
    await branch.close()
    same(real, model)
  }),
  command('reopen', {}, async function (model, real) {
    await real.db.close()
    real.db = RocksDatabase.open(real.path)
    same(real, model)
  }),
]

test(`random operation sequences agree with an in-memory model (${runs} runs)`, async (t) => {
  const s = scratch(t)
  let n = 0
  let operations = 0
  const details = await fc.check(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), async (cmds) => {
      const dbPath = s.path(`db-${n++}`)
      const real = { db: RocksDatabase.open(dbPath), path: dbPath, count: 0 }
      try {
        operations += [...cmds].length
        await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds)
        same(real, new Map([...real.db.getRange()].map(({ key, value }) => [key, value])))
      } finally {
        await real.db.close()
        fs.rmSync(dbPath, { recursive: true, force: true })
        fs.rmSync(`${dbPath}.checkpoints`, { recursive: true, force: true })
      }
    }),
    { numRuns: runs, seed, verbose: 1 },
  )
  if (details.failed) t.fail(fc.defaultReportMessage(details))
  else t.log(`${details.numRuns} sequences of ${operations} operations in all (shrinking included), seed ${details.seed}`)
  t.pass()
})
