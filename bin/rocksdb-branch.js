#!/usr/bin/env node
'use strict'

// The command line of rocksdb-branch: managed checkpoints, branches and
// restore of a database on disk.

const fs = require('node:fs')
const path = require('node:path')
const { RocksDatabase, CheckpointStore, BranchStore, backups } = require('../lib/index.js')
const { heldByAnotherProcess } = require('../lib/errors.js')

const USAGE = `Usage: rocksdb-branch <command> [options]

Commands:
  checkpoint create <db> <name> [--lifetime <ms>] [--metadata <json>]
  checkpoint list <db>
  checkpoint info <db> <name-or-id>
  checkpoint delete <db> <name-or-id>
  checkpoint refresh <db> <name-or-id> <ms|never>
  checkpoint prune <db>
  checkpoint verify <db> <name-or-id>
  branch create <db> <name> [--from <checkpoint>] [--metadata <json>]
  branch list <db>
  branch info <db> <name>
  branch delete <db> <name>
  branch reset <db> <name>
  branch <db> <target> [--from <name-or-id>]   (an unmanaged branch at a path)
  restore <db> <name, id or path of a checkpoint>
  backup create <db> <store> [--metadata <text>]
  backup list <store>
  backup verify <store> <id>
  backup restore <store> <db> [--id <id>]
  backup delete <store> <id>
  backup purge <store> <keep>

Options:
  --json                     print JSON for scripts instead of a table
  --checkpoints-path <dir>   where the checkpoints live (default: <db>.checkpoints)
  --branches-path <dir>      where the branches live (default: <db>.branches)
  --s3-endpoint <url>        the S3-compatible server of an s3:// store (or
                             AWS_ENDPOINT_URL; credentials and region from
                             the usual AWS_* variables)
  -h, --help                 show this help

list, info and verify read the checkpoints or branches without opening the
database, so they work while another process has it open; the other
commands need it. A backup <store> is a directory or s3://bucket/prefix.`

class UsageError extends Error {}

function parse(argv) {
  const positional = []
  const flags = { json: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--json') flags.json = true
    else if (arg === '-h' || arg === '--help') flags.help = true
    else if (arg === '--lifetime') flags.lifetime = value()
    else if (arg === '--metadata') flags.metadata = value()
    else if (arg === '--from') flags.from = value()
    else if (arg === '--checkpoints-path') flags.checkpointsPath = value()
    else if (arg === '--branches-path') flags.branchesPath = value()
    else if (arg === '--s3-endpoint') flags.s3Endpoint = value()
    else if (arg === '--id') flags.id = value()
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`)
    else positional.push(arg)
  }
  return { positional, flags }
}

function need(positional, count, what) {
  if (positional.length < count) throw new UsageError(`missing ${what}`)
}

function number(text, what) {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${what} must be a positive number of milliseconds`)
  return value
}

/** A path that holds no database is a mistake to report, not an empty list. */
function requireDatabase(db) {
  if (!fs.existsSync(path.join(path.resolve(db), 'CURRENT'))) {
    throw Object.assign(new Error(`no database at ${path.resolve(db)}`), { code: 'ERR_DATABASE_NOT_FOUND' })
  }
}

function checkpointsDir(db, flags) {
  return path.resolve(flags.checkpointsPath ?? `${path.resolve(db)}.checkpoints`)
}

function branchesDir(db, flags) {
  return path.resolve(flags.branchesPath ?? `${path.resolve(db)}.branches`)
}

function openDatabase(db, flags) {
  try {
    return RocksDatabase.open(db, { createIfMissing: false, checkpointsPath: flags.checkpointsPath, branchesPath: flags.branchesPath })
  } catch (error) {
    throw heldByAnotherProcess(error, `${path.resolve(db)} is held open by another process; stop it first (list, info and verify work meanwhile)`)
  }
}

async function withDatabase(db, flags, work) {
  const handle = openDatabase(db, flags)
  try {
    return await work(handle)
  } finally {
    handle.close()
  }
}

