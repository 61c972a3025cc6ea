import {createHash, randomUUID} from 'node:crypto'
import {type Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type {Bucket as GcsBucketHandle, FileMetadata, Storage} from '@google-cloud/storage'

import type {Logger} from '../log.js'
import {isTransient, retry} from '../retry.js'
import {base64ToHex, bufferOf, checkBody, guardBody, HashingStream, hexToBase64, md5Hex, splitBody} from './body.js'
import {type DirectRead, WHOLE_READ_MAX, wholeRead} from './direct-get.js'
import {isStorageError, StorageError, storageErrorFromStatus} from './errors.js'
import {httpRead, httpRequestOnce} from './http.js'
import type {StorageOptions} from './open.js'
import {gcsSdk} from './sdks.js'
import {sortEntries} from './url.js'
import type {
  Bucket,
  DeleteOptions,
  ListEntry,
  ListOptions,
  ObjectInfo,
  Precondition,
  ReadOptions,
  ReadResult,
  WriteOptions,
} from './types.js'

/** The JSON API's own endpoint: any other is custom, as the SDK's Storage constructor decides. */
const GCS_DEFAULT_ENDPOINT = 'https://storage.googleapis.com'

/** Objects per listing page: the most the JSON API returns (as the SDK's getFiles and rclone page). */
const LIST_PAGE = 1000

/** Bodies up to this size go in one multipart request; larger ones in a resumable upload. */
const SINGLE_PUT_MAX = 8 * 1024 * 1024

export type GcsBucketOptions = NonNullable<StorageOptions['gcs']> & {
  attempts?: number | undefined
  idleTimeoutMs?: number | undefined
  logger?: Logger | undefined
}

/**
 * Google Cloud Storage. Uploads are validated by the SDK against the MD5 the
 * service computed (a mismatch deletes the new object); preconditions travel
 * as ifGenerationMatch (0 for create-only), which the service checks
 * atomically. Reads first fetch the metadata, then read that very generation,
 * so a concurrent overwrite cannot splice two versions.
 */
export class GcsBucket implements Bucket {
  readonly scheme = 'gs' as const
  readonly writable = true
  readonly metadata = true
  readonly directoryObjects = true
  readonly url: string

  /** The SDK's handle of the bucket, made at its first use: listing, stat and reads do not load the SDK (unless for a token). */
  private handle: GcsBucketHandle | undefined

  private constructor(
    readonly name: string,
    private readonly makeBucket: () => GcsBucketHandle,
    /** The JSON API's endpoint (no trailing slash), and whether requests there carry the SDK's access token. */
    private readonly service: {endpoint: string; auth: boolean},
    private readonly idleTimeoutMs?: number,
    private readonly attempts = 5,
  ) {
    this.url = `gs://${name}/`
  }

  static async open(name: string, options: GcsBucketOptions): Promise<GcsBucket> {
    const make = (): GcsBucketHandle => {
      const {Storage} = gcsSdk()
      const storage: Storage = new Storage({
        ...options.clientOptions,
        ...(options.apiEndpoint ? {apiEndpoint: options.apiEndpoint} : {}),
        retryOptions: {autoRetry: true, maxRetries: (options.attempts ?? 5) - 1},
        ...(options.idleTimeoutMs ? {timeout: options.idleTimeoutMs} : {}),
      })
      return storage.bucket(name)
    }
    // As the SDK's Storage constructor decides: another endpoint than the default is a custom one, which
    // gets no token unless useAuthWithCustomEndpoint (an emulator). STORAGE_EMULATOR_HOST reaches here as
    // apiEndpoint (@mantle/auth's endpoints.ts).
    const endpoint = (options.apiEndpoint ?? GCS_DEFAULT_ENDPOINT).replace(/\/+$/, '')
    const custom = endpoint !== GCS_DEFAULT_ENDPOINT
    const auth = !custom || options.clientOptions?.useAuthWithCustomEndpoint === true
    return new GcsBucket(name, make, {endpoint, auth}, options.idleTimeoutMs, options.attempts)
  }

  private get bucket(): GcsBucketHandle {
    this.handle ??= this.makeBucket()
    return this.handle
  }

  /** The SDK's access token where requests carry one ({} for an emulator, which the SDK sends none either). */
  private async authHeaders(url: string): Promise<Record<string, string> | undefined> {
    if (!this.service.auth) return {}
    const storage = this.bucket.storage
    const token = await this.call(url, () => storage.authClient.getAccessToken())
    return token ? {authorization: `Bearer ${token}`} : undefined
  }

  /**
   * One JSON API request with node's own client, retried as the SDK retries (connection errors, 5xx,
   * 429); a failed answer's JSON error becomes what gcsError makes of the SDK's. `path` follows
   * /storage/v1/b/<bucket> (or /upload/storage/v1/b/<bucket> for an upload).
   */
  private async api(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    query: Record<string, string>,
    url: string,
    options: {signal?: AbortSignal | undefined; upload?: {body: Buffer; contentType: string}; onRetry?: () => void} = {},
  ): Promise<unknown> {
    const q = Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    const base = `${this.service.endpoint}${options.upload ? '/upload' : ''}/storage/v1/b/${encodeURIComponent(this.name)}`
    const request = `${base}${path}${q.length ? `?${q.join('&')}` : ''}`
    const {signal, upload} = options
    return retry(
      async () => {
        const headers = await this.authHeaders(url)
        if (headers === undefined) throw new StorageError('access-denied', `${url}: no access token`, {url})
        const response = await httpRequestOnce(
          method,
          request,
          {
            accept: 'application/json',
            ...headers,
            ...(upload ? {'content-type': upload.contentType, 'content-length': String(upload.body.length)} : {}),
          },
          {idleTimeoutMs: this.idleTimeoutMs, signal, body: upload?.body},
        )
        const text = (await bufferOf(response)).toString('utf8')
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) return text === '' ? undefined : (JSON.parse(text) as unknown)
        let detail: {message?: string; errors?: {reason?: string}[]} = {}
        try {
          detail = (JSON.parse(text) as {error?: typeof detail}).error ?? {}
        } catch {
          // Not JSON: the status says enough.
        }
        throw gcsError({code: status, message: detail.message ?? `HTTP ${status}`, errors: detail.errors}, url, this.url)
      },
      {
        attempts: this.attempts,
        retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
        ...(options.onRetry ? {onRetry: options.onRetry} : {}),
        ...(signal ? {signal} : {}),
      },
    ).catch((error: unknown) => {
      throw gcsError(error, url, this.url)
    })
  }

  urlOf(key: string): string {
    return `gs://${this.name}/${key}`
  }

  /** The JSON API's objects.list, as the SDK's getFiles asks (prefix, delimiter, maxResults, pageToken), read with JSON.parse. */
  async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
    const url = this.url + (options.prefix ?? '')
    let pageToken: string | undefined
    do {
      const page = (await this.api(
        'GET',
        '/o',
        {
          ...(options.prefix ? {prefix: options.prefix} : {}),
          ...(options.delimiter ? {delimiter: options.delimiter} : {}),
          maxResults: String(LIST_PAGE),
          ...(pageToken ? {pageToken} : {}),
        },
        url,
        {signal: options.signal},
      )) as {items?: (FileMetadata & {name: string})[]; prefixes?: string[]; nextPageToken?: string}
      yield* sortEntries([
        ...(page.items ?? []).map((f): ListEntry => ({type: 'object', object: infoOf(f.name, f)})),
        ...(page.prefixes ?? []).map((prefix): ListEntry => ({type: 'prefix', prefix})),
      ])
      pageToken = page.nextPageToken
      options.signal?.throwIfAborted()
    } while (pageToken)
  }

  /** The JSON API's objects.get (the metadata, no alt=media), as the SDK's getMetadata. */
  async stat(key: string, options: {signal?: AbortSignal} = {}): Promise<ObjectInfo | undefined> {
    try {
      return infoOf(
        key,
        (await this.api('GET', `/o/${encodeURIComponent(key)}`, {}, this.urlOf(key), {signal: options.signal})) as FileMetadata,
      )
    } catch (error) {
      if (isStorageError(error, 'not-found')) return undefined
      throw error
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const url = this.urlOf(key)
    const info = options.known ?? (await this.stat(key))
    if (!info) throw new StorageError('not-found', `${url}: not found`, {url})
    const start = options.start ?? 0
    if (start > 0 && start >= info.size) {
      throw new StorageError('range-not-satisfiable', `${url}: range starts at ${start}, the object has ${info.size} bytes`, {
        url,
        size: info.size,
      })
    }
    const ranged = start > 0 || options.end !== undefined
    // The plain media GET of that generation, as large downloads read: the SDK's read stream stacks five
    // pipelines on one PassThrough, whose eleventh listener drew a MaxListenersExceededWarning at every read.
    const direct = await this.directRead(key, info)
    if (direct && !ranged && info.size > 0 && info.size <= WHOLE_READ_MAX) {
      // A small object in one buffer over a kept connection (a sync of thousands: no stream, no node:http request).
      return wholeRead(() => direct, url, info, {signal: options.signal, idleTimeoutMs: this.idleTimeoutMs})
    }
    if (direct) {
      const got = await retry(
        () => httpRead(direct.url, url, key, {...options, headers: direct.headers, idleTimeoutMs: this.idleTimeoutMs}),
        {
          attempts: 5,
          retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
        },
      )
      // A whole read is checked against the stored MD5, as the SDK checked it.
      const body = !ranged && info.md5 ? checkedBody(got.body, url, info.md5) : got.body
      return {body, offset: got.offset, size: info.size, info}
    }
    const file = this.bucket.file(key, info.generation ? {generation: Number(info.generation)} : {})
    // Whole reads are checked against the stored MD5/CRC32C by the SDK; ranges cannot be.
    const source = file.createReadStream({
      ...(ranged ? {start, ...(options.end === undefined ? {} : {end: options.end})} : {}),
      decompress: false,
      validation: ranged ? false : true,
    })
    const expected = (options.end === undefined ? info.size - 1 : Math.min(options.end, info.size - 1)) - start + 1
    if (options.signal) options.signal.addEventListener('abort', () => source.destroy(options.signal!.reason as Error), {once: true})
    // The SDK's own check of a whole read failing is corruption, not a lost connection.
    const mismatch = (error: unknown): Error | undefined =>
      /MISMATCH/.test(String((error as {code?: unknown}).code))
        ? new StorageError('corrupt', `${url}: the bytes received do not match the stored checksum`, {url, cause: error})
        : undefined
    return {body: guardBody(source, url, expected, mismatch), offset: start, size: info.size, info}
  }

  /**
   * The JSON API's media GET of that generation, with the SDK's own access
   * token (none for an emulator endpoint, as the SDK itself sends none there).
   */
  async directRead(key: string, info: ObjectInfo): Promise<DirectRead | undefined> {
    const query = `alt=media${info.generation ? `&generation=${info.generation}` : ''}`
    const url = `${this.service.endpoint}/storage/v1/b/${encodeURIComponent(this.name)}/o/${encodeURIComponent(key)}?${query}`
    const headers = await this.authHeaders(this.urlOf(key))
    return headers ? {url, headers} : undefined
  }

  async write(key: string, body: Readable | Buffer | string, options: WriteOptions = {}): Promise<ObjectInfo> {
    const split = await splitBody(body, SINGLE_PUT_MAX)
    if ('single' in split) return this.putSingle(key, split.single, options)
    const url = this.urlOf(key)
    const file = this.bucket.file(key)
    const metadata: FileMetadata = {
      ...(options.contentType ? {contentType: options.contentType} : {}),
      ...(options.cacheControl ? {cacheControl: options.cacheControl} : {}),
      ...(options.md5 ? {md5Hash: hexToBase64(options.md5)} : {}),
    }
    const hashing = new HashingStream(options.onProgress)
    const parts = split.parts
    const upload = file.createWriteStream({
      resumable: true,
      metadata,
      validation: 'md5',
      ...(options.contentType ? {contentType: options.contentType} : {}),
      preconditionOpts: preconditionOpts(options.precondition),
    })
    let session: string | undefined
    upload.on('uri', (uri: string) => (session = uri))
    try {
      await this.call(url, () =>
        pipeline(
          (async function* () {
            for await (const part of parts) yield* part
          })(),
          hashing,
          upload,
          options.signal ? {signal: options.signal} : {},
        ),
      )
    } catch (error) {
      // On errors and on the signal of SIGINT/SIGTERM alike, the resumable session is cancelled (GCS answers
      // 499), so its bytes are not kept for the week a session lives. The session URI is its own credential.
      if (session) await fetch(session, {method: 'DELETE', headers: {'content-length': '0'}}).catch(() => undefined)
      throw error
    }
    checkBody(url, {bytes: hashing.bytes, md5: hashing.md5()}, {size: options.size, md5: options.md5})
    return {...infoOf(key, file.metadata), md5: hashing.md5(), size: hashing.bytes}
  }

  /**
   * A body of one part in one multipart upload, as the SDK's createWriteStream({resumable: false}) sends it
   * (github:googleapis/nodejs-storage src/file.ts startSimpleUpload_, src/nodejs-common/util.ts
   * makeWritableStream: POST /upload/storage/v1/b/<bucket>/o?uploadType=multipart&name=<key> and the
   * precondition, a multipart/related body of the JSON metadata and the media), without loading the SDK.
   * The metadata carries the body's MD5, which GCS checks; as the SDK's validation: 'md5' did, the MD5
   * the service reports is compared too, and a stored object that differs is deleted (by its generation).
   * A retry of a create-only write whose first answer was lost finds the object there (412): it is ours
   * when its MD5 is ours.
   */
  private async putSingle(key: string, data: Buffer, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key)
    const md5 = md5Hex(data)
    checkBody(url, {bytes: data.length, md5}, {size: options.size, md5: options.md5})
    const metadata = {
      ...(options.contentType ? {contentType: options.contentType} : {}),
      ...(options.cacheControl ? {cacheControl: options.cacheControl} : {}),
      md5Hash: hexToBase64(md5),
    }
    const boundary = randomUUID()
    const head = `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(metadata)}\r\n--${boundary}\r\nContent-Type: ${options.contentType || 'application/octet-stream'}\r\n\r\n`
    const body = Buffer.concat([Buffer.from(head), data, Buffer.from(`\r\n--${boundary}--`)])
    const precondition = preconditionOpts(options.precondition)
    let retried = false
    let resource: FileMetadata
    try {
      resource = (await this.api(
        'POST',
        '/o',
        {
          uploadType: 'multipart',
          name: key,
          ...(precondition.ifGenerationMatch === undefined ? {} : {ifGenerationMatch: String(precondition.ifGenerationMatch)}),
        },
        url,
        {signal: options.signal, upload: {body, contentType: `multipart/related; boundary=${boundary}`}, onRetry: () => (retried = true)},
      )) as FileMetadata
    } catch (error) {
      if (!(retried && isStorageError(error, 'precondition-failed'))) throw error
      const there = await this.stat(key)
      if (there?.md5 !== md5) throw error
      options.onProgress?.(data.length)
      return there
    }
    const stored = resource.md5Hash ? base64ToHex(resource.md5Hash) : undefined
    if (stored !== md5) {
      if (resource.generation !== undefined) {
        await this.api('DELETE', `/o/${encodeURIComponent(key)}`, {ifGenerationMatch: String(resource.generation)}, url).catch(
          () => undefined,
        )
      }
      throw new StorageError('corrupt', `${url}: the stored object did not match what was sent (MD5 ${stored ?? 'none'}, sent ${md5})`, {
        url,
      })
    }
    options.onProgress?.(data.length)
    return {...infoOf(key, resource), md5, size: data.length}
  }

  async copy(sourceKey: string, destKey: string, options: {precondition?: Precondition; signal?: AbortSignal} = {}): Promise<ObjectInfo> {
    const url = this.urlOf(destKey)
    const dest = this.bucket.file(destKey)
    await this.call(url, () => this.bucket.file(sourceKey).copy(dest, {preconditionOpts: preconditionOpts(options.precondition)}))
    const info = await this.stat(destKey)
    if (!info) throw new StorageError('unavailable', `${url}: the copy finished but the object is not there`, {url})
    return info
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    const url = this.urlOf(key)
    const generation = options.precondition?.ifGenerationMatch
    try {
      await this.call(url, () => this.bucket.file(key).delete(generation === undefined ? {} : {ifGenerationMatch: Number(generation)}))
    } catch (error) {
      if (isStorageError(error, 'not-found') && generation === undefined) return
      if (isStorageError(error, 'not-found'))
        throw new StorageError('precondition-failed', `${url}: deleted by someone else`, {url, cause: error})
      throw error
    }
  }

  private async call<T>(url: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      throw gcsError(error, url, this.url)
    }
  }
}

