import type {Logger} from '../log.js'
import {StorageError} from './errors.js'
import type {Bucket} from './types.js'

export interface AbortUploadsOptions {
  bucket: Bucket
  /** Key prefix whose incomplete uploads are looked at ('' for the whole bucket). */
  prefix: string
  /** Only uploads begun at least this long ago: younger ones may still be running. */
  olderThanMs: number
  /** List what would be aborted; abort nothing. */
  dryRun: boolean
  now?: Date | undefined
  logger?: Logger | undefined
  signal?: AbortSignal | undefined
}

export interface AbortedUpload {
  url: string
  key: string
  /** The backend's name of the upload (S3 UploadId, temporary file); '' for an Azure blob's blocks. */
  id: string
  /** ISO time it began, where the backend tells. */
  initiated?: string | undefined
}

export interface AbortUploadsResult {
  dryRun: boolean
  /** Aborted (or, with dryRun, to abort). */
  aborted: AbortedUpload[]
  /** Younger than the cut-off, or of unknown age: left alone. */
  kept: AbortedUpload[]
}

/**
 * `ore storage abort-uploads`: finds the incomplete uploads under a prefix
 * (S3 multipart uploads, Azure blobs of uncommitted blocks, local temporary
 * files) begun before the cut-off and aborts them. One of unknown age is
 * kept: it may be running.
 */
export async function abortIncompleteUploads(options: AbortUploadsOptions): Promise<AbortUploadsResult> {
  const {bucket, logger, signal} = options
  if (!bucket.incompleteUploads || !bucket.abortUpload) {
    throw new StorageError(
      'unsupported',
      `${bucket.urlOf(options.prefix)}: ${bucket.scheme === 'gs' ? 'GCS cannot list resumable upload sessions (each is cancelled by the process that began it, or expires after a week)' : 'this backend has no incomplete uploads'}`,
    )
  }
  const cutOff = (options.now ?? new Date()).getTime() - options.olderThanMs
  const result: AbortUploadsResult = {dryRun: options.dryRun, aborted: [], kept: []}
  for await (const upload of bucket.incompleteUploads({prefix: options.prefix, ...(signal ? {signal} : {})})) {
    const entry: AbortedUpload = {url: bucket.urlOf(upload.key), key: upload.key, id: upload.id, initiated: upload.initiated?.toISOString()}
    if (!upload.initiated || upload.initiated.getTime() > cutOff) {
      result.kept.push(entry)
      continue
    }
    if (options.dryRun) logger?.notice(`Would abort the upload of ${entry.url} begun ${entry.initiated}`)
    else {
      logger?.notice(`Aborting the upload of ${entry.url} begun ${entry.initiated}`)
      await bucket.abortUpload(upload, signal ? {signal} : {})
    }
    result.aborted.push(entry)
  }
  return result
}
