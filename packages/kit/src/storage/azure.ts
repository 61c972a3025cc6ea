import {createHash} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import type {Readable} from 'node:stream'

import type {BlobHTTPHeaders, BlobItem, BlobRequestConditions, ContainerClient} from '@azure/storage-blob'

import type {Logger} from '../log.js'
import {isTransient, retry} from '../retry.js'
import {
  AZURE_SERVICE_VERSION,
  azureErrorCode,
  azureHeaders,
  type AzureRest,
  azureRestFor,
  blobUrl,
  containerRequestUrl,
  parseBlobList,
} from './azure-rest.js'
import {bufferOf, checkBody, guardBody, md5Hex, type Part, partLength, partStream, splitBody} from './body.js'
import {type DirectRead, WHOLE_READ_MAX, wholeRead} from './direct-get.js'
import {isStorageError, StorageError, storageErrorFromStatus} from './errors.js'
import {httpRead, httpRequestOnce, infoFromHeaders} from './http.js'
import {forEachLimit} from './limit.js'
import type {StorageOptions} from './open.js'
import {azureSdk} from './sdks.js'
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

const BLOCK_SIZE = 16 * 1024 * 1024
const BLOCK_CONCURRENCY = 4

/** Blobs per listing page: the most the service returns (maxresults 5000, as rclone's --azureblob-list-chunk); a tree of 5,000 small files lists in one round trip. */
const LIST_PAGE = 5000

export type AzureBucketOptions = NonNullable<StorageOptions['azure']> & {
  account: string
  container: string
  /** From an https://<account>.blob.core.windows.net URL. */
  urlEndpoint?: string | undefined
  attempts?: number | undefined
  idleTimeoutMs?: number | undefined
  logger?: Logger | undefined
}

/**
 * Azure Blob Storage (block blobs). Large bodies go up as blocks, each with
 * its transactional MD5, committed at the end with the whole body's MD5 and
 * the precondition in one atomic Put Block List: a failed upload leaves only
 * uncommitted blocks, which Azure discards, never a partial blob.
 */
export class AzureBucket implements Bucket {
  readonly scheme = 'az' as const
  readonly writable = true
  readonly metadata = true
  readonly directoryObjects = true
  readonly url: string

  /** The SDK's client, made at its first use: list, stat and read of a bucket with `rest` never load the SDK. */
  private client: ContainerClient | undefined

  private constructor(
    readonly name: string,
    private readonly account: string,
    private readonly makeContainer: () => ContainerClient,
    /** How to list, stat and read without the SDK (azure-rest.ts); undefined where only the SDK can sign (an Azure AD token). */
    private readonly rest: AzureRest | undefined,
    private readonly idleTimeoutMs?: number,
    private readonly attempts = 5,
  ) {
    this.url = `az://${account}/${name}/`
  }

  static async open(options: AzureBucketOptions): Promise<AzureBucket> {
    if (options.connectionString) {
      const named = /AccountName=([^;]+)/i.exec(options.connectionString)?.[1]
      if (named && named !== options.account) {
        throw new StorageError(
          'invalid-url',
          `az://${options.account}/${options.container}: the Azure connection string is for the storage account "${named}"`,
          {
            hint: `use az://${named}/... or a connection string for ${options.account}`,
          },
        )
      }
    }
    return new AzureBucket(
      options.container,
      options.account,
      () => containerClient(options),
      azureRestFor(options),
      options.idleTimeoutMs,
      options.attempts,
    )
  }

  private get container(): ContainerClient {
    this.client ??= this.makeContainer()
    return this.client
  }

