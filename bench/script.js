'use strict'

// What the measurement scripts run on their own (bench/branches.js,
// bench/backups.js) share: their options and how they run.

/** The value after `name` on the command line, or `fallback`. */
function option(name, fallback) {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : process.argv[at + 1]
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

module.exports = { option, script }
