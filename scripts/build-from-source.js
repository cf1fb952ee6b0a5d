#!/usr/bin/env node
'use strict'

// Builds the native addon in a clone of the repository (npm's `prepare` hook,
// which npm runs for a local `npm install` but never for an installed package:
// the published package resolves a prebuilt binary instead).
//
// rust-rocksdb compiles RocksDB's C++ with bindgen, which needs libclang. When
// it is missing this installs it with apt-get if it can, and otherwise says
// exactly what to install.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { has } = require('./machine')

const root = path.resolve(__dirname, '..')

function fail(message) {
  console.error(`\nrocksdb-branch: ${message}\n`)
  process.exit(1)
}

function libclangPresent() {
  if (process.env.LIBCLANG_PATH) return true
  if (process.platform !== 'linux') return true // Xcode and LLVM installers put it where bindgen looks
  const dirs = ['/usr/lib', '/usr/lib64', '/usr/local/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']
  for (const base of ['/usr/lib', '/usr/lib64']) {
    if (!fs.existsSync(base)) continue
    for (const entry of fs.readdirSync(base)) {
      if (entry.startsWith('llvm')) dirs.push(path.join(base, entry, 'lib'))
    }
  }
  return dirs.some((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /^libclang(-[\d.]+)?\.so/.test(f)))
}

function ensureLibclang() {
  if (libclangPresent()) return
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (isRoot && has('apt-get', ['--version'])) {
    console.log('rocksdb-branch: libclang is missing; installing libclang-dev with apt-get')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '-qq', 'libclang-dev'], { stdio: 'inherit', env })
    return
  }
  fail(
    'building RocksDB needs libclang, which was not found.\n' +
      '  Debian/Ubuntu: sudo apt-get install -y libclang-dev\n' +
      '  Fedora:        sudo dnf install -y clang-devel\n' +
      '  Alpine:        apk add clang-dev\n' +
      'or set LIBCLANG_PATH to the directory that holds libclang.so.',
  )
}

function main() {
  if (!fs.existsSync(path.join(root, 'Cargo.toml'))) return // an installed package: nothing to build
  if (process.env.ROCKSDB_BRANCH_SKIP_BUILD === '1') return
  if (!has('cargo')) {
    fail('building from source needs Rust. Install it from https://rustup.rs and run npm install again.')
  }
  ensureLibclang()
  // RocksDB's C++ takes minutes to compile: keep Cargo's output outside the
  // clone so that a fresh clone on the same machine reuses it.
  const env = { ...process.env }
  env.CARGO_TARGET_DIR ??= path.join(os.homedir(), '.cache', 'rocksdb-branch', 'target')
  const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  const result = spawnSync(process.execPath, [napi, 'build', '--platform', '--release', '--js', 'native.js', '--dts', 'native.d.ts'], { cwd: root, stdio: 'inherit', env })
  if (result.status !== 0) fail('the native build failed; see the output above.')
}

main()
