'use strict'

// What the measurement scripts share: their options, medians, their --json
// output and how they run on their own (bench/branches.js, bench/backups.js).

const fs = require('node:fs')

/** The value after `name` on the command line, or `fallback`. */
function option(name, fallback) {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : process.argv[at + 1]
}

/** The median of `values` (the upper one of an even count). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Writes `result` as JSON to the file `--json` names, if it names one. */
function saveJson(result) {
  const file = option('--json', null)
  if (file) fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
}

/** Exports `main` from `module`, and runs it when node was started with that module; a failure exits 1. */
function script(module, main) {
  module.exports = { main }
  if (require.main === module) {
    main().catch((error) => {
      console.error(error)
      process.exit(1)
    })
  }
}

module.exports = { option, median, saveJson, script }
