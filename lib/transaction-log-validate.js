'use strict'

/**
 * rocksdb-js's `validateTransactionLogStore(path, options)`: an offline
 * check of a log directory (`<db>/transaction_logs/<name>`), for a live
 * database's logs or a copy of them. Every `<sequence>.txnlog` must have a
 * version 1 header and whole entries; sequences must follow one another;
 * `txn.state`, when there, must be 8 bytes naming a place inside the logs.
 * A torn tail (what a crash mid-append leaves, cut at the next open), a
 * gap in the sequence, or a `txn.state` past the files is a warning, or
 * with `strict: true` an error (an intact copy has none of them). Resolves
 * with a report; rejects only when `path` is not a directory.
 */

const fs = require('node:fs')
const path = require('node:path')
const { invalidArgType } = require('./errors')

const { framesOf, TOKEN, FILE_HEADER_SIZE, ENTRY_HEADER_SIZE } = require('./transaction-log-read')

/** The report of one log file's bytes. */
function validateFile(file, sequence, bytes, strict) {
  const report = { file, sequence, size: bytes.length, entries: 0, validBytes: 0, valid: true, errors: [], warnings: [] }
  const fail = (message) => {
    report.errors.push(message)
    report.valid = false
  }
  if (bytes.length === 0) {
    report.warnings.push('Empty file (no header): made when a crash came before its first entry')
    return report
  }
  if (bytes.length < FILE_HEADER_SIZE) {
    fail(`Header is ${bytes.length} bytes, not ${FILE_HEADER_SIZE}`)
    return report
  }
  const token = bytes.readUInt32BE(0)
  if (token !== TOKEN) {
    fail(`Bad token 0x${token.toString(16)} (expected 0x${TOKEN.toString(16)})`)
    return report
  }
  if (bytes[4] !== 1) {
    fail(`Unsupported version ${bytes[4]}`)
    return report
  }
  let at = FILE_HEADER_SIZE
  for (const { timestamp, position, length } of framesOf(bytes, FILE_HEADER_SIZE, bytes.length)) {
    if (!Number.isFinite(timestamp) || timestamp < 0) report.warnings.push(`Entry at ${position} has the timestamp ${timestamp}`)
    report.entries++
    at = position + ENTRY_HEADER_SIZE + length
  }
  report.validBytes = at
  if (at < bytes.length) {
    const message = `Torn/partial entry at ${at}: ${bytes.length - at} bytes after the last whole entry`
    if (strict) fail(message)
    else report.warnings.push(message)
  }
  return report
}

/** Validates the log directory `storePath`; see the module's comment. */
async function validateTransactionLogStore(storePath, options = {}) {
  if (typeof storePath !== 'string' || storePath.length === 0) throw invalidArgType('path', 'a directory path', storePath)
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  const strict = options.strict === true
  let names
  try {
    if (!(await fs.promises.stat(storePath)).isDirectory()) throw new Error(`${storePath} is not a directory`)
    names = await fs.promises.readdir(storePath)
  } catch (error) {
    const refused = new Error(error.code === 'ENOENT' ? `${storePath} does not exist` : error.message, { cause: error })
    refused.code = error.code === 'ENOENT' ? 'ERR_IO' : 'ERR_NOT_A_DIRECTORY'
    throw refused
  }
  const report = { path: storePath, valid: true, errors: [], warnings: [], files: [] }
  const storeIssue = (message, always) => {
    if (always || strict) {
      report.errors.push(message)
      report.valid = false
    } else report.warnings.push(message)
  }
  const sequences = []
  for (const name of names) {
    const match = /^(\d+)\.txnlog$/.exec(name)
    if (match) sequences.push(Number(match[1]))
    else if (name.endsWith('.txnlog')) storeIssue(`Malformed log file name: ${name}`, true)
    else if (name !== 'txn.state' && name !== 'txn.state.tmp') report.warnings.push(`Unexpected file: ${name}`)
  }
  sequences.sort((a, b) => a - b)
  for (const sequence of sequences) {
    const file = `${sequence}.txnlog`
    const fileReport = validateFile(file, sequence, await fs.promises.readFile(path.join(storePath, file)), strict)
    if (!fileReport.valid) report.valid = false
    report.files.push(fileReport)
  }
  for (let i = 1; i < sequences.length; i++) {
    if (sequences[i] !== sequences[i - 1] + 1) storeIssue(`Sequence gap: ${sequences[i - 1]} is followed by ${sequences[i]}`)
  }
  let state
  try {
    state = await fs.promises.readFile(path.join(storePath, 'txn.state'))
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
  }
  if (state !== undefined) {
    if (state.length !== 8) storeIssue(`txn.state is ${state.length} bytes, not 8`, true)
    else {
      const offset = state.readUInt32LE(0)
      const sequence = state.readUInt32LE(4)
      const newest = sequences.at(-1) ?? 0
      const fileReport = report.files.find((file) => file.sequence === sequence)
      if (sequence > newest) storeIssue(`txn.state names log file ${sequence}, past the newest (${newest})`)
      else if (fileReport !== undefined && offset > fileReport.size) {
        storeIssue(`txn.state names offset ${offset} of ${fileReport.file}, past its ${fileReport.size} bytes`)
      }
    }
  }
  return report
}

module.exports = { validateTransactionLogStore }