function bytes(n) {
  if (n === undefined) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

function table(rows) {
  const columns = ['name', 'id', 'created', 'expires', 'sequence', 'size', 'files', 'links']
  const cells = rows.map((c) => [
    c.name,
    c.id,
    c.createdAt.toISOString(),
    c.expiresAt ? c.expiresAt.toISOString() : 'never',
    String(c.sequence),
    bytes(c.sizeBytes),
    String(c.fileCount),
    c.linkMode,
  ])
  return columnsOf(columns, cells, '(no checkpoints)')
}

function parentOf(branch) {
  return branch.parent.type === 'database' ? 'database' : `checkpoint ${branch.parent.name}`
}

function branchTable(rows) {
  const columns = ['name', 'parent', 'created', 'reset', 'sequence', 'size', 'exclusive', 'path']
  const cells = rows.map((b) => [
    b.name,
    parentOf(b),
    b.createdAt.toISOString(),
    b.resetAt ? b.resetAt.toISOString() : 'never',
    String(b.sequence),
    bytes(b.sizeBytes),
    bytes(b.exclusiveBytes),
    b.path,
  ])
  return columnsOf(columns, cells, '(no branches)')
}

function branchDetails(info) {
  const lines = [
    ['name', info.name],
    ['id', info.id],
    ['parent', info.parent.type === 'database' ? `database ${info.parent.path}` : `checkpoint ${info.parent.name} (${info.parent.id})`],
    ['created', info.createdAt.toISOString()],
    ['reset', info.resetAt ? info.resetAt.toISOString() : 'never'],
    ['sequence', String(info.sequence)],
    ['path', info.path],
    ['size', `${bytes(info.sizeBytes)} in ${info.fileCount} files`],
    ['exclusive', `${bytes(info.exclusiveBytes)} freed by deleting it`],
  ]
  return labelled(lines, info.metadata)
}

/** `[label, value]` lines as aligned text, with the metadata last when there is any. */
function labelled(lines, metadata) {
  if (metadata && Object.keys(metadata).length > 0) lines.push(['metadata', JSON.stringify(metadata)])
  return lines.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n')
}

/** A table of `cells` under `columns`, or `empty` when there are no rows. */
function columnsOf(columns, cells, empty) {
  if (cells.length === 0) return empty
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)))
  const line = (r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(columns), ...cells.map(line)].join('\n')
}

function details(info) {
  const lines = [
    ['name', info.name],
    ['id', info.id],
    ['created', info.createdAt.toISOString()],
    ['expires', info.expiresAt ? info.expiresAt.toISOString() : 'never'],
    ['sequence', String(info.sequence)],
    ['path', info.path],
    ['size', `${bytes(info.sizeBytes)} in ${info.fileCount} files`],
    ['links', info.linkMode],
  ]
  if (info.exclusiveBytes !== undefined) lines.push(['exclusive', `${bytes(info.exclusiveBytes)} freed by deleting it`])
  return labelled(lines, info.metadata)
}

