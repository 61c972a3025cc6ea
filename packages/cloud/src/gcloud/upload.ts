import {createReadStream} from 'node:fs'
import {basename} from 'node:path'

import {UsageError, type Bucket} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'

export interface UploadObjectOptions {
  /** Kit's storage bucket (gs:// for GCE images; any backend works). */
  bucket: Pick<Bucket, 'url' | 'stat' | 'write'>
  key: string
  file: string
  /** Replace an object that exists. */
  force?: boolean | undefined
  contentType?: string | undefined
  context: ServiceContext
}

export interface UploadObjectResult {
  url: string
  size: number
  /** False when the object existed with the same size and was kept. */
  uploaded: boolean
}

/**
 * Uploads a disk image to storage for images.insert to read. An object of
 * the same size is kept unless forced; the write is create-only, so a
 * concurrent upload is detected rather than overwritten.
 */
export async function uploadObject(options: UploadObjectOptions): Promise<UploadObjectResult> {
  const {bucket, key, file, context: ctx} = options
  const size = await requireFile(file)
  const url = `${bucket.url.replace(/\/$/, '')}/${key}`
  const existing = await bucket.stat(key, {signal: ctx.signal})
  if (existing && !options.force) {
    if (existing.size !== size)
      throw new UsageError(`${url} exists with ${existing.size} bytes, the file has ${size}`, {hint: '--force replaces it'})
    ctx.logger.notice(`${url} exists with the same size; keeping it (--force uploads again)`)
    return {url, size, uploaded: false}
  }
  const progress = uploadProgress(ctx, `upload ${basename(file)}`, size)
  try {
    await bucket.write(key, createReadStream(file), {
      size,
      contentType: options.contentType ?? 'application/gzip',
      onProgress: progress.onProgress,
      ...(existing && options.force ? {} : {precondition: {ifNotExists: true}}),
      ...(ctx.signal ? {signal: ctx.signal} : {}),
    })
  } finally {
    progress.finish()
  }
  return {url, size, uploaded: true}
}
