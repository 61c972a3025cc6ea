import type {IncomingMessage, RequestOptions} from 'node:http'

import type {Logger} from '../log.js'
import {isTransient, retry} from '../retry.js'
import {base64ToHex, guardBody} from './body.js'
import type {DirectRead} from './direct-get.js'
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

const MAX_REDIRECTS = 5

/**
 * One GET or HEAD with node's own client (got and the cloud SDKs' stream
 * wrappers measured at about half its throughput), following redirects; or
 * a POST or DELETE with a body at hand (a small upload), not redirected.
 * Resolves once the response starts; the caller reads or discards the body.
 */
export function httpRequestOnce(
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  options: {idleTimeoutMs?: number | undefined; signal?: AbortSignal | undefined; body?: Buffer | undefined} = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const follow = (target: URL, redirects: number): void => {
      // Not an ES import of node:http(s): that reads every export, and their lazy WebSocket and fetch getters load
      // undici (~40 ms of every download's start here); getBuiltinModule returns the module as require() does.
      const send = process.getBuiltinModule(target.protocol === 'https:' ? 'node:https' : 'node:http').request
      const request = send(
        target,
        {
          method,
          headers: {'accept-encoding': 'identity', 'user-agent': 'mantle-ts', ...headers},
          ...(options.signal ? {signal: options.signal} : {}),
        } as RequestOptions,
        (response) => {
          const location = response.headers.location
          const redirectable = method === 'GET' || method === 'HEAD'
          if (redirectable && location && [301, 302, 303, 307, 308].includes(response.statusCode ?? 0) && redirects < MAX_REDIRECTS) {
            response.resume()
            follow(new URL(location, target), redirects + 1)
            return
          }
          // The idle timeout stays on the socket while the body streams.
          resolve(response)
        },
      )
      request.setTimeout(options.idleTimeoutMs ?? 60_000, () =>
        request.destroy(Object.assign(new Error(`no data for ${options.idleTimeoutMs ?? 60_000} ms`), {code: 'ETIMEDOUT'})),
      )
      request.on('error', reject)
      request.end(options.body)
    }
    follow(new URL(url), 0)
  })
}

/**
 * A ranged GET of `requestUrl` as a ReadResult: 206 gives the range, 200 the
 * whole object (offset 0: a resuming caller restarts), 416 range-not-satisfiable
 * with the size; `url` is what messages show (never a signed URL).
 */
export async function httpRead(
  requestUrl: string,
  url: string,
  key: string,
  options: ReadOptions & {headers?: Record<string, string> | undefined; idleTimeoutMs?: number | undefined},
): Promise<ReadResult> {
  const start = options.start ?? 0
  const ranged = start > 0 || options.end !== undefined
  const headers: Record<string, string> = {...options.headers, ...(ranged ? {range: `bytes=${start}-${options.end ?? ''}`} : {})}
  const response = await httpRequestOnce('GET', requestUrl, headers, options)
  const status = response.statusCode ?? 0
  if (status === 200 || status === 206) {
    const info = infoFromHeaders(key, response.headers)
    if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(response.headers, 'content-range') ?? '')
      const total = range?.[3] === '*' || !range ? undefined : Number(range[3])
      if (start > 0 && total !== undefined && start >= total) {
        // Azurite answers 206 "bytes 8-7/8" with an empty body where others say 416.
        response.resume()
        throw storageErrorFromStatus(416, url, {size: total, detail: `range starts at ${start}, the object has ${total} bytes`})
      }
      const body = guardBody(response, url, info.size >= 0 ? info.size : undefined)
      return {body, offset: range ? Number(range[1]) : start, size: total, info: total === undefined ? info : {...info, size: total}}
    }
    // A 200 to a Range request is the whole object: the caller restarts at 0.
    const size = info.size >= 0 ? info.size : undefined
    return {body: guardBody(response, url, size), offset: 0, size, info}
  }
  response.resume()
  if (status === 416) {
    const total = /^bytes \*\/(\d+)$/.exec(header(response.headers, 'content-range') ?? '')?.[1]
    throw storageErrorFromStatus(416, url, {
      size: total === undefined ? undefined : Number(total),
      detail: `range starts at ${start}${total === undefined ? '' : `, the object has ${total} bytes`}`,
    })
  }
  throw storageErrorFromStatus(status, url)
}

/**
 * A read-only HTTP(S) mirror: stat by HEAD, reads with Range. Retries cover
 * failures until the response starts; a body cut off later surfaces as a
 * clear error, and the caller resumes with `start` (the offset in the result
 * tells whether the server honoured the range).
 */
export class HttpBucket implements Bucket {
  readonly scheme: 'http' | 'https'
  readonly writable = false
  readonly metadata = true
  readonly directoryObjects = true
  readonly url: string

  constructor(
    readonly name: string,
    private readonly options: HttpBucketOptions = {},
  ) {
    this.scheme = name.startsWith('https:') ? 'https' : 'http'
    this.url = name + '/'
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
      const r = await httpRequestOnce('HEAD', url, this.options.headers ?? {}, {
        idleTimeoutMs: this.options.idleTimeoutMs,
        signal: options.signal,
      })
      r.resume()
      const status = r.statusCode ?? 0
      if (status >= 500 || status === 429) throw storageErrorFromStatus(status, url)
      return r
    })
    const status = response.statusCode ?? 0
    if (status === 404 || status === 410) return undefined
    if (status >= 300) throw storageErrorFromStatus(status, url)
    return infoFromHeaders(key, response.headers)
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const url = this.urlOf(key)
    return this.retrying(url, () =>
      httpRead(url, url, key, {...options, headers: this.options.headers, idleTimeoutMs: this.options.idleTimeoutMs}),
    )
  }

  /** The object's URL, pinned to what the stat saw where the mirror gave something to pin to. */
  directRead(key: string, info: ObjectInfo): Promise<DirectRead> {
    return Promise.resolve({url: this.urlOf(key), headers: {...this.options.headers, ...pinned(info.generation)}})
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
    return new StorageError('read-only', `${url}: HTTP mirrors are read-only`, {
      url,
      hint: 'write to the bucket behind the mirror (gs://, s3://, az://)',
    })
  }

  private retrying<T>(url: string, operation: () => Promise<T>): Promise<T> {
    return retry(operation, {
      attempts: this.options.attempts ?? 5,
      retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
      onRetry: (error, attempt, delay) =>
        this.options.logger?.debug(`${url}: attempt ${attempt} failed (${(error as Error).message}); retrying in ${delay} ms`),
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

/**
 * The header that refuses a read of anything but that generation: a GCS
 * mirror's (x-goog-generation is a number), or If-Match for a strong ETag. A
 * weak ETag (W/"...") never matches under If-Match: nothing to pin to.
 */
function pinned(generation: string | undefined): Record<string, string> {
  if (generation === undefined) return {}
  if (/^\d+$/.test(generation)) return {'x-goog-if-generation-match': generation}
  return generation.startsWith('"') ? {'if-match': generation} : {}
}

/** What the headers of a GET or HEAD answer tell of the object (Azure's and GCS's checksums included). */
export function infoFromHeaders(key: string, headers: Headers): ObjectInfo {
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
  // Azure: the blob's stored MD5 (a ranged answer's Content-MD5 would be of the range only).
  const contentMd5 = header(headers, 'x-ms-blob-content-md5') ?? header(headers, 'content-md5')
  if (!info.md5 && contentMd5) info.md5 = base64ToHex(contentMd5)
  return info
}
