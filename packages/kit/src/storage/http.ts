import {once} from 'node:events'
import type {Readable} from 'node:stream'

import type {Got} from 'got'

import type {Logger} from '../log.js'
import {isTransient, retry} from '../retry.js'
import {base64ToHex, guardBody} from './body.js'
import {isStorageError, StorageError, storageErrorFromStatus} from './errors.js'
import type {Bucket, ListEntry, ObjectInfo, ReadOptions, ReadResult} from './types.js'

export interface HttpBucketOptions {
  /** Extra request headers, e.g. an Authorization for a private mirror. */
  headers?: Record<string, string> | undefined
  /** Attempts for transient failures before the response starts (default 5). */
  attempts?: number | undefined
  /** A connection silent this long is dropped (default 60 s). */
  idleTimeoutMs?: number | undefined
  logger?: Logger | undefined
}

type Headers = Record<string, string | string[] | undefined>

/**
 * A read-only HTTP(S) mirror: stat by HEAD, reads with Range. Retries cover
 * failures until the response starts; a body cut off later surfaces as a
 * stream error, and the caller resumes with `start` (the offset in the
 * result tells whether the server honoured the range).
 */
export class HttpBucket implements Bucket {
  readonly scheme: 'http' | 'https'
  readonly writable = false
  readonly metadata = true
  readonly directoryObjects = true
  readonly url: string

  private constructor(
    readonly name: string,
    private readonly got: Got,
    private readonly options: HttpBucketOptions,
  ) {
    this.scheme = name.startsWith('https:') ? 'https' : 'http'
    this.url = name + '/'
  }

  static async open(origin: string, options: HttpBucketOptions = {}): Promise<HttpBucket> {
    const {default: got} = await import('got')
    const client = got.extend({
      // Retries are ours (kit's retry, isTransient); redirects are followed.
      retry: {limit: 0},
      throwHttpErrors: false,
      // Byte ranges must be of the stored bytes, never of a decoded body.
      decompress: false,
      headers: {'accept-encoding': 'identity', 'user-agent': 'mantle-ts', ...options.headers},
      timeout: {lookup: 10_000, connect: 15_000, secureConnect: 15_000, response: options.idleTimeoutMs ?? 60_000, socket: options.idleTimeoutMs ?? 60_000},
    })
    return new HttpBucket(origin, client, options)
  }

  urlOf(key: string): string {
    return `${this.name}/${key}`
  }

  async *list(): AsyncIterable<ListEntry> {
    throw new StorageError('unsupported', `${this.url}: an HTTP mirror cannot be listed`, {hint: 'list the bucket it mirrors instead'})
  }

  async stat(key: string, options: {signal?: AbortSignal} = {}): Promise<ObjectInfo | undefined> {
    const url = this.urlOf(key)
    const response = await this.retrying(url, async () => {
      const r = await this.got.head(url, options.signal ? {signal: options.signal} : {})
      if (r.statusCode >= 500 || r.statusCode === 429) throw storageErrorFromStatus(r.statusCode, url)
      return r
    })
    if (response.statusCode === 404 || response.statusCode === 410) return undefined
    if (response.statusCode >= 300) throw storageErrorFromStatus(response.statusCode, url)
    return infoFromHeaders(key, response.headers)
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const url = this.urlOf(key)
    const start = options.start ?? 0
    const ranged = start > 0 || options.end !== undefined
    const headers: Record<string, string> = ranged ? {range: `bytes=${start}-${options.end ?? ''}`} : {}
    return this.retrying(url, async () => {
      const stream = this.got.stream(url, {headers, ...(options.signal ? {signal: options.signal} : {})})
      const [response] = (await once(stream, 'response')) as [{statusCode: number; headers: Headers}]
      const status = response.statusCode
      if (status === 200 || status === 206) {
        const info = infoFromHeaders(key, response.headers)
        if (status === 206) {
          const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(response.headers, 'content-range') ?? '')
          const total = range?.[3] === '*' || !range ? undefined : Number(range[3])
          const length = Number(header(response.headers, 'content-length') ?? NaN)
          const body = guardBody(stream as Readable, url, Number.isNaN(length) ? undefined : length)
          return {body, offset: range ? Number(range[1]) : start, size: total, info: total === undefined ? info : {...info, size: total}}
        }
        // A 200 to a Range request is the whole object: the caller restarts at 0.
        return {body: guardBody(stream as Readable, url, info.size >= 0 ? info.size : undefined), offset: 0, size: info.size >= 0 ? info.size : undefined, info}
      }
      stream.destroy()
      if (status === 416) {
        const total = /^bytes \*\/(\d+)$/.exec(header(response.headers, 'content-range') ?? '')?.[1]
        throw storageErrorFromStatus(416, url, {size: total === undefined ? undefined : Number(total), detail: `range starts at ${start}${total === undefined ? '' : `, the object has ${total} bytes`}`})
      }
      throw storageErrorFromStatus(status, url)
    })
  }

  write(key: string): Promise<ObjectInfo> {
    return Promise.reject(this.readOnly(key))
  }

  copy(_sourceKey: string, destKey: string): Promise<ObjectInfo> {
    return Promise.reject(this.readOnly(destKey))
  }

  delete(key: string): Promise<void> {
    return Promise.reject(this.readOnly(key))
  }

  private readOnly(key: string): StorageError {
    const url = this.urlOf(key)
    return new StorageError('read-only', `${url}: HTTP mirrors are read-only`, {url, hint: 'write to the bucket behind the mirror (gs://, s3://, az://)'})
  }

  private retrying<T>(url: string, operation: () => Promise<T>): Promise<T> {
    return retry(operation, {
      attempts: this.options.attempts ?? 5,
      retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
      onRetry: (error, attempt, delay) => this.options.logger?.debug(`${url}: attempt ${attempt} failed (${(error as Error).message}); retrying in ${delay} ms`),
    }).catch((error: unknown) => {
      if (isStorageError(error)) throw error
      const e = error as {code?: string; message: string}
      throw new StorageError('unavailable', `${url}: ${e.code ?? ''} ${e.message}`.replace(/: +/, ': '), {url, cause: error})
    })
  }
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function infoFromHeaders(key: string, headers: Headers): ObjectInfo {
  const length = header(headers, 'content-length')
  const info: ObjectInfo = {
    key,
    // -1: the server did not say (a chunked answer).
    size: length === undefined ? -1 : Number(length),
    contentType: header(headers, 'content-type'),
    cacheControl: header(headers, 'cache-control'),
    generation: header(headers, 'x-goog-generation') ?? header(headers, 'etag'),
  }
  const modified = header(headers, 'last-modified')
  if (modified) info.updated = new Date(modified)
  // GCS and Azure put checksums in headers; S3's single-part ETag is the MD5.
  const goog = headers['x-goog-hash']
  for (const h of (Array.isArray(goog) ? goog : goog ? goog.split(',') : []).map((s) => s.trim())) {
    if (h.startsWith('md5=')) info.md5 = base64ToHex(h.slice(4))
    if (h.startsWith('crc32c=')) info.crc32c = h.slice(7)
  }
  const contentMd5 = header(headers, 'content-md5')
  if (!info.md5 && contentMd5) info.md5 = base64ToHex(contentMd5)
  return info
}
