#!/usr/bin/env node
'use strict'

// Runs cargo with the settings the addon build uses, so `cargo test` and
// `cargo clippy` reuse the RocksDB that `napi build` compiled instead of
// compiling its C++ a second time: the same target directory, and an explicit
// `--target`, because napi build always passes one and Cargo keeps the
// artifacts of an explicit target apart from the host's.

const { spawnSync } = require('node:child_process')
const os = require('node:os')
const path = require('node:path')
const { hostTarget } = require('./machine')

const host = hostTarget()
const env = { ...process.env }
env.CARGO_TARGET_DIR ??= path.join(os.homedir(), '.cache', 'rocksdb-branch', 'target')

const [command, ...rest] = process.argv.slice(2)
const separator = rest.indexOf('--')
const cargoArgs = separator === -1 ? rest : rest.slice(0, separator)
const tail = separator === -1 ? [] : rest.slice(separator)
const result = spawnSync('cargo', [command, '--target', host, ...cargoArgs, ...tail], {
  cwd: path.resolve(__dirname, '..'),
  stdio: 'inherit',
  env,
})
process.exit(result.status ?? 1)
