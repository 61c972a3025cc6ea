import {createHash} from 'node:crypto'
import type {Readable} from 'node:stream'

import type {S3Client, S3ServiceException} from '@aws-sdk/client-s3'

import type {Logger} from '../log.js'
import {checkBody, guardBody, hexToBase64, joinPart, md5Hex, type Part, splitBody} from './body.js'
import type {DirectRead} from './direct-get.js'
import {isStorageError, StorageError, storageErrorFromStatus} from './errors.js'
import {forEachLimit} from './limit.js'
import type {StorageOptions} from './open.js'
import {sortEntries} from './url.js'
import type {
  Bucket,
  DeleteOptions,
  IncompleteUpload,
  ListEntry,
  ListOptions,
  ObjectInfo,
  Precondition,
  ReadOptions,
  ReadResult,
  WriteOptions,
} from './types.js'

type S3Sdk = typeof import('@aws-sdk/client-s3')

/** Bodies up to this size go in one request; larger ones in parts of this size. */
const PART_SIZE = 16 * 1024 * 1024
const PART_CONCURRENCY = 4
/** Where we keep the MD5 of multipart objects, whose ETag is not one. */
const MD5_META = 'md5'

export type S3BucketOptions = NonNullable<StorageOptions['s3']> & {
  attempts?: number | undefined
  idleTimeoutMs?: number | undefined
  logger?: Logger | undefined
}

/**
 * Amazon S3 and S3-compatible stores. Large bodies go up as a multipart
 * upload of our own (not lib-storage's): each part carries its Content-MD5 and
 * is retried on its own, the whole MD5 is stored as metadata, and a failure
 * aborts the upload, so a failed write never leaves an object behind.
 * Preconditions use If-None-Match / If-Match where S3 has them (PutObject,
 * CompleteMultipartUpload, DeleteObject); for copies, and for stores that
 * ignore those headers on some calls, a HEAD checks the destination first.
 */
export class S3Bucket implements Bucket {
  readonly scheme = 's3' as const
  readonly writable = true
  readonly metadata = true
  readonly directoryObjects = true
  readonly url: string

  private constructor(
    readonly name: string,
    private readonly sdk: S3Sdk,
    private readonly client: S3Client,
    /** radosgw compares If-Match with the bare ETag; AWS takes the quoted form. */
    private readonly quoteEtags: boolean,
    private readonly logger?: Logger,
  ) {
    this.url = `s3://${name}/`
  }