/** The body, failing with `corrupt` at its end when its MD5 is not the stored one. */
function checkedBody(body: Readable, url: string, md5: string): Readable {
  const hash = createHash('md5')
  const out = body.pipe(
    new Transform({
      highWaterMark: 4 * 1024 * 1024,
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        callback(null, chunk)
      },
      flush(callback) {
        const got = hash.digest('hex')
        callback(
          got === md5
            ? undefined
            : new StorageError('corrupt', `${url}: the bytes received do not match the stored checksum (MD5 ${got}, stored ${md5})`, {url}),
        )
      },
    }),
  )
  // pipe() passes no error on: a connection lost mid-way must reach the reader, which resumes.
  body.on('error', (error) => out.destroy(error))
  out.on('close', () => {
    if (!body.destroyed) body.destroy()
  })
  return out
}

function preconditionOpts(precondition: Precondition | undefined): {ifGenerationMatch?: number} {
  if (precondition?.ifNotExists) return {ifGenerationMatch: 0}
  if (precondition?.ifGenerationMatch !== undefined) return {ifGenerationMatch: Number(precondition.ifGenerationMatch)}
  return {}
}

function infoOf(key: string, m: FileMetadata): ObjectInfo {
  return {
    key,
    size: Number(m.size ?? 0),
    contentType: m.contentType,
    cacheControl: m.cacheControl,
    md5: m.md5Hash ? base64ToHex(m.md5Hash) : undefined,
    crc32c: m.crc32c,
    generation: m.generation === undefined ? undefined : String(m.generation),
    updated: m.updated ? new Date(m.updated) : undefined,
  }
}

