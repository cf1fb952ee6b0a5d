#!/usr/bin/env node
'use strict'

// Builds the addon the way a release ships it:
//
//   node scripts/build-release.js [--target <triple>]
//
// Linux targets are built with cargo-zigbuild: gnu ones against glibc 2.17
// (the `.2.17` suffix), musl ones against zig's musl, both with zig's libc++
// linked in, so the binary needs nothing of glibc above 2.17 and no GLIBCXX
// from the system. Other targets are built with `napi build` for that target. The
// binary goes to the release directory (default
// `~/.cache/rocksdb-branch/release`, or ROCKSDB_BRANCH_RELEASE_DIR), beside a
// `<binary>.json` naming the sources it was built from, so that tests can
// tell a current release binary from a stale one.
//
// The first build compiles RocksDB's C++ for the target (about as long as
// the development build); Cargo keeps it in its own target directory.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseTriple } = require('@napi-rs/cli')
const { sourceDigest } = require('./source-digest')

const root = path.resolve(__dirname, '..')
const cache = path.join(os.homedir(), '.cache', 'rocksdb-branch')
const { RELEASE_DIR: releaseDir } = require('./release-dir')
const { has, hostTarget } = require('./machine')
// The glibc the Linux gnu binaries are built against.
const GLIBC_FLOOR = '2.17'

function fail(message) {
  console.error(`build-release: ${message}`)
  process.exit(1)
}

function run(command, args, options) {
  console.log(`build-release: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options })
  if (result.error) fail(`${command}: ${result.error.message}`)
  if (result.status !== 0) fail(`${command} failed (exit ${result.status})`)
}

/** Installs cargo-zigbuild and zig from PyPI when they are missing. */
function ensureZig() {
  if (has('cargo-zigbuild') && (has('zig', ['version']) || has('python3', ['-m', 'ziglang', 'version']))) return
  run('python3', ['-m', 'pip', 'install', '--quiet', 'cargo-zigbuild', 'ziglang'])
}

function main() {
  const argv = process.argv.slice(2)
  const at = argv.indexOf('--target')
  const target = at === -1 ? hostTarget() : argv[at + 1]
  if (!target) fail('no target: pass --target <triple>')
  const { platformArchABI, abi } = parseTriple(target)
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const name = `${pkg.napi.binaryName}.${platformArchABI}.node`
  fs.mkdirSync(releaseDir, { recursive: true })
  const output = path.join(releaseDir, name)
  // Taken before the build, which reads the sources as they are now.
  const sources = sourceDigest()

  run('rustup', ['target', 'add', target])
  if (target.includes('-linux-')) {
    ensureZig()
    const musl = abi === 'musl'
    // Apart from the development build's: its RocksDB is compiled against
    // the system's glibc and libstdc++ headers.
    const env = {
      ...process.env,
      CARGO_TARGET_DIR: path.join(cache, musl ? 'target-musl' : `target-glibc${GLIBC_FLOOR.replace('.', '')}`),
      // cc-rs links the C++ runtime named by CXXSTDLIB: zig's libc++, which
      // zig links statically, instead of the system's libstdc++.
      CXXSTDLIB: 'c++',
    }
    // Rust links musl statically by default, which a shared library (what
    // Node loads) cannot be: link it dynamically, as musl Node does.
    if (musl) env.CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS = env.CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS = '-C target-feature=-crt-static'
    run('cargo', ['zigbuild', '--release', '--lib', '--target', musl ? target : `${target}.${GLIBC_FLOOR}`], { env })
    fs.copyFileSync(path.join(env.CARGO_TARGET_DIR, target, 'release', `lib${pkg.napi.binaryName.replace(/-/g, '_')}.so`), output)
  } else {
    const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
    const env = { ...process.env, CARGO_TARGET_DIR: path.join(cache, 'target-release') }
    run(process.execPath, [napi, 'build', '--platform', '--release', '--target', target, '--output-dir', releaseDir, '--no-js', '--dts', path.join(releaseDir, 'native.d.ts')], { env })
  }
  fs.writeFileSync(`${output}.json`, JSON.stringify({ target, sources, builtAt: new Date().toISOString() }, null, 2) + '\n')
  console.log(`build-release: ${output}`)
}

main()
