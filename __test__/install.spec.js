'use strict'

// The package as a user gets it from npm: `npm run pack-release` packs the
// root package and this platform's binary package, and they are installed
// into an empty project by an npm whose PATH holds node, npm and sh only (no
// cargo, rustc, clang, gcc, cc or make), so nothing can be compiled. The
// installed package must load through require and import, open a database,
// write, checkpoint, reopen, and run its command line.
//
// The binary packed is the release binary (`npm run build:release`) when one
// built from the current sources is in the release directory, and then its
// glibc floor is checked too; otherwise the development binary.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const { parseTriple } = require('@napi-rs/cli')
const { sourceDigest } = require('../scripts/source-digest')
const { hostTarget } = require('../scripts/machine')
const { neededVersions, floorProblems } = require('../scripts/check-floor')

const root = path.join(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const host = hostTarget()
const platform = parseTriple(host).platformArchABI
const { RELEASE_DIR: releaseDir } = require('../scripts/release-dir')
const TOOLCHAIN = ['cargo', 'rustc', 'clang', 'gcc', 'cc', 'c++', 'g++', 'make']

/** The release binary when it was built from these sources, else null. */
function currentReleaseBinary() {
  const binary = path.join(releaseDir, `${pkg.napi.binaryName}.${platform}.node`)
  try {
    const built = JSON.parse(fs.readFileSync(`${binary}.json`, 'utf8'))
    return built.sources === sourceDigest() && fs.existsSync(binary) ? binary : null
  } catch {
    return null
  }
}

// The test builds a PATH of symlinks and runs npx through sh: POSIX only.
const posixTest = process.platform === 'win32' ? test.skip : test

posixTest('the packed release installs with no toolchain, loads through require and import, and works', async (t) => {
  const release = currentReleaseBinary()
  const binary = release ?? path.join(root, `${pkg.napi.binaryName}.${platform}.node`)
  t.log(release ? `packing the release binary ${release}` : `no release binary of these sources in ${releaseDir}: packing the development binary`)

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdb-branch-install-'))
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }))
  const out = path.join(work, 'out')
  execFileSync(process.execPath, [path.join(root, 'scripts', 'pack-release.js'), out, '--target', host, '--binary', binary], { stdio: 'pipe' })
  const rootTarball = path.join(out, `${pkg.name}-${pkg.version}.tgz`)
  const platformTarball = path.join(out, `${pkg.name}-${platform}-${pkg.version}.tgz`)
  t.deepEqual(fs.readdirSync(out).sort(), [path.basename(rootTarball), path.basename(platformTarball)].sort())

  // A PATH with node, npm, npx and sh (npx runs bins through sh), nothing else.
  const bin = path.join(work, 'bin')
  fs.mkdirSync(bin)
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())
  fs.symlinkSync(npmCli, path.join(bin, 'npm'))
  fs.symlinkSync(path.join(path.dirname(npmCli), 'npx-cli.js'), path.join(bin, 'npx'))
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'))
  // The machine's network settings (proxies, certificate authorities) stay.
  const network = /^(HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|npm_config_(cafile|registry|proxy|https_proxy|noproxy|strict_ssl))$/
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => network.test(name))), PATH: bin, npm_config_update_notifier: 'false' }
  for (const tool of TOOLCHAIN) {
    t.not(spawnSync('sh', ['-c', `command -v ${tool}`], { env }).status, 0, `${tool} must not be on the PATH`)
  }

  const app = path.join(work, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  const install = spawnSync('npm', ['install', rootTarball, platformTarball, '--no-audit', '--no-fund'], { cwd: app, env, encoding: 'utf8' })
  t.is(install.status, 0, `npm install failed: ${install.stderr}`)
  t.false(fs.existsSync(path.join(app, 'node_modules', pkg.name, 'Cargo.toml')), 'the installed package holds no sources to build')
  const installed = path.join(app, 'node_modules', `${pkg.name}-${platform}`, `${pkg.napi.binaryName}.${platform}.node`)
  t.true(fs.existsSync(installed), 'the platform package brought the binary')

  fs.writeFileSync(
    path.join(app, 'check.mjs'),
    `
import { createRequire } from 'node:module'
import { RocksDatabase } from '${pkg.name}'
const require = createRequire(import.meta.url)
const cjs = require('${pkg.name}')
if (cjs.RocksDatabase !== RocksDatabase) throw new Error('require and import gave different classes')
const db = RocksDatabase.open('data/db')
db.putSync('greeting', { hello: 'world' })
await db.put('n', 1)
await db.createCheckpoint('data/copy')
await db.close()
const again = RocksDatabase.open('data/db')
const copy = RocksDatabase.open('data/copy', { readOnly: true })
console.log(JSON.stringify({ greeting: again.getSync('greeting'), n: await again.get('n'), copied: copy.getSync('greeting') }))
await copy.close()
await again.close()
`,
  )
  const run = spawnSync('node', ['check.mjs'], { cwd: app, env, encoding: 'utf8' })
  t.is(run.status, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { greeting: { hello: 'world' }, n: 1, copied: { hello: 'world' } })

  const help = spawnSync('npx', ['rocksdb-branch', '--help'], { cwd: app, env, encoding: 'utf8' })
  t.is(help.status, 0, help.stderr)
  t.regex(help.stdout, /^Usage: rocksdb-branch/)

  if (process.platform === 'linux') {
    t.log(`the installed binary needs ${JSON.stringify(neededVersions(installed))}`)
    if (release && host.endsWith('-linux-gnu')) t.deepEqual(floorProblems(installed), [], 'glibc 2.17 at most, no libstdc++')
  }

  // Without its binary package the package says what it looked for and what
  // to do, and does not blame npm.
  fs.rmSync(path.join(app, 'node_modules', `${pkg.name}-${platform}`), { recursive: true })
  const missing = spawnSync('node', ['-e', `require('${pkg.name}')`], { cwd: app, env, encoding: 'utf8' })
  t.not(missing.status, 0)
  t.regex(missing.stderr, /ERR_NATIVE_BINARY_NOT_FOUND/)
  t.true(missing.stderr.includes(`${process.platform} ${process.arch}`), missing.stderr)
  t.true(missing.stderr.includes(`${pkg.name}-${platform}@${pkg.version}`), missing.stderr)
  t.regex(missing.stderr, /build from source/)
  t.notRegex(missing.stderr, /npm has a bug/)
})
