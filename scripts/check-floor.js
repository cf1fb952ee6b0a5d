#!/usr/bin/env node
'use strict'

// What a Linux binary needs of the system's C and C++ runtimes, read from its
// dynamic symbol versions with readelf (which reads ELF files of any machine,
// so cross-built binaries are checked the same way):
//
//   node scripts/check-floor.js <file.node>...
//
// fails unless each needs glibc 2.17 at most and no libstdc++ (GLIBCXX,
// CXXABI): the floor of the release binaries (scripts/build-release.js).

const { execFileSync } = require('node:child_process')

/** The glibc the release binaries are built against. */
const GLIBC_FLOOR = '2.17'

function compareVersions(a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  }
  return 0
}

/** The highest version the binary needs of each runtime, e.g. `{ GLIBC: '2.17', GCC: '3.0' }`. */
function neededVersions(binary) {
  const text = execFileSync('readelf', ['-W', '--dyn-syms', binary], { encoding: 'utf8', maxBuffer: 64 << 20 })
  const highest = {}
  for (const [, prefix, version] of text.matchAll(/\b(GLIBC|GLIBCXX|CXXABI|GCC)_([0-9.]+)/g)) {
    if (!highest[prefix] || compareVersions(version, highest[prefix]) > 0) highest[prefix] = version
  }
  return highest
}

/** Why the binary misses the floor, or an empty list. */
function floorProblems(binary) {
  const needed = neededVersions(binary)
  const problems = []
  if (needed.GLIBC && compareVersions(needed.GLIBC, GLIBC_FLOOR) > 0) problems.push(`needs GLIBC_${needed.GLIBC}, above ${GLIBC_FLOOR}`)
  if (needed.GLIBCXX) problems.push(`needs the system's libstdc++ (GLIBCXX_${needed.GLIBCXX})`)
  if (needed.CXXABI) problems.push(`needs the system's libstdc++ (CXXABI_${needed.CXXABI})`)
  return problems
}

/** The binary's machine, as its ELF header names it (`Advanced Micro Devices X86-64`, `AArch64`). */
function machineOf(binary) {
  return execFileSync('readelf', ['-h', binary], { encoding: 'utf8' }).match(/Machine:\s+(.+)/)?.[1].trim()
}

module.exports = { GLIBC_FLOOR, neededVersions, floorProblems, machineOf }

if (require.main === module) {
  let failed = false
  for (const binary of process.argv.slice(2)) {
    const problems = floorProblems(binary)
    console.log(`${binary}: ${machineOf(binary)}, needs ${JSON.stringify(neededVersions(binary))}${problems.length ? `: ${problems.join('; ')}` : ''}`)
    failed ||= problems.length > 0
  }
  process.exit(failed ? 1 : 0)
}
