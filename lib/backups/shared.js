'use strict'

/** What the modules of backups share: aborts, corruption, and the few file calls they all make. */

const fs = require('node:fs')
const { codedError } = require('../registry')

function abortError(signal) {
  const error = new Error('The backup was aborted', { cause: signal?.reason })
  error.name = 'AbortError'
  error.code = 'ABORT_ERR'
  return error
}

async function exists(file) {
  try {
    await fs.promises.access(file)
    return true
  } catch {
    return false
  }
}

/** fsync of a directory through libuv's pool; a missing one has nothing to sync. */
async function syncDirectory(dir) {
  if (process.platform === 'win32') return
  let handle
  try {
    handle = await fs.promises.open(dir, 'r')
  } catch (error) {
    if (error.code === 'ENOENT') return
    throw error
  }
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function checkSignal(signal) {
  if (signal?.aborted) throw abortError(signal)
}

function corrupt(message, file) {
  return codedError('ERR_ROCKSDB_CORRUPTION', message, { file })
}

/**
 * Runs `work(item, index)` for each of `items`, `limit` at a time (each a
 * call on libuv's pool, mostly). The first failure stops the others from
 * starting an item, and is thrown once those running have settled, so no
 * work outlives the call.
 */
async function eachAtATime(items, limit, work) {
  let next = 0
  let failure = null
  const worker = async () => {
    while (failure === null && next < items.length) {
      const index = next++
      try {
        await work(items[index], index)
      } catch (error) {
        failure ??= error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure !== null) throw failure
}

module.exports = { abortError, exists, syncDirectory, checkSignal, corrupt, eachAtATime }
