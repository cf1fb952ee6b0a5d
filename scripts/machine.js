'use strict'

// What this machine has: the commands it can run, and its Rust target triple.

const { spawnSync } = require('node:child_process')

/** Whether `command args` runs and succeeds. */
function has(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0
}

/**
 * The Rust target triple of this machine: rustc's host when Rust is there,
 * else what Node says of the platform (where a packed binary is installed,
 * Rust may not be).
 */
function hostTarget() {
  const result = spawnSync('rustc', ['-vV'], { encoding: 'utf8' })
  const host = result.stdout?.match(/^host: (.+)$/m)?.[1]
  if (host) return host
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch] ?? process.arch
  if (process.platform === 'linux') return `${arch}-unknown-linux-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
  if (process.platform === 'darwin') return `${arch}-apple-darwin`
  return `${arch}-pc-windows-msvc`
}

module.exports = { has, hostTarget }