async function run(argv) {
  const { positional, flags } = parse(argv)
  if (flags.help || positional.length === 0) return { text: USAGE }
  const [command, ...rest] = positional
  if (command === 'checkpoint') {
    const [action, db, arg, extra] = rest
    need(rest, 2, 'database path')
    const store = () => {
      requireDatabase(db)
      return new CheckpointStore(checkpointsDir(db, flags))
    }
    switch (action) {
      case 'list': {
        const list = store().list()
        return { json: list, text: table(list) }
      }
      case 'info': {
        need(rest, 3, 'checkpoint name or id')
        const info = store().info(arg)
        if (!info) throw Object.assign(new Error(`no checkpoint ${JSON.stringify(arg)}`), { code: 'ERR_CHECKPOINT_NOT_FOUND' })
        return { json: info, text: details(info) }
      }
      case 'verify': {
        need(rest, 3, 'checkpoint name or id')
        const report = await store().verify(arg)
        return { json: report, text: `ok: ${report.name} (${report.files} files, ${bytes(report.bytes)}) verified` }
      }
      case 'create': {
        need(rest, 3, 'checkpoint name')
        const options = {}
        if (flags.lifetime !== undefined) options.lifetime = number(flags.lifetime, '--lifetime')
        if (flags.metadata !== undefined) options.metadata = metadata(flags.metadata)
        const info = await withDatabase(db, flags, (handle) => handle.checkpoints.create(arg, options))
        return { json: info, text: `created\n${details(info)}` }
      }
      case 'delete': {
        need(rest, 3, 'checkpoint name or id')
        const deleted = await withDatabase(db, flags, (handle) => handle.checkpoints.delete(arg))
        if (!deleted) throw Object.assign(new Error(`no checkpoint ${JSON.stringify(arg)}`), { code: 'ERR_CHECKPOINT_NOT_FOUND' })
        return { json: { deleted: arg }, text: `deleted ${arg}` }
      }
      case 'refresh': {
        need(rest, 4, 'lifetime in milliseconds, or never')
        const lifetime = extra === 'never' ? null : number(extra, 'lifetime')
        const info = await withDatabase(db, flags, (handle) => handle.checkpoints.refresh(arg, lifetime))
        return { json: info, text: `${info.name} now expires ${info.expiresAt ? info.expiresAt.toISOString() : 'never'}` }
      }
      case 'prune': {
        const pruned = await withDatabase(db, flags, (handle) => handle.checkpoints.prune())
        return { json: pruned, text: pruned.length === 0 ? 'nothing expired' : `pruned ${pruned.map((c) => c.name).join(', ')}` }
      }
      default:
        throw new UsageError(`unknown checkpoint command ${JSON.stringify(action)}`)
    }
  }
  if (command === 'branch' && BRANCH_ACTIONS.includes(rest[0])) return branchCommand(rest, flags)
  if (command === 'backup') return backupCommand(rest, flags)
  if (command === 'branch') {
    need(rest, 2, 'database path and branch target')
    const [db, target] = rest
    const branch = flags.from
      ? await new CheckpointStore(checkpointsDir(db, flags)).branch(flags.from, target)
      : await withDatabase(db, flags, (handle) => handle.branch(target))
    const result = { path: branch.path, from: flags.from ?? path.resolve(db) }
    branch.close()
    return { json: result, text: `branched ${result.from} to ${result.path}` }
  }
  if (command === 'restore') {
    need(rest, 2, 'database path and checkpoint')
    const [db, checkpoint] = rest
    const record = new CheckpointStore(checkpointsDir(db, flags)).info(checkpoint)
    const source = record ? record.path : path.resolve(checkpoint)
    const outcome = await RocksDatabase.restore(db, source, { checkpointsPath: flags.checkpointsPath })
    // A new path had no state to keep.
    const kept = outcome.preRestore ? `\nthe replaced state is kept as checkpoint ${outcome.preRestore.name}` : ''
    return { json: outcome, text: `restored ${path.resolve(db)} from ${outcome.restoredFrom}${kept}` }
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}`)
}

const BRANCH_ACTIONS = ['create', 'list', 'info', 'delete', 'reset']

function metadata(text) {
  try {
    return JSON.parse(text)
  } catch {
    throw new UsageError('--metadata must be a JSON object')
  }
}

/** `branch create|list|info|delete|reset <db> ...`: the managed branches of a database. */
async function branchCommand(rest, flags) {
  const [action, db, name] = rest
  need(rest, 2, 'database path')
  if (action !== 'list') need(rest, 3, 'branch name')
  switch (action) {
    case 'list': {
      requireDatabase(db)
      const list = new BranchStore(branchesDir(db, flags)).list()
      return { json: list, text: branchTable(list) }
    }
    case 'info': {
      requireDatabase(db)
      const info = new BranchStore(branchesDir(db, flags)).info(name)
      if (!info) throw Object.assign(new Error(`no branch ${JSON.stringify(name)}`), { code: 'ERR_BRANCH_NOT_FOUND' })
      return { json: info, text: branchDetails(info) }
    }
    case 'create': {
      const options = {}
      if (flags.from !== undefined) options.from = flags.from
      if (flags.metadata !== undefined) options.metadata = metadata(flags.metadata)
      const info = await withDatabase(db, flags, (handle) => handle.branches.create(name, options))
      return { json: info, text: `created\n${branchDetails(info)}` }
    }
    case 'delete': {
      const deleted = await withDatabase(db, flags, (handle) => handle.branches.delete(name))
      if (!deleted) throw Object.assign(new Error(`no branch ${JSON.stringify(name)}`), { code: 'ERR_BRANCH_NOT_FOUND' })
      return { json: { deleted: name }, text: `deleted ${name}` }
    }
    case 'reset': {
      const info = await withDatabase(db, flags, (handle) => handle.branches.reset(name))
      return { json: info, text: `reset ${name} to its parent's current state\n${branchDetails(info)}` }
    }
  }
}

