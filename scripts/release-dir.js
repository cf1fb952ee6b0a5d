'use strict'

// Where release binaries go (scripts/build-release.js) and are found
// (scripts/pack-release.js, the install test): ROCKSDB_BRANCH_RELEASE_DIR,
// else ~/.cache/rocksdb-branch/release.

const os = require('node:os')
const path = require('node:path')

const RELEASE_DIR = process.env.ROCKSDB_BRANCH_RELEASE_DIR ?? path.join(os.homedir(), '.cache', 'rocksdb-branch', 'release')

module.exports = { RELEASE_DIR }
