'use strict'

/**
 * The lock of a backup store, held by writers exclusively and by restores
 * and verifications shared, across processes: a locked file in a directory
 * store (below), an object with leased holders in S3 (./s3-store).
 */

const { codedError } = require('../registry')

const LOCK_FILE = '.backup.lock'

function storeLocked(location) {
  return codedError('ERR_BACKUP_LOCKED', `${location} is locked by another backup, restore, delete or purge; retry when it is done`)
}

/** The holders of an S3 lock object whose lease has not run out. */
function liveHolders(state) {
  const now = Date.now()
  return Array.isArray(state?.holders) ? state.holders.filter((h) => typeof h?.id === 'string' && Date.parse(h.expiresAt) > now) : []
}

module.exports = { LOCK_FILE, storeLocked, liveHolders }