function positiveInteger(text, what) {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${what} must be a whole number`)
  return value
}

function backupTable(rows) {
  const columns = ['id', 'created', 'sequence', 'size', 'files', 'metadata']
  const cells = rows.map((b) => [String(b.backupId), b.createdAt.toISOString(), String(b.sequence), bytes(b.size), String(b.numberFiles), b.appMetadata])
  return columnsOf(columns, cells, '(no backups)')
}

/** `backup create|list|verify|restore|delete|purge`: backups in a directory or s3:// store. */
async function backupCommand(rest, flags) {
  const [action, first, second] = rest
  const options = flags.s3Endpoint ? { s3: { endpoint: flags.s3Endpoint } } : {}
  switch (action) {
    case 'create': {
      need(rest, 3, 'database path and backup store')
      const id = await withDatabase(first, flags, (handle) => handle.backup(second, { ...options, metadata: flags.metadata }))
      const info = (await backups.list(second, options)).find((b) => b.backupId === id)
      return { json: info, text: `backup ${id} of ${path.resolve(first)} in ${second}: ${info.numberFiles} files, ${bytes(info.size)}` }
    }
    case 'list': {
      need(rest, 2, 'backup store')
      const list = await backups.list(first, options)
      return { json: list, text: backupTable(list) }
    }
    case 'verify': {
      need(rest, 3, 'backup store and backup id')
      const report = await backups.verify(first, positiveInteger(second, 'the backup id'), options)
      return { json: report, text: `ok: backup ${report.backupId} (${report.files} files, ${bytes(report.bytes)}) verified` }
    }
    case 'restore': {
      need(rest, 3, 'backup store and database path')
      if (flags.id !== undefined) options.backupId = positiveInteger(flags.id, '--id')
      const outcome = await backups.restore(first, second, options)
      const kept = outcome.preRestore ? `\nthe replaced state is kept as checkpoint ${outcome.preRestore.name}` : ''
      return { json: outcome, text: `restored backup ${outcome.backupId} to ${outcome.path}${kept}` }
    }
    case 'delete': {
      need(rest, 3, 'backup store and backup id')
      const id = positiveInteger(second, 'the backup id')
      await backups.delete(first, id, options)
      return { json: { deleted: id }, text: `deleted backup ${id}` }
    }
    case 'purge': {
      need(rest, 3, 'backup store and the number of backups to keep')
      const deleted = await backups.purge(first, positiveInteger(second, 'the number to keep'), options)
      return { json: { deleted }, text: deleted.length === 0 ? 'nothing to purge' : `deleted backups ${deleted.join(', ')}` }
    }
    default:
      throw new UsageError(`unknown backup command ${JSON.stringify(action)}`)
  }
}

async function main() {
  const argv = process.argv.slice(2)
  const json = argv.includes('--json')
  try {
    const result = await run(argv)
    process.stdout.write((json && result.json !== undefined ? JSON.stringify(result.json, null, 2) : result.text) + '\n')
  } catch (error) {
    const usage = error instanceof UsageError
    const message = `rocksdb-branch: ${error.message}${error.code ? ` (${error.code})` : ''}`
    process.stderr.write((json ? JSON.stringify({ error: error.message, code: error.code ?? null }) : message.split('\n')[0]) + '\n')
    if (usage) process.stderr.write('Run rocksdb-branch --help for usage.\n')
    process.exitCode = usage ? 2 : 1
  }
}

main()