  /**
   * With the account key, a short-lived read-only SAS for node's own HTTP client (the SDK's download
   * stream measured at half its throughput on the same connection): large reads (directRead) go that way.
   */
  private async signRead(key: string): Promise<string | undefined> {
    const sdk = azureSdk()
    if (!(this.container.credential instanceof sdk.StorageSharedKeyCredential)) return undefined
    return this.container
      .getBlobClient(key)
      .generateSasUrl({permissions: sdk.BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 6 * 3600_000)})
  }

  urlOf(key: string): string {
    return `az://${this.account}/${this.name}/${key}`
  }

  /**
   * The SDK resolves "." and ".." segments of a blob name as URL paths do:
   * "p/../d" would be the blob "d", outside the prefix a caller meant. Such
   * names are refused instead, as on a local directory.
   */
  private checkKey(key: string): string {
    if (key.split('/').some((s) => s === '.' || s === '..')) {
      throw new StorageError(
        'invalid-url',
        `${this.urlOf(key)}: "." and ".." segments are not allowed in Azure blob names (the SDK would resolve them to another blob)`,
        {url: this.urlOf(key)},
      )
    }
    return key
  }

  private blob(key: string): ReturnType<ContainerClient['getBlobClient']> {
    return this.container.getBlobClient(this.checkKey(key))
  }

  private blockBlob(key: string): ReturnType<ContainerClient['getBlockBlobClient']> {
    return this.container.getBlockBlobClient(this.checkKey(key))
  }

  async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
    const url = this.url + (options.prefix ?? '')
    if (this.rest) {
      yield* this.listRest(this.rest, url, options)
      return
    }
    const prefix = options.prefix || undefined
    const pages = options.delimiter
      ? this.container.listBlobsByHierarchy(options.delimiter, {prefix}).byPage({maxPageSize: LIST_PAGE})
      : this.container.listBlobsFlat({prefix}).byPage({maxPageSize: LIST_PAGE})
    const iterator = pages[Symbol.asyncIterator]()
    for (;;) {
      const page = await this.call(url, () => iterator.next())
      if (page.done) return
      const segment = page.value.segment as {blobItems: BlobItem[]; blobPrefixes?: {name: string}[]}
      const entries: ListEntry[] = [
        ...segment.blobItems.map((b): ListEntry => ({type: 'object', object: infoOfProperties(b.name, b.properties)})),
        ...(segment.blobPrefixes ?? []).map((p): ListEntry => ({type: 'prefix', prefix: p.name})),
      ]
      yield* sortEntries(entries)
      options.signal?.throwIfAborted()
    }
  }

  /** List Blobs pages as the SDK asks for them (restype=container&comp=list, maxresults, marker), parsed by parseBlobList. */
  private async *listRest(rest: AzureRest, url: string, options: ListOptions): AsyncIterable<ListEntry> {
    let marker: string | undefined
    do {
      const request = containerRequestUrl(rest, {
        restype: 'container',
        comp: 'list',
        ...(options.prefix ? {prefix: options.prefix} : {}),
        ...(options.delimiter ? {delimiter: options.delimiter} : {}),
        ...(marker ? {marker} : {}),
        maxresults: String(LIST_PAGE),
      })
      const page = await this.restCall('GET', request, url, options.signal, async (response) =>
        parseBlobList((await bufferOf(response)).toString('utf8')),
      )
      yield* sortEntries([
        ...page.blobs.map((object): ListEntry => ({type: 'object', object})),
        ...page.prefixes.map((prefix): ListEntry => ({type: 'prefix', prefix})),
      ])
      marker = page.next
      options.signal?.throwIfAborted()
    } while (marker)
  }

  /**
   * One request without the SDK, retried as the SDK's pipeline retries (connection errors, 5xx, 429),
   * each attempt signed anew; a failed answer becomes the error the SDK's would (by x-ms-error-code).
   */
  private async restCall<T>(
    method: 'GET' | 'HEAD',
    request: string,
    url: string,
    signal: AbortSignal | undefined,
    onAnswer: (response: IncomingMessage) => Promise<T>,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const rest = this.rest!
    return retry(
      async () => {
        const response = await httpRequestOnce(method, request, azureHeaders(rest, method, request, headers), {
          idleTimeoutMs: this.idleTimeoutMs,
          signal,
        })
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) return onAnswer(response)
        response.resume()
        throw azureError({statusCode: status, details: {errorCode: azureErrorCode(response.headers)}}, url, this.urlOf(''))
      },
      {
        attempts: this.attempts,
        retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
        ...(signal ? {signal} : {}),
      },
    ).catch((error: unknown) => {
      throw azureError(error, url, this.urlOf(''))
    })
  }

  async stat(key: string, options: {signal?: AbortSignal} = {}): Promise<ObjectInfo | undefined> {
    try {
      if (this.rest) {
        return await this.restCall('HEAD', blobUrl(this.rest, this.checkKey(key)), this.urlOf(key), options.signal, (response) => {
          response.resume()
          return Promise.resolve(infoFromHeaders(key, response.headers))
        })
      }
      const props = await this.call(this.urlOf(key), () =>
        this.blob(key).getProperties(options.signal ? {abortSignal: options.signal} : {}),
      )
      return infoOfProperties(key, props)
    } catch (error) {
      if (isStorageError(error, 'not-found')) return undefined
      throw error
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const url = this.urlOf(key)
    this.checkKey(key)
    if (this.rest) {
      const rest = this.rest
      const request = blobUrl(rest, key)
      // httpRead sends this Range header: it is part of the Shared Key signature.
      const ranged = (options.start ?? 0) > 0 || options.end !== undefined
      const range: Record<string, string> = ranged ? {range: `bytes=${options.start ?? 0}-${options.end ?? ''}`} : {}
      const known = options.known
      if (known && !ranged && known.size > 0 && known.size <= WHOLE_READ_MAX) {
        // A small object the listing saw, in one buffer over a kept connection (a sync of thousands), pinned to that ETag.
        const headers = {range: `bytes=0-${known.size - 1}`, ...(known.generation ? {'if-match': known.generation} : {})}
        const signed = (): DirectRead => ({url: request, headers: azureHeaders(rest, 'GET', request, headers)})
        return wholeRead(signed, url, known, {signal: options.signal, idleTimeoutMs: this.idleTimeoutMs, attempts: this.attempts}).catch(
          (error: unknown) => {
            throw azureError(error, url, this.url)
          },
        )
      }
      return retry(
        () =>
          httpRead(request, url, key, {
            ...options,
            headers: azureHeaders(rest, 'GET', request, range),
            idleTimeoutMs: this.idleTimeoutMs,
          }),
        {
          attempts: this.attempts,
          retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
          ...(options.signal ? {signal: options.signal} : {}),
        },
      ).catch((error: unknown) => {
        throw azureError(error, url, this.url)
      })
    }
    const start = options.start ?? 0
    const count = options.end === undefined ? undefined : options.end - start + 1
    const blob = this.blob(key)
    const response = await this.call(url, () =>
      // The SDK resumes a body cut off mid-way itself, pinned to the blob's ETag.
      blob.download(start, count, {maxRetryRequests: 5, ...(options.signal ? {abortSignal: options.signal} : {})}),
    ).catch(async (error: unknown) => {
      if (!isStorageError(error, 'range-not-satisfiable')) throw error
      const size = (await this.stat(key).catch(() => undefined))?.size
      throw new StorageError(
        'range-not-satisfiable',
        `${url}: range starts at ${start}${size === undefined ? '' : `, the object has ${size} bytes`}`,
        {url, size},
      )
    })
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.contentRange ?? '')
    const size = range ? Number(range[3]) : response.contentLength
    if (start > 0 && size !== undefined && start >= size) {
      // Azurite answers 206 "bytes 8-7/8" with an empty body where Azure says 416.
      response.readableStreamBody?.resume()
      throw new StorageError('range-not-satisfiable', `${url}: range starts at ${start}, the object has ${size} bytes`, {url, size})
    }
    const info = infoOfProperties(key, {
      ...response,
      contentLength: size,
      contentMD5: response.blobContentMD5 ?? (range ? undefined : response.contentMD5),
    })
    return {
      body: guardBody(response.readableStreamBody as Readable, url, response.contentLength),
      offset: range ? Number(range[1]) : start,
      size,
      info,
    }
  }

  /** With the account key: a short-lived read-only SAS, pinned to the ETag the stat saw; with a SAS or none, the blob's URL. */
  async directRead(key: string, info: ObjectInfo): Promise<DirectRead | undefined> {
    const pin: Record<string, string> = info.generation ? {'if-match': info.generation} : {}
    // A SAS query or a public container needs no signature; a Shared Key one covers the Range header getRange adds.
    if (this.rest && !this.rest.sharedKey)
      return {url: blobUrl(this.rest, this.checkKey(key)), headers: {'x-ms-version': AZURE_SERVICE_VERSION, ...pin}}
    const signed = await this.signRead(this.checkKey(key))
    return signed === undefined ? undefined : {url: signed, headers: pin}
  }

  async write(key: string, body: Readable | Buffer | string, options: WriteOptions = {}): Promise<ObjectInfo> {
    // A body that fits in one part goes in one request: simpler, and on S3 its ETag is then its MD5.
    const split = await splitBody(body, BLOCK_SIZE)
    return 'single' in split ? this.putSingle(key, split.single, options) : this.putBlocks(key, split.parts, options)
  }

  private headers(options: WriteOptions, md5: string): BlobHTTPHeaders {
    return {blobContentType: options.contentType, blobCacheControl: options.cacheControl, blobContentMD5: Buffer.from(md5, 'hex')}
  }

  private async putSingle(key: string, data: Buffer, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key)
    const md5 = md5Hex(data)
    checkBody(url, {bytes: data.length, md5}, {size: options.size, md5: options.md5})
    const done = await this.call(url, () =>
      this.blockBlob(key).upload(data, data.length, {
        blobHTTPHeaders: this.headers(options, md5),
        conditions: conditions(options.precondition),
        ...(options.signal ? {abortSignal: options.signal} : {}),
      }),
    )
    options.onProgress?.(data.length)
    return {key, size: data.length, md5, generation: done.etag, contentType: options.contentType, cacheControl: options.cacheControl}
  }

  private async putBlocks(key: string, body: AsyncIterable<Part>, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key)
    const client = this.blockBlob(key)
    const hash = createHash('md5')
    const ids: string[] = []
    // Block ids must all have the same length; a random stem keeps two writers' blocks apart.
    const stem = createHash('md5').update(`${key}${Date.now()}${Math.random()}`).digest('hex').slice(0, 16)
    let bytes = 0
    let sent = 0
    const numbered = (async function* () {
      for await (const block of body) {
        for (const b of block) hash.update(b)
        const length = partLength(block)
        bytes += length
        const id = Buffer.from(`${stem}-${String(ids.length).padStart(6, '0')}`).toString('base64')
        ids.push(id)
        yield {id, block, length}
      }
    })()
    try {
      await forEachLimit(
        numbered,
        BLOCK_CONCURRENCY,
        async ({id, block, length}) => {
          // The service checks each block against its own MD5, as it arrives.
          const blockHash = createHash('md5')
          for (const b of block) blockHash.update(b)
          // Not cut off by the signal: a block whose request was cut off may still be stored by the service
          // after the clean-up below. On the signal no further block starts, and the ones in flight end first.
          await this.call(url, () => client.stageBlock(id, () => partStream(block), length, {transactionalContentMD5: blockHash.digest()}))
          sent += length
          options.onProgress?.(sent)
        },
        options.signal,
      )
      const md5 = hash.digest('hex')
      checkBody(url, {bytes, md5}, {size: options.size, md5: options.md5})
      // Put Block List discards every uncommitted block it does not name: those of this blob's earlier,
      // interrupted uploads go with it.
      const done = await this.call(url, () =>
        client.commitBlockList(ids, {
          blobHTTPHeaders: this.headers(options, md5),
          conditions: conditions(options.precondition),
          ...(options.signal ? {abortSignal: options.signal} : {}),
        }),
      )
      return {key, size: bytes, md5, generation: done.etag, contentType: options.contentType, cacheControl: options.cacheControl}
    } catch (error) {
      // On errors and on the signal of SIGINT/SIGTERM alike: the staged blocks go, unless a committed blob
      // holds them (they then go at its next write, or after Azure's week).
      await this.abortUpload({key, id: ''}).catch(() => undefined)
      throw error
    }
  }

  /** Blobs holding only uncommitted blocks: listed with them, absent from the plain listing. */
  async *incompleteUploads(options: {prefix?: string; signal?: AbortSignal} = {}): AsyncIterable<IncompleteUpload> {
    const prefix = options.prefix || undefined
    const url = this.url + (options.prefix ?? '')
    const committed = new Set<string>()
    for await (const page of this.pages(this.container.listBlobsFlat({prefix}).byPage({maxPageSize: LIST_PAGE}), url))
      for (const b of page) committed.add(b.name)
    for await (const page of this.pages(
      this.container.listBlobsFlat({prefix, includeUncommitedBlobs: true}).byPage({maxPageSize: LIST_PAGE}),
      url,
    )) {
      for (const b of page) if (!committed.has(b.name)) yield {key: b.name, id: '', initiated: b.properties.lastModified}
      options.signal?.throwIfAborted()
    }
  }

  private async *pages(pages: AsyncIterableIterator<{segment: {blobItems: BlobItem[]}}>, url: string): AsyncIterable<BlobItem[]> {
    for (;;) {
      const page = await this.call(url, () => pages.next())
      if (page.done) return
      yield page.value.segment.blobItems
    }
  }

  /**
   * Drops a blob's uncommitted blocks when no committed blob holds them.
   * Azurite deletes such a blob; Azure answers 404 to that, so it is
   * committed empty (Put Block List discards every block it does not name),
   * only if no blob exists, and deleted at once by its ETag.
   */
  async abortUpload(upload: IncompleteUpload, options: {signal?: AbortSignal} = {}): Promise<void> {
    const url = this.urlOf(upload.key)
    const client = this.blockBlob(upload.key)
    const signal = options.signal ? {abortSignal: options.signal} : {}
    if ((await this.stat(upload.key)) !== undefined) return
    try {
      await this.call(url, () => client.delete(signal))
      return
    } catch (error) {
      if (!isStorageError(error, 'not-found')) throw error
    }
    try {
      const empty = await this.call(url, () => client.commitBlockList([], {conditions: {ifNoneMatch: '*'}, ...signal}))
      await this.call(url, () => client.delete({conditions: {ifMatch: empty.etag}, ...signal}))
    } catch (error) {
      // Committed by someone meanwhile (their blob keeps its blocks), or gone already.
      if (isStorageError(error, 'precondition-failed') || isStorageError(error, 'not-found')) return
      throw error
    }
  }

  async copy(sourceKey: string, destKey: string, options: {precondition?: Precondition; signal?: AbortSignal} = {}): Promise<ObjectInfo> {
    const url = this.urlOf(destKey)
    const source = this.blob(sourceKey)
    // Same account: the copy is authorised by this request's own credentials.
    await this.call(url, async () => {
      const poller = await this.blob(destKey).beginCopyFromURL(source.url, {
        conditions: conditions(options.precondition),
        ...(options.signal ? {abortSignal: options.signal} : {}),
      })
      return poller.pollUntilDone()
    })
    const info = await this.stat(destKey)
    if (!info) throw new StorageError('unavailable', `${url}: the copy finished but the blob is not there`, {url})
    return info
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    const url = this.urlOf(key)
    try {
      await this.call(url, () =>
        this.blob(key).delete({conditions: conditions(options.precondition), ...(options.signal ? {abortSignal: options.signal} : {})}),
      )
    } catch (error) {
      if (isStorageError(error, 'not-found') && options.precondition?.ifGenerationMatch === undefined) return
      if (isStorageError(error, 'not-found'))
        throw new StorageError('precondition-failed', `${url}: deleted by someone else`, {url, cause: error})
      throw error
    }
  }

  private async call<T>(url: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      throw azureError(error, url, this.urlOf(''))
    }
  }
}

