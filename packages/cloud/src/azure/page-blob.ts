import {open} from 'node:fs/promises'

import {UsageError} from '@mantle/kit'
import {azureSdk} from '@mantle/kit/storage/sdks'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {METADATA_MARKER} from '../common/marker.js'
import {withRetry} from '../common/retry.js'
import type {PageBlobApi} from './clients.js'
import {azureError} from './errors.js'
import {validateVhd} from './vhd.js'

const PAGE = 512
/** The most one Put Page call takes. */
const MAX_PUT = 4 * 1024 * 1024
const ZERO_PAGE = Buffer.alloc(PAGE)

export interface UploadVhdOptions {
  blob: PageBlobApi
  file: string
  /** Replace an existing blob; without it an existing blob is left alone. */
  overwrite?: boolean | undefined
  /** Check the VHD first (default true). */
  validate?: boolean | undefined
  /** Bytes per Put Page call, a multiple of 512 up to 4 MiB. */
  chunkSize?: number | undefined
  /** Put Page calls in flight. */
  concurrency?: number | undefined
  context: ServiceContext
}

export interface UploadVhdResult {
  url: string
  size: number
  /** True when the blob existed and was left alone. */
  existed: boolean
  uploadedBytes: number
  /** All-zero pages not sent: a new page blob reads as zeros there already. */
  skippedZeroBytes: number
}

/**
 * Uploads a VHD as a page blob, sending only pages that hold data. Azure
 * needs disks as page blobs; a fresh page blob reads as zeros, so sparse
 * images upload in a fraction of their size.
 */
export async function uploadVhd(options: UploadVhdOptions): Promise<UploadVhdResult> {
  const {blob, file, context: ctx} = options
  const size = options.validate === false ? await requireFile(file) : (await validateVhd(file)).fileSize
  if (size % PAGE !== 0) throw new UsageError(`${file}: size ${size} is not a multiple of 512 bytes, which a page blob needs`)
  const chunkSize = options.chunkSize ?? MAX_PUT
  if (chunkSize % PAGE !== 0 || chunkSize > MAX_PUT || chunkSize <= 0)
    throw new UsageError(`chunk size ${chunkSize} must be a multiple of 512 up to 4 MiB`)
  const call = <T>(what: string, op: () => Promise<T>) =>
    withRetry(`azure ${what}`, op, ctx).catch((e: unknown) => Promise.reject(azureError(`azure ${what} ${blob.url}`, e)))

  if (!options.overwrite && (await call('exists', () => blob.exists({abortSignal: ctx.signal})))) {
    ctx.logger.notice(`${blob.url} exists; leaving it alone (--overwrite replaces it)`)
    return {url: blob.url, size, existed: true, uploadedBytes: 0, skippedZeroBytes: 0}
  }
  await call('create', () => blob.create(size, {metadata: METADATA_MARKER, abortSignal: ctx.signal}))

  const progress = uploadProgress(ctx, `upload ${blob.url}`, size)
  const result: UploadVhdResult = {url: blob.url, size, existed: false, uploadedBytes: 0, skippedZeroBytes: 0}
  const inFlight = new Set<Promise<void>>()
  let done = 0
  const handle = await open(file, 'r')
  try {
    for (let offset = 0; offset < size; offset += chunkSize) {
      const length = Math.min(chunkSize, size - offset)
      const chunk = Buffer.alloc(length)
      await handle.read(chunk, 0, length, offset)
      for (const [start, end] of dataRuns(chunk)) {
        const body = chunk.subarray(start, end)
        const at = offset + start
        const put = call('uploadPages', () => blob.uploadPages(body, at, body.length, {abortSignal: ctx.signal})).then(() => {
          result.uploadedBytes += body.length
        })
        const tracked = put.finally(() => inFlight.delete(tracked))
        inFlight.add(tracked)
        if (inFlight.size >= (options.concurrency ?? 4)) await Promise.race(inFlight)
      }
      done += length
      progress.onProgress(done)
    }
    await Promise.all(inFlight)
  } catch (error) {
    // Let the other calls settle before reporting, so none runs on after we return.
    await Promise.allSettled(inFlight)
    throw error
  } finally {
    await handle.close()
    progress.finish()
  }
  result.skippedZeroBytes = size - result.uploadedBytes
  ctx.logger.info(`uploaded ${result.uploadedBytes} bytes to ${blob.url}, skipped ${result.skippedZeroBytes} bytes of zero pages`)
  return result
}

/** [start, end) byte ranges of consecutive 512-byte pages that are not all zero. */
export function dataRuns(chunk: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  let runStart = -1
  for (let p = 0; p < chunk.length; p += PAGE) {
    // Buffer.equals is a native memcmp: a byte loop in JS would dominate the upload of a large image.
    const zero = chunk.subarray(p, p + PAGE).equals(ZERO_PAGE)
    if (!zero && runStart < 0) runStart = p
    if (zero && runStart >= 0) {
      runs.push([runStart, p])
      runStart = -1
    }
  }
  if (runStart >= 0) runs.push([runStart, chunk.length])
  return runs
}

/**
 * A read-only SAS URL of a blob (read; Flatcar's SignBlob in
 * platform/api/azure/storage.go asks read and list, which a blob SAS of this
 * SDK cannot carry: list is a container permission), as Partner Center asks for an offer's
 * VHD. It is a credential: callers write it where the user asked, never to
 * logs. Signing needs the storage account key.
 */
export async function readOnlySasUrl(blob: PageBlobApi, expiresOn: Date): Promise<string> {
  const sb = azureSdk()
  try {
    return await blob.generateSasUrl({permissions: sb.BlobSASPermissions.parse('r'), expiresOn})
  } catch (error) {
    if (/shared key credential/i.test((error as Error).message)) {
      throw new UsageError('azure storage: a SAS URL is signed with the storage account key, and none was given', {
        hint: 'set AZURE_STORAGE_KEY or pass a connection string',
      })
    }
    throw error
  }
}
