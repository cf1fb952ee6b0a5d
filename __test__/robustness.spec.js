'use strict'

const test = require('ava')
const { scratch } = require('./helpers')

// Arguments of every shape, thrown at every method: each call must return,
// or fail with a TypeError or a coded Error, and never take the process down.
const WEIRD = [
  undefined, null, 0, -1, 1.5, NaN, Infinity, 2 ** 53, '', 'x', 'a'.repeat(100_000), {}, [], [[]], [null], [{}],
  Buffer.alloc(0), Buffer.alloc(5000, 1), Buffer.alloc(70_000), new Uint8Array(3), Symbol('s'), () => 1, true,
  new Date(0), /re/, new Map(), 10n, { start: 1 }, { limit: -1 }, { limit: 1.5 }, { offset: -2 },
  { start: Symbol('s') }, { reverse: 'yes' }, { values: 0 }, { lifetime: -5 }, { metadata: 5 },
]

const METHODS = [
  'get', 'getSync', 'getBinary', 'getBinarySync', 'put', 'putSync', 'remove', 'removeSync',
  'getRange', 'getKeys', 'getKeysCount', 'getDBProperty', 'getDBIntProperty',
]

/** A small seeded generator, so a failure can be replayed. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('no argument of any shape crashes the process or escapes without a code', async (t) => {
  const s = scratch(t)
  const dbs = [
    s.open('msgpack'),
    s.open('binary', { keyEncoding: 'binary', encoding: 'binary' }),
    s.open('uint32', { keyEncoding: 'uint32', encoding: 'ordered-binary' }),
    s.open('pessimistic', { pessimistic: true }),
  ]
  const next = random(20261122)
  const pick = () => WEIRD[Math.floor(next() * WEIRD.length)]
  const failures = new Map()
  const seen = (error) => {
    if (!(error instanceof Error) || typeof error.code !== 'string') {
      throw new Error(`an uncoded failure escaped: ${error?.stack ?? String(error)}`)
    }
    failures.set(error.code, (failures.get(error.code) ?? 0) + 1)
  }
  const attempt = async (call) => {
    try {
      const result = call()
      if (result && typeof result.then === 'function') await result.catch(seen)
      else if (result && typeof result === 'object' && typeof result[Symbol.iterator] === 'function' && !Buffer.isBuffer(result)) {
        let n = 0
        for (const _ of result) if (++n > 10) break
      }
    } catch (error) {
      seen(error)
    }
  }
  for (let round = 0; round < 1500; round++) {
    const db = dbs[round % dbs.length]
    const method = METHODS[Math.floor(next() * METHODS.length)]
    await attempt(() => db[method](pick(), pick()))
    if (round % 7 === 0) {
      await attempt(() => db.transactionSync((txn) => {
        txn.putSync(pick(), pick())
        txn.getSync(pick())
        for (const _ of txn.getRange(pick())) break
      }, pick()))
    }
    if (round % 11 === 0) {
      await attempt(() => db.transaction(async (txn) => {
        await txn.put(pick(), pick())
        await txn.get(pick())
        txn.removeSync(pick())
      }))
    }
    if (round % 13 === 0) await attempt(() => db.checkpoints.create(pick(), pick()))
    if (round % 17 === 0) await attempt(() => db.checkpoints.info(pick()))
    // A stretch on closed handles, then open again.
    if (round === 900) for (const d of dbs) d.close()
    if (round === 1200) for (const d of dbs) d.open()
  }
  t.true(failures.get('ERR_INVALID_ARG_TYPE') > 0)
  t.true(failures.get('ERR_DATABASE_CLOSED') > 0)
  // Still a working database after all of it.
  dbs[0].putSync('after', 'all')
  t.is(dbs[0].getSync('after'), 'all')
})
