'use strict'

// The main job of rocksdb-branch in one run: a live database, a checkpoint of
// it taken while it is open, that checkpoint opened as a writable branch, and
// the two diverging without seeing each other's writes.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { RocksDatabase } = require('..')

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-demo-'))
  try {
    const main = RocksDatabase.open(path.join(dir, 'main'))
    for (let i = 1; i <= 3; i++) await main.put(['product', i], { name: `product ${i}`, stock: 10 * i })
    console.log('main   wrote 3 products')

    const started = process.hrtime.bigint()
    await main.createCheckpoint(path.join(dir, 'branches', 'experiment'))
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    console.log(`checkpoint written to branches/experiment in ${ms.toFixed(1)} ms`)

    const branch = RocksDatabase.open(path.join(dir, 'branches', 'experiment'))
    await branch.put(['product', 2], { name: 'product 2', stock: 0 })
    await branch.put(['product', 4], { name: 'product 4 (branch only)', stock: 1 })
    await main.remove(['product', 1])

    const show = async (label, db) => {
      const rows = []
      for (let i = 1; i <= 4; i++) {
        const value = await db.get(['product', i])
        rows.push(value === undefined ? `#${i} -` : `#${i} ${value.name} (stock ${value.stock})`)
      }
      console.log(`${label} sees: ${rows.join(' | ')}`)
    }
    await show('main  ', main)
    await show('branch', branch)

    main.close()
    branch.close()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