/** The SDK's client of the container, for the requests azure-rest.ts does not make. */
function containerClient(options: AzureBucketOptions): ContainerClient {
  const sdk = azureSdk()
  // Azure's pipeline has no idle timeout, only one per try: five idle periods covers a 16 MiB block at a few MB/s.
  const pipeline = {retryOptions: {maxTries: options.attempts ?? 5, tryTimeoutInMs: 5 * (options.idleTimeoutMs ?? 60_000)}}
  let service: import('@azure/storage-blob').BlobServiceClient
  if (options.connectionString) {
    service = sdk.BlobServiceClient.fromConnectionString(options.connectionString, pipeline)
  } else {
    const endpoint = (options.endpoint ?? options.urlEndpoint ?? `https://${options.account}.blob.core.windows.net`).replace(/\/$/, '')
    if (options.accountKey) {
      const credential = new sdk.StorageSharedKeyCredential(options.accountName ?? options.account, options.accountKey)
      service = new sdk.BlobServiceClient(endpoint, credential, pipeline)
    } else if (options.sasToken) {
      service = new sdk.BlobServiceClient(`${endpoint}?${options.sasToken.replace(/^\?/, '')}`, undefined, pipeline)
    } else if (options.tokenCredential) {
      service = new sdk.BlobServiceClient(endpoint, options.tokenCredential as import('@azure/core-auth').TokenCredential, pipeline)
    } else {
      // Anonymous: public containers.
      service = new sdk.BlobServiceClient(endpoint, new sdk.AnonymousCredential(), pipeline)
    }
  }
  return service.getContainerClient(options.container)
}

