'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const stream = require('node:stream')
const { hashFile } = require('../binding')
const { invalidArgValue } = require('../errors')
const { codedError } = require('../registry')
const { corrupt } = require('./shared')
const { LOCK_FILE, storeLocked, liveHolders } = require('./lock')

/** A backup store in S3 or an S3-compatible service, at `s3://bucket/prefix`. */
class S3Store {
  #client
  #sdk

  constructor(url, options = {}) {
    const parsed = new URL(url)
    this.bucket = parsed.hostname
    this.prefix = parsed.pathname.replace(/^\/+|\/+$/g, '')
    this.location = url
    if (!this.bucket) throw invalidArgValue('dir', `must name a bucket: s3://bucket/prefix. Received ${JSON.stringify(url)}`)
    this.options = options
  }

  #key(key) {
    return this.prefix ? `${this.prefix}/${key}` : key
  }

  get #s3() {
    if (!this.#client) {
      let sdk
      try {
        sdk = { ...require('@aws-sdk/client-s3'), ...require('@aws-sdk/lib-storage') }
      } catch (error) {
        throw codedError(
          'ERR_MODULE_NOT_FOUND',
          `backups to s3:// need the AWS SDK: npm install @aws-sdk/client-s3 @aws-sdk/lib-storage (${error.message.split('\n')[0]})`,
        )
      }
      const { endpoint, region, credentials, forcePathStyle } = this.options
      this.#sdk = sdk
      this.#client = new sdk.S3Client({
        endpoint: endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
        region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        credentials,
        // Servers other than AWS seldom have a DNS name per bucket.
        forcePathStyle: forcePathStyle ?? (endpoint !== undefined || process.env.AWS_ENDPOINT_URL !== undefined),
      })
    }
    return this.#client
  }

  #send(Command, input) {
    const client = this.#s3
    return client.send(new this.#sdk[Command]({ Bucket: this.bucket, ...input }))
  }

  #failed(error, what) {
    if (error?.code?.startsWith?.('ERR_')) return error
    const status = error?.$metadata?.httpStatusCode
    return codedError('ERR_S3', `${what} ${this.location}: ${error?.name ?? 'Error'}: ${error?.message ?? error}${status ? ` (HTTP ${status})` : ''}`)
  }

  #missing(error) {
    return error?.name === 'NoSuchKey' || error?.name === 'NotFound' || error?.$metadata?.httpStatusCode === 404
  }

  /** The text of the object `key` and its ETag, or `undefined` when it is missing. */
  async #getText(key) {
    try {
      const response = await this.#send('GetObjectCommand', { Key: this.#key(key) })
      return { text: await response.Body.transformToString('utf8'), etag: response.ETag }
    } catch (error) {
      if (this.#missing(error)) return undefined
      throw this.#failed(error, `cannot read ${key} of`)
    }
  }

  async readJson(key) {
    const object = await this.#getText(key)
    if (object === undefined) return undefined
    try {
      return JSON.parse(object.text)
    } catch (error) {
      throw corrupt(`${this.location}/${key} is not valid JSON: ${error.message}`, `${this.location}/${key}`)
    }
  }

  async writeJson(key, value) {
    try {
      await this.#send('PutObjectCommand', { Key: this.#key(key), Body: JSON.stringify(value, null, 2) + '\n', ContentType: 'application/json' })
    } catch (error) {
      throw this.#failed(error, `cannot write ${key} to`)
    }
  }

  async has(key) {
    try {
      await this.#send('HeadObjectCommand', { Key: this.#key(key) })
      return true
    } catch (error) {
      if (this.#missing(error)) return false
      throw this.#failed(error, `cannot look up ${key} in`)
    }
  }

  async list(prefix) {
    const keys = []
    let ContinuationToken
    const base = this.#key(prefix) + '/'
    try {
      do {
        const page = await this.#send('ListObjectsV2Command', { Prefix: base, ContinuationToken })
        for (const object of page.Contents ?? []) keys.push(`${prefix}/${object.Key.slice(base.length)}`)
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (ContinuationToken)
    } catch (error) {
      throw this.#failed(error, `cannot list ${prefix} of`)
    }
    return keys
  }

  async delete(key) {
    try {
      await this.#send('DeleteObjectCommand', { Key: this.#key(key) })
    } catch (error) {
      throw this.#failed(error, `cannot delete ${key} from`)
    }
  }

  /**
   * Uploads the file at `source` under its digest, unless the store has it.
   * The digest is taken first (on libuv's pool), so an unchanged file is
   * read but not uploaded. The source is a file of a checkpoint, which
   * nothing changes, so the bytes uploaded are the bytes hashed; verify
   * and restore check them again on the way back.
   */
  async putFile(source, { algorithm }) {
    const digest = await hashFile(source, algorithm)
    const key = `files/${digest.digest}`
    if (await this.has(key)) return { ...digest, copied: 0 }
    const Body = fs.createReadStream(source, { highWaterMark: 1 << 20 })
    try {
      const upload = new this.#sdk.Upload({
        client: this.#s3,
        params: { Bucket: this.bucket, Key: this.#key(key), Body },
        partSize: 16 << 20,
        queueSize: 2,
      })
      await upload.done()
    } catch (error) {
      throw this.#failed(error, `cannot upload ${path.basename(source)} to`)
    } finally {
      Body.destroy()
    }
    return { ...digest, copied: digest.size }
  }

  async #download(key, target) {
    let response
    try {
      response = await this.#send('GetObjectCommand', { Key: this.#key(key) })
    } catch (error) {
      if (this.#missing(error)) throw corrupt(`${this.location}/${key} is missing`, `${this.location}/${key}`)
      throw this.#failed(error, `cannot download ${key} from`)
    }
    await stream.promises.pipeline(response.Body, fs.createWriteStream(target, { flags: 'wx' }))
  }

  async getFile(key, target, algorithm) {
    await this.#download(key, target)
    return hashFile(target, algorithm)
  }

  async sync() {}

  async removeTemporaryFiles() {}

  /**
   * Takes the store's lock, as a directory store's lock file does across
   * processes and machines: one object, `.backup.lock` under the prefix,
   * changed only by conditional writes (`If-None-Match: *` to make it,
   * `If-Match` on its ETag to change it), that lists its holders (one
   * writer, or any number of restores), each with a lease it renews while
   * it works (`s3.lockLease`, default 60 s). The lock of a holder that died
   * is free once its lease has run out. Rejects with `ERR_BACKUP_LOCKED`
   * when it is taken. A service that ignores conditional writes gets no
   * protection from it.
   */
  async lock(shared) {
    const lease = this.options.lockLease ?? 60_000
    const id = crypto.randomUUID()
    const mode = shared ? 'shared' : 'exclusive'
    const holder = () => ({ id, expiresAt: new Date(Date.now() + lease).toISOString(), host: os.hostname(), pid: process.pid })
    await this.#changeLock((state) => {
      const holders = liveHolders(state)
      if (holders.length > 0 && (!shared || state.mode !== 'shared')) throw storeLocked(this.location)
      return { mode, holders: [...holders, holder()] }
    })
    let heldUntil = Date.now() + lease
    let lost = null
    let renewing = Promise.resolve()
    const renew = () => {
      renewing = this.#changeLock((state) => {
        const holders = liveHolders(state)
        if (!holders.some((h) => h.id === id)) throw codedError('ERR_BACKUP_LOCKED', `the lock of ${this.location} was lost: its lease ran out`)
        return { mode: state.mode, holders: holders.map((h) => (h.id === id ? holder() : h)) }
      }).then(
        () => {
          heldUntil = Date.now() + lease
        },
        (error) => {
          if (error.code === 'ERR_BACKUP_LOCKED') lost = error
          // Otherwise the service failed: the next renewal tries again.
        },
      )
    }
    const timer = setInterval(renew, Math.max(1, Math.floor(lease / 3))).unref()
    return {
      release: async () => {
        clearInterval(timer)
        await renewing
        // Not deleted: a delete could remove a lock another process made
        // meanwhile. An object with no live holder is a free lock.
        await this.#changeLock((state) => ({ mode: state?.mode ?? mode, holders: liveHolders(state).filter((h) => h.id !== id) })).catch(() => {})
      },
      assertHeld: () => {
        if (lost) throw lost
        if (Date.now() >= heldUntil) throw codedError('ERR_BACKUP_LOCKED', `the lock of ${this.location} was lost: its lease ran out before it could be renewed`)
      },
    }
  }

  /**
   * Reads the lock object, passes its state to `change` (which returns the
   * new state or throws), and writes the result only if nobody changed the
   * object meanwhile; tries again when somebody did.
   */
  async #changeLock(change) {
    for (let attempt = 0; ; attempt++) {
      const object = await this.#getText(LOCK_FILE)
      let state
      try {
        state = object && JSON.parse(object.text)
      } catch {
        // A lock object this package did not write: nobody holds it.
      }
      const etag = object?.etag
      const next = change(state)
      try {
        await this.#send('PutObjectCommand', {
          Key: this.#key(LOCK_FILE),
          Body: JSON.stringify(next) + '\n',
          ContentType: 'application/json',
          ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        })
        return next
      } catch (error) {
        const status = error?.$metadata?.httpStatusCode
        // 412: the object changed (or appeared) since it was read; 409: a
        // concurrent conditional write is in progress.
        if ((status === 412 || status === 409) && attempt < 20) {
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)))
          continue
        }
        throw this.#failed(error, `cannot write the lock of`)
      }
    }
  }

  async freeBytes() {
    return undefined
  }

  localFile() {
    return undefined
  }
}

module.exports = { S3Store }