  static async open(name: string, options: S3BucketOptions): Promise<S3Bucket> {
    const sdk = await import('@aws-sdk/client-s3')
    const custom = options.endpoint !== undefined
    const client = new sdk.S3Client({
      region: options.region ?? 'us-east-1',
      ...(custom ? {endpoint: options.endpoint} : {}),
      forcePathStyle: options.forcePathStyle ?? custom,
      ...(options.credentials ? {credentials: options.credentials} : {}),
      maxAttempts: options.attempts ?? 5,
      // A stalled connection is dropped (and the call retried) instead of hanging forever.
      requestHandler: {connectionTimeout: 15_000, socketTimeout: options.idleTimeoutMs ?? 60_000},
      // S3-compatible stores answer 411 to streamed bodies with the SDK's default
      // checksums (ENVIRONMENT.md); our parts carry Content-MD5 instead.
      ...(custom ? {requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const} : {}),
    })
    // Parts and single puts carry Content-MD5, which the store checks: hashing every byte
    // again with SHA-256 for the signature costs CPU and adds no integrity.
    client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as {headers?: Record<string, string>}).headers
        if (headers?.['content-md5']) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
        return next(args)
      },
      {step: 'build', name: 'mantleUnsignedPayloadWithMd5'},
    )
    return new S3Bucket(name, sdk, client, !custom, options.logger)
  }

  urlOf(key: string): string {
    return `s3://${this.name}/${key}`
  }

  async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
    let token: string | undefined
    do {
      const page = await this.call(this.url + (options.prefix ?? ''), () =>
        this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.name,
            Prefix: options.prefix || undefined,
            Delimiter: options.delimiter,
            ContinuationToken: token,
          }),
          options.signal ? {abortSignal: options.signal} : {},
        ),
      )
      const entries: ListEntry[] = [
        ...(page.Contents ?? []).map((o): ListEntry => ({
          type: 'object',
          object: infoOf(o.Key!, {size: o.Size, etag: o.ETag, updated: o.LastModified}),
        })),
        ...(page.CommonPrefixes ?? []).map((p): ListEntry => ({type: 'prefix', prefix: p.Prefix!})),
      ]
      yield* sortEntries(entries)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async stat(key: string, options: {signal?: AbortSignal} = {}): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.call(this.urlOf(key), () =>
        this.client.send(
          new this.sdk.HeadObjectCommand({Bucket: this.name, Key: key}),
          options.signal ? {abortSignal: options.signal} : {},
        ),
      )
      return infoOf(key, {
        size: head.ContentLength,
        etag: head.ETag,
        updated: head.LastModified,
        contentType: head.ContentType,
        cacheControl: head.CacheControl,
        metadata: head.Metadata,
      })
    } catch (error) {
      if (isStorageError(error, 'not-found')) return undefined
      throw error
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const start = options.start ?? 0
    const ranged = start > 0 || options.end !== undefined
    const url = this.urlOf(key)
    const got = await this.call(url, () =>
      this.client.send(
        new this.sdk.GetObjectCommand({Bucket: this.name, Key: key, ...(ranged ? {Range: `bytes=${start}-${options.end ?? ''}`} : {})}),
        options.signal ? {abortSignal: options.signal} : {},
      ),
    ).catch(async (error: unknown) => {
      if (!isStorageError(error, 'range-not-satisfiable')) throw error
      // S3's 416 does not carry the size; a HEAD does.
      const size = (await this.stat(key).catch(() => undefined))?.size
      throw new StorageError(
        'range-not-satisfiable',
        `${url}: range starts at ${start}${size === undefined ? '' : `, the object has ${size} bytes`}`,
        {url, size},
      )
    })
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(got.ContentRange ?? '')
    const size = range ? Number(range[3]) : got.ContentLength
    const info = infoOf(key, {
      size,
      etag: got.ETag,
      updated: got.LastModified,
      contentType: got.ContentType,
      cacheControl: got.CacheControl,
      metadata: got.Metadata,
    })
    const offset = range ? Number(range[1]) : 0
    return {body: guardBody(got.Body as Readable, url, got.ContentLength), offset, size, info}
  }

  /**
   * The GetObject request of that ETag exactly as the SDK would send it
   * (endpoint, path style, SigV4 headers), taken from its middleware stack just
   * after signing and never sent. A header signature is good for 15 minutes:
   * readToFile asks for a fresh one for every range it fetches.
   */
  async directRead(key: string, info: ObjectInfo): Promise<DirectRead | undefined> {
    const command = new this.sdk.GetObjectCommand({
      Bucket: this.name,
      Key: key,
      ...(info.generation ? {IfMatch: this.etag(info.generation)} : {}),
    })
    const stack = this.client.middlewareStack.clone()
    let signed:
      | {
          protocol: string
          hostname: string
          port?: number | undefined
          path: string
          query: Record<string, string | string[] | null>
          headers: Record<string, string>
        }
      | undefined
    stack.addRelativeTo(
      () => async (args: {request: unknown}) => {
        signed = args.request as typeof signed
        return {output: {$metadata: {}}, response: {}}
      },
      {name: 'mantleDirectRead', relation: 'after', toMiddleware: 'httpSigningMiddleware', override: true},
    )
    await this.call(this.urlOf(key), () => command.resolveMiddleware(stack as never, this.client.config, {})({input: command.input}))
    if (!signed) return undefined
    const query = Object.entries(signed.query)
      .flatMap(([k, v]) =>
        v === null ? [encodeURIComponent(k)] : [v].flat().map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
      )
      .join('&')
    const port = signed.port ? `:${signed.port}` : ''
    return {url: `${signed.protocol}//${signed.hostname}${port}${signed.path}${query ? `?${query}` : ''}`, headers: signed.headers}
  }

  async write(key: string, body: Readable | Buffer | string, options: WriteOptions = {}): Promise<ObjectInfo> {
    // A body that fits in one part goes in one request: simpler, and on S3 its ETag is then its MD5.
    const split = await splitBody(body, PART_SIZE)
    return 'single' in split ? this.putSingle(key, split.single, options) : this.putMultipart(key, split.parts, options)
  }

  private async putSingle(key: string, data: Buffer, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key)
    const md5 = md5Hex(data)
    checkBody(url, {bytes: data.length, md5}, {size: options.size, md5: options.md5})
    // No HEAD first: PutObject's If-None-Match / If-Match are enforced by S3 (since 2024) and by
    // radosgw (412 on both, probed on the test radosgw), so the one PUT is the whole write of a small
    // object. Its Content-MD5 is checked by the store; no ListMultipartUploads (that is multipart's).
    const put = await this.call(url, () =>
      this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.name,
          Key: key,
          Body: data,
          ContentLength: data.length,
          ContentMD5: hexToBase64(md5),
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          ...this.conditionalHeaders(options.precondition),
        }),
        options.signal ? {abortSignal: options.signal} : {},
      ),
    )
    options.onProgress?.(data.length)
    return {
      key,
      size: data.length,
      md5,
      generation: unquote(put.ETag),
      contentType: options.contentType,
      cacheControl: options.cacheControl,
    }
  }

  private async putMultipart(key: string, body: AsyncIterable<Part>, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key)
    await this.checkPrecondition(key, options.precondition)
    const signal = options.signal ? {abortSignal: options.signal} : {}
    // The MD5 of the whole is only known at the end; when the caller knows it, it goes in the metadata.
    const created = await this.call(url, () =>
      this.client.send(
        new this.sdk.CreateMultipartUploadCommand({
          Bucket: this.name,
          Key: key,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          ...(options.md5 ? {Metadata: {[MD5_META]: options.md5.toLowerCase()}} : {}),
        }),
        signal,
      ),
    )
    const uploadId = created.UploadId!
    const hash = createHash('md5')
    let bytes = 0
    const parts: {PartNumber: number; ETag: string}[] = []
    let sent = 0
    try {
      let number = 0
      const numbered = (async function* () {
        for await (const buffers of body) {
          // UploadPart takes one buffer: one it can send again on a retry.
          const part = joinPart(buffers)
          hash.update(part)
          bytes += part.length
          yield {number: ++number, part}
        }
      })()
      await forEachLimit(
        numbered,
        PART_CONCURRENCY,
        async ({number, part}) => {
          const up = await this.call(url, () =>
            this.client.send(
              new this.sdk.UploadPartCommand({
                Bucket: this.name,
                Key: key,
                UploadId: uploadId,
                PartNumber: number,
                Body: part,
                ContentLength: part.length,
                ContentMD5: createHash('md5').update(part).digest('base64'),
              }),
              signal,
            ),
          )
          parts.push({PartNumber: number, ETag: up.ETag!})
          sent += part.length
          options.onProgress?.(sent)
        },
        options.signal,
      )
      const md5 = hash.digest('hex')
      checkBody(url, {bytes, md5}, {size: options.size, md5: options.md5})
      parts.sort((a, b) => a.PartNumber - b.PartNumber)
      // Looked up while this upload is still listed, to compare initiation times by the store's own clock.
      const earlier = await this.earlierUploads(key, uploadId)
      const done = await this.call(url, () =>
        this.client.send(
          new this.sdk.CompleteMultipartUploadCommand({
            Bucket: this.name,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: {Parts: parts},
            ...this.conditionalHeaders(options.precondition),
          }),
          signal,
        ),
      )
      await this.abortUploads(key, earlier)
      return {key, size: bytes, md5, generation: unquote(done.ETag), contentType: options.contentType, cacheControl: options.cacheControl}
    } catch (error) {
      // On errors and on the signal of SIGINT/SIGTERM alike: nothing of a failed write stays behind.
      await this.client
        .send(new this.sdk.AbortMultipartUploadCommand({Bucket: this.name, Key: key, UploadId: uploadId}))
        .catch(() => undefined)
      throw error
    }
  }

  /**
   * The uploads of `key` begun before upload `own`: the remains of runs killed
   * mid-upload (SIGKILL, a crash, a lost machine), which no `finally` could
   * abort, their parts billed forever. Best effort: a failure to list does not
   * fail the write.
   */
  private async earlierUploads(key: string, own: string): Promise<IncompleteUpload[]> {
    try {
      const all: IncompleteUpload[] = []
      for await (const upload of this.incompleteUploads({prefix: key})) if (upload.key === key) all.push(upload)
      const since = all.find((u) => u.id === own)?.initiated
      return all.filter((u) => u.id !== own && since !== undefined && u.initiated !== undefined && u.initiated <= since)
    } catch (error) {
      this.logger?.warn(`${this.urlOf(key)}: could not look for incomplete uploads of earlier runs (${(error as Error).message})`)
      return []
    }
  }

  /** Once the write of `key` has succeeded: aborts the earlier uploads of that key. */
  private async abortUploads(key: string, uploads: IncompleteUpload[]): Promise<void> {
    for (const upload of uploads) {
      try {
        await this.abortUpload(upload)
        this.logger?.notice(
          `${this.urlOf(key)}: aborted an incomplete upload begun ${upload.initiated?.toISOString() ?? 'earlier'} by an interrupted run`,
        )
      } catch (error) {
        this.logger?.warn(`${this.urlOf(key)}: could not abort the incomplete upload ${upload.id} (${(error as Error).message})`)
      }
    }
  }

  async *incompleteUploads(options: {prefix?: string; signal?: AbortSignal} = {}): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    do {
      const page = await this.call(this.url + (options.prefix ?? ''), () =>
        this.client.send(
          new this.sdk.ListMultipartUploadsCommand({
            Bucket: this.name,
            Prefix: options.prefix || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
          options.signal ? {abortSignal: options.signal} : {},
        ),
      )
      for (const u of page.Uploads ?? []) yield {key: u.Key!, id: u.UploadId!, initiated: u.Initiated}
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined
    } while (keyMarker !== undefined)
  }

  async abortUpload(upload: IncompleteUpload, options: {signal?: AbortSignal} = {}): Promise<void> {
    try {
      await this.call(this.urlOf(upload.key), () =>
        this.client.send(
          new this.sdk.AbortMultipartUploadCommand({Bucket: this.name, Key: upload.key, UploadId: upload.id}),
          options.signal ? {abortSignal: options.signal} : {},
        ),
      )
    } catch (error) {
      // NoSuchUpload: aborted or completed meanwhile.
      if (isStorageError(error, 'not-found')) return
      throw error
    }
  }

  async copy(sourceKey: string, destKey: string, options: {precondition?: Precondition; signal?: AbortSignal} = {}): Promise<ObjectInfo> {
    await this.checkPrecondition(destKey, options.precondition)
    const url = this.urlOf(destKey)
    const copied = await this.call(url, () =>
      this.client.send(
        new this.sdk.CopyObjectCommand({
          Bucket: this.name,
          Key: destKey,
          CopySource: `${this.name}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'COPY',
          ...this.conditionalHeaders(options.precondition),
        }),
        options.signal ? {abortSignal: options.signal} : {},
      ),
    )
    const info = await this.stat(destKey)
    return info ?? {key: destKey, size: 0, generation: unquote(copied.CopyObjectResult?.ETag)}
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    await this.checkPrecondition(key, options.precondition)
    await this.call(this.urlOf(key), () =>
      this.client.send(
        new this.sdk.DeleteObjectCommand({
          Bucket: this.name,
          Key: key,
          ...(options.precondition?.ifGenerationMatch ? {IfMatch: this.etag(options.precondition.ifGenerationMatch)} : {}),
        }),
        options.signal ? {abortSignal: options.signal} : {},
      ),
    )
  }

  private conditionalHeaders(precondition: Precondition | undefined): {IfNoneMatch?: string; IfMatch?: string} {
    if (precondition?.ifNotExists) return {IfNoneMatch: '*'}
    if (precondition?.ifGenerationMatch !== undefined) return {IfMatch: this.etag(precondition.ifGenerationMatch)}
    return {}
  }

  private etag(generation: string): string {
    const bare = unquote(generation)!
    return this.quoteEtags ? `"${bare}"` : bare
  }

  /** A HEAD before the write: covers stores and calls that ignore conditional headers. */
  private async checkPrecondition(key: string, precondition: Precondition | undefined): Promise<void> {
    if (!precondition?.ifNotExists && precondition?.ifGenerationMatch === undefined) return
    const current = await this.stat(key)
    const url = this.urlOf(key)
    if (precondition.ifNotExists && current) throw new StorageError('precondition-failed', `${url}: already exists`, {url})
    if (precondition.ifGenerationMatch !== undefined && current?.generation !== precondition.ifGenerationMatch) {
      throw new StorageError(
        'precondition-failed',
        `${url}: changed by someone else (ETag ${current?.generation ?? 'none'}, expected ${precondition.ifGenerationMatch})`,
        {url},
      )
    }
  }

  /** Runs an SDK call; SDK errors become StorageErrors. The SDK retries transient failures itself. */
  private async call<T>(url: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      throw s3Error(error, url, this.name)
    }
  }
}

function s3Error(error: unknown, url: string, bucket: string): Error {
  if (isStorageError(error)) return error
  const e = error as Partial<S3ServiceException> & {code?: string; message?: string}
  const status = e.$metadata?.httpStatusCode
  switch (e.name) {
    case 'NoSuchBucket':
      return new StorageError('bucket-not-found', `s3://${bucket}: no such bucket`, {
        url,
        cause: error,
        hint: 'check the bucket name and the endpoint (--s3-endpoint)',
      })
    case 'NoSuchKey':
    case 'NoSuchUpload':
    case 'NotFound':
      return new StorageError('not-found', `${url}: not found`, {url, cause: error})
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'AccessDenied':
    case 'InvalidToken':
    case 'ExpiredToken':
      return new StorageError('access-denied', `${url}: ${e.name}`, {
        url,
        cause: error,
        hint: 'check the AWS credentials (--profile, --access-id/--secret-key) and their permissions',
      })
    case 'PreconditionFailed':
      return new StorageError('precondition-failed', `${url}: changed by someone else (HTTP 412)`, {url, cause: error})
    case 'InvalidRange':
      return new StorageError('range-not-satisfiable', `${url}: requested range not satisfiable`, {url, cause: error})
    case 'AbortError':
      return error as Error
  }
  if (status !== undefined && status !== 200) return storageErrorFromStatus(status, url, {cause: error, detail: e.name})
  const code = e.code ?? (e as {cause?: {code?: string}}).cause?.code
  return new StorageError('unavailable', `${url}: ${code ?? e.name ?? 'error'}${e.message ? ` (${e.message})` : ''}`, {url, cause: error})
}

const unquote = (etag: string | undefined): string | undefined => etag?.replace(/^"|"$/g, '')

function infoOf(
  key: string,
  o: {
    size?: number | undefined
    etag?: string | undefined
    updated?: Date | undefined
    contentType?: string | undefined
    cacheControl?: string | undefined
    metadata?: Record<string, string> | undefined
  },
): ObjectInfo {
  const etag = unquote(o.etag)
  // A single-part ETag is the MD5; a multipart one ("...-N") is not, so ours is in the metadata.
  const md5 = etag && /^[0-9a-f]{32}$/.test(etag) ? etag : o.metadata?.[MD5_META]
  return {key, size: o.size ?? 0, md5, generation: etag, updated: o.updated, contentType: o.contentType, cacheControl: o.cacheControl}
}

export function s3BucketOptions(options: StorageOptions): S3BucketOptions {
  return {...options.s3, attempts: options.attempts, idleTimeoutMs: options.idleTimeoutMs, logger: options.logger}
}
