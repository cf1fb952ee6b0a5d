'use strict'

/**
 * The native addon, through the loader napi-rs generates (`../native.js`).
 * When no binary fits this machine, the error says what was looked for and
 * what to do: the platform, architecture and C library, the package that
 * would bring the binary, and how to build from source.
 */

const path = require('node:path')

/** napi-rs's name of this machine's platform: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
function hostPlatform() {
  if (process.platform === 'linux') return `linux-${process.arch}-${glibcVersion() ? 'gnu' : 'musl'}`
  if (process.platform === 'win32') return `win32-${process.arch}-msvc`
  return `${process.platform}-${process.arch}`
}

function glibcVersion() {
  return process.report?.getReport().header.glibcVersionRuntime
}

/** napi-rs's platform name of a Rust target triple. */
function platformOf(triple) {
  const arch = { x86_64: 'x64', aarch64: 'arm64' }[triple.split('-')[0]] ?? triple.split('-')[0]
  if (triple.includes('-linux-')) return `linux-${arch}-${triple.endsWith('musl') ? 'musl' : 'gnu'}`
  if (triple.includes('-apple-darwin')) return `darwin-${arch}`
  if (triple.includes('-windows-msvc')) return `win32-${arch}-msvc`
  return triple
}

function noBinary(cause) {
  const pkg = require('../package.json')
  const platform = hostPlatform()
  const libc = process.platform === 'linux' ? `, ${glibcVersion() ? `glibc ${glibcVersion()}` : 'musl libc'}` : ''
  const supported = pkg.napi.targets.map(platformOf)
  // What each place the loader tried said, first lines only; the loader's
  // own summary (which blames npm for any missing binary) is left out.
  const generic = (error) => /^Cannot find native binding/.test(error?.message ?? '')
  const underlying = generic(cause) ? cause.cause : cause
  const causes = []
  for (let error = underlying; error && causes.length < 8; error = error.cause) causes.push(String(error.message).split('\n')[0])
  const tooOld = causes.some((message) => /GLIBC_[0-9.]+' not found|version `GLIBC/.test(message))
  const lines = [
    `${pkg.name} has no native binary that loads on this machine: ${process.platform} ${process.arch}${libc}, Node ${process.version}.`,
    supported.includes(platform)
      ? `It looked for the package ${pkg.name}-${platform}@${pkg.version} (an optional dependency, installed with ${pkg.name} unless optional dependencies are left out) and for ${pkg.napi.binaryName}.${platform}.node in ${path.dirname(__dirname)}.`
      : `No binary is built for ${platform}; binaries are built for ${supported.join(', ')}.`,
    tooOld ? 'The binary found needs a newer glibc than this system has (release binaries need glibc 2.17 or newer).' : null,
    `To build from source instead: run \`npm install\` in a clone of the ${pkg.name} repository (it needs Rust and libclang; RocksDB's C++ compiles in about 17 minutes on two cores), then \`npm install <path to the clone>\` in your project.`,
    causes.length ? `What the loader met: ${causes.join('; ')}` : null,
  ]
  const error = new Error(lines.filter(Boolean).join('\n'))
  error.code = 'ERR_NATIVE_BINARY_NOT_FOUND'
  if (underlying) error.cause = underlying
  return error
}

let native
try {
  native = require('../native.js')
} catch (cause) {
  throw noBinary(cause)
}

module.exports = native
