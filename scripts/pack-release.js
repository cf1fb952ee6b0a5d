#!/usr/bin/env node
'use strict'

// Packs what a release publishes, for one platform:
//
//   npm run pack-release -- <outdir> [--target <triple>] [--binary <file.node>]
//
// writes into <outdir>
//   rocksdb-branch-<version>.tgz              the root package; its
//                                             optionalDependencies name the
//                                             platform package of every
//                                             napi.targets entry, same version
//   rocksdb-branch-<platform>-<version>.tgz   the platform package of
//                                             <target> (default: this machine)
//
// The binary is built with scripts/build-release.js (for Linux gnu targets:
// against glibc 2.17, C++ runtime linked in) unless --binary names one
// already built. The packages are laid out by napi-rs's own commands
// (create-npm-dirs, artifacts, pre-publish) in a staging copy, so the
// checkout is never changed. The publish job runs this same script per
// target, so what the install test installs is what ships.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseTriple } = require('@napi-rs/cli')
const { hostTarget } = require('./machine')
const { RELEASE_DIR } = require('./release-dir')

const root = path.resolve(__dirname, '..')
const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')

/** napi-rs's name of a target's platform: `linux-x64-gnu`, `darwin-arm64`, ... */
const platformOf = (target) => parseTriple(target).platformArchABI

function fail(message) {
  console.error(`pack-release: ${message}`)
  process.exit(1)
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options })
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (exit ${result.status})`)
}

function parseArgs(argv) {
  const args = { outDir: undefined, target: undefined, binary: undefined }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') args.target = argv[++i]
    else if (argv[i] === '--binary') args.binary = argv[++i]
    else if (args.outDir === undefined && !argv[i].startsWith('--')) args.outDir = argv[i]
    else fail(`unknown argument ${argv[i]}`)
  }
  if (!args.outDir) fail('usage: npm run pack-release -- <outdir> [--target <triple>] [--binary <file.node>]')
  return args
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const target = args.target ?? hostTarget()
  if (!pkg.napi.targets.includes(target)) fail(`${target} is not one of package.json's napi.targets`)
  const platform = platformOf(target)
  const outDir = path.resolve(args.outDir)
  fs.mkdirSync(outDir, { recursive: true })

  let binary = args.binary && path.resolve(args.binary)
  if (!binary) {
    run(process.execPath, [path.join(__dirname, 'build-release.js'), '--target', target], { cwd: root })
    binary = path.join(RELEASE_DIR, `${pkg.napi.binaryName}.${platform}.node`)
  }
  if (!fs.existsSync(binary)) fail(`no binary at ${binary}`)

  // A staging copy of what the root package ships.
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-pack-'))
  try {
    for (const entry of [...pkg.files, 'package.json', 'README.md', 'LICENSE']) {
      if (fs.existsSync(path.join(root, entry))) fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true })
    }
    // An installed package never builds: the scripts of a clone stay behind
    // (npm runs none of them for a registry install, and nothing else needs them).
    const staged = { ...pkg }
    delete staged.scripts
    delete staged.devDependencies
    delete staged.ava
    // What `napi pre-publish` writes into the root package.json (it checks
    // every platform package's binary, so it runs only where all are built):
    // each target's platform package at this version.
    staged.optionalDependencies = Object.fromEntries(pkg.napi.targets.map((t) => [`${pkg.name}-${platformOf(t)}`, pkg.version]))
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n')

    run(process.execPath, [napi, 'create-npm-dirs', '--npm-dir', 'npm'], { cwd: stage })
    // What `napi artifacts` does for all targets at once (it refuses to run
    // with one): the binary goes into its platform package.
    fs.copyFileSync(binary, path.join(stage, 'npm', platform, `${pkg.napi.binaryName}.${platform}.node`))
    const platformPackage = JSON.parse(fs.readFileSync(path.join(stage, 'npm', platform, 'package.json'), 'utf8'))
    if (platformPackage.name !== `${pkg.name}-${platform}` || platformPackage.version !== pkg.version) {
      fail(`napi create-npm-dirs made ${platformPackage.name}@${platformPackage.version}`)
    }

    run('npm', ['pack', '--pack-destination', outDir, '--ignore-scripts'], { cwd: path.join(stage, 'npm', platform) })
    fs.rmSync(path.join(stage, 'npm'), { recursive: true })
    run('npm', ['pack', '--pack-destination', outDir, '--ignore-scripts'], { cwd: stage })
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
  console.log(`pack-release: ${pkg.name}-${pkg.version}.tgz and ${pkg.name}-${platform}-${pkg.version}.tgz in ${outDir}`)
}

main()