/** ObjectInfo from the blob properties the SDK returns (a listing's BlobItem, Get Blob Properties, a download). */
export function infoOfProperties(
  key: string,
  p: {
    contentLength?: number | undefined
    contentType?: string | undefined
    cacheControl?: string | undefined
    contentMD5?: Uint8Array | undefined
    etag?: string | undefined
    lastModified?: Date | undefined
  },
): ObjectInfo {
  return {
    key,
    size: p.contentLength ?? 0,
    contentType: p.contentType,
    cacheControl: p.cacheControl,
    md5: p.contentMD5 && p.contentMD5.length > 0 ? Buffer.from(p.contentMD5).toString('hex') : undefined,
    generation: p.etag,
    updated: p.lastModified,
  }
}

function conditions(precondition: Precondition | undefined): BlobRequestConditions {
  if (precondition?.ifNotExists) return {ifNoneMatch: '*'}
  if (precondition?.ifGenerationMatch !== undefined) return {ifMatch: precondition.ifGenerationMatch}
  return {}
}

function azureError(error: unknown, url: string, containerUrl: string): Error {
  if (isStorageError(error)) return error
  const e = error as {name?: string; statusCode?: number; code?: string; message?: string; details?: {errorCode?: string}}
  if (e.name === 'AbortError') return error as Error
  const code = e.details?.errorCode ?? e.code
  switch (code) {
    case 'ContainerNotFound':
      return new StorageError('bucket-not-found', `${containerUrl}: no such container`, {
        url,
        cause: error,
        hint: 'check the account and container names',
      })
    case 'BlobNotFound':
      return new StorageError('not-found', `${url}: not found`, {url, cause: error})
    case 'AuthenticationFailed':
    case 'AuthorizationFailure':
    case 'AuthorizationPermissionMismatch':
    case 'InvalidAuthenticationInfo':
      return new StorageError('access-denied', `${url}: ${code}`, {
        url,
        cause: error,
        hint: 'check the Azure storage credentials (--azure-connection-string, AZURE_STORAGE_KEY) and their permissions',
      })
    case 'ConditionNotMet':
    case 'BlobAlreadyExists':
    case 'TargetConditionNotMet':
      return new StorageError(
        'precondition-failed',
        `${url}: ${code === 'BlobAlreadyExists' ? 'already exists' : 'changed by someone else'}`,
        {url, cause: error},
      )
    case 'InvalidRange':
      return new StorageError('range-not-satisfiable', `${url}: requested range not satisfiable`, {url, cause: error})
  }
  if (e.statusCode !== undefined && e.statusCode > 0) return storageErrorFromStatus(e.statusCode, url, {cause: error, detail: code})
  return new StorageError('unavailable', `${url}: ${code ?? e.name ?? 'error'}${e.message ? ` (${e.message.split('\n')[0]})` : ''}`, {
    url,
    cause: error,
  })
}

export function azureBucketOptions(
  account: string,
  container: string,
  urlEndpoint: string | undefined,
  options: StorageOptions,
): AzureBucketOptions {
  return {
    account,
    container,
    urlEndpoint,
    ...options.azure,
    attempts: options.attempts,
    idleTimeoutMs: options.idleTimeoutMs,
    logger: options.logger,
  }
}