export function gcsError(error: unknown, url: string, bucketUrl: string): Error {
  if (isStorageError(error)) return error
  const e = error as {name?: string; code?: number | string; message?: string; errors?: {reason?: string}[]}
  if (e.name === 'AbortError') return error as Error
  const message = e.message ?? ''
  if (e.code === 404 && /bucket/i.test(message) && !/object/i.test(message)) {
    return new StorageError('bucket-not-found', `${bucketUrl}: no such bucket`, {
      url,
      cause: error,
      hint: 'check the bucket name and the endpoint (--gcs-endpoint)',
    })
  }
  if (/FILE_NO_UPLOAD|md5|crc32c/i.test(String(e.code)) || /mismatch/i.test(message)) {
    return new StorageError('corrupt', `${url}: the stored object did not match what was sent (${message.split('\n')[0]})`, {
      url,
      cause: error,
    })
  }
  if (typeof e.code === 'number' && e.code >= 300) return storageErrorFromStatus(e.code, url, {cause: error, detail: e.errors?.[0]?.reason})
  if (/Could not load the default credentials|invalid_grant|Could not refresh access token/i.test(message)) {
    return new StorageError('access-denied', `${url}: ${message.split('\n')[0]}`, {
      url,
      cause: error,
      hint: 'pass --json-key FILE, or --json-key none for public buckets',
    })
  }
  return new StorageError('unavailable', `${url}: ${typeof e.code === 'string' ? `${e.code} ` : ''}${message.split('\n')[0] || 'error'}`, {
    url,
    cause: error,
  })
}

export function gcsBucketOptions(options: StorageOptions): GcsBucketOptions {
  return {...options.gcs, attempts: options.attempts, idleTimeoutMs: options.idleTimeoutMs, logger: options.logger}
}
