'use strict'

// A digest of the sources the native addon is built from, recorded beside a
// release binary so that a test can tell whether that binary is current.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')

/** SHA-256 of Cargo.toml, Cargo.lock, build.rs and every file under src/, in path order. */
function sourceDigest() {
  const files = ['Cargo.toml', 'Cargo.lock', 'build.rs', ...fs.readdirSync(path.join(root, 'src'), { recursive: true }).map((f) => path.join('src', f))]
    .filter((file) => fs.statSync(path.join(root, file)).isFile())
    .sort()
  const hash = crypto.createHash('sha256')
  for (const file of files) {
    hash.update(`${file}\0`)
    hash.update(fs.readFileSync(path.join(root, file)))
  }
  return hash.digest('hex')
}

module.exports = { sourceDigest }
