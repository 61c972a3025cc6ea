import {writeSync} from 'node:fs'
import {open, rename, unlink} from 'node:fs/promises'

import {isTransient, retry} from '../retry.js'
import {chunksOf} from './body.js'
import {getRange} from './direct-get.js'
import {isStorageError, StorageError} from './errors.js'
import {forEachLimit} from './limit.js'
import type {Bucket, ObjectInfo} from './types.js'

const WRITE_BATCH = 2 * 1024 * 1024

export interface ReadToFileOptions {
  /** Ranges read at once (default 4). */
  concurrency?: number | undefined
  /** Bytes per range (default 32 MiB). */
  partSize?: number | undefined
  /** Objects smaller than this are read in one request (default 256 MiB, as rclone's multi-thread cutoff). */
  parallelFrom?: number | undefined
  /** Attempts per range; each retry resumes where the failed one stopped (default 5). */
  attempts?: number | undefined
  onProgress?: ((bytes: number) => void) | undefined
  signal?: AbortSignal | undefined
}

/**
 * Reads a whole object into a file, several byte ranges at once, each range
 * written at its place; a range cut off mid-way resumes from its last byte.
 * The file appears under its name only once every byte is there (written to
 * `<path>.partial` first). Every range is pinned to the generation the first
 * stat saw: if the object changes meanwhile, the read fails instead of
 * splicing two versions.
 */
export async function readToFile(bucket: Bucket, key: string, path: string, options: ReadToFileOptions = {}): Promise<ObjectInfo> {
  const url = bucket.urlOf(key)
  const info = await bucket.stat(key, options.signal ? {signal: options.signal} : {})
  if (!info) throw new StorageError('not-found', `${url}: not found`, {url})
  const partSize = options.partSize ?? 32 * 1024 * 1024
  const size = info.size
  const ranges: {start: number; end: number}[] = []
  for (let start = 0; start < size; start += partSize) ranges.push({start, end: Math.min(size, start + partSize) - 1})
  // A plain GET straight into the file where the backend offers one (see direct-get.ts); the backend's own read otherwise.
  let direct = size > 0 && bucket.directRead !== undefined
  const partial = `${path}.partial`
  const file = await open(partial, 'w')
  let done = 0
  try {
    await forEachLimit(
      size >= (options.parallelFrom ?? 256 * 1024 * 1024) ? ranges : [{start: 0, end: Math.max(0, size - 1)}],
      options.concurrency ?? 4,
      async (range) => {
        let at = range.start
        /**
         * False where the backend has no plain GET for this object, or for a server this reader cannot
         * follow (a chunked answer, say): the backend's own read takes over, for good. The request is
         * asked for anew each time: a signed one (S3's) is good for minutes, a download can take longer.
         */
        const readDirect = async (): Promise<boolean> => {
          const target = await bucket.directRead!(key, info)
          if (!target) {
            direct = false
            return false
          }
          try {
            await getRange(target, url, {
              start: at,
              end: range.end,
              signal: options.signal,
              // The chunk's buffer is reused once this returns: written at its place before that.
              onChunk: (chunk) => {
                writeSync(file.fd, chunk, 0, chunk.length, at)
                at += chunk.length
                done += chunk.length
                options.onProgress?.(done)
              },
            })
            return true
          } catch (error) {
            if (!isStorageError(error, 'unsupported')) throw error
            direct = false
            return false
          }
        }
        const readThroughBackend = async (): Promise<void> => {
          const r = await bucket.read(key, {start: at, end: range.end, known: info, ...(options.signal ? {signal: options.signal} : {})})
          if (r.offset !== at) throw new StorageError('unsupported', `${url}: the server does not honour byte ranges`, {url})
          if (info.generation && r.info?.generation && r.info.generation !== info.generation) {
            r.body.destroy()
            throw new StorageError('precondition-failed', `${url}: changed while being read`, {url})
          }
          // Network chunks are small (16-64 KiB): gather them into larger writes.
          let pending: Buffer[] = []
          let pendingBytes = 0
          const flush = async (): Promise<void> => {
            if (pendingBytes === 0) return
            // writev: no copy into one buffer first.
            const written = pendingBytes
            await file.writev(pending, at)
            at += written
            done += written
            pending = []
            pendingBytes = 0
            options.onProgress?.(done)
          }
          try {
            for await (const chunk of chunksOf(r.body)) {
              pending.push(chunk)
              pendingBytes += chunk.length
              if (pendingBytes >= WRITE_BATCH) await flush()
            }
          } finally {
            // What arrived before a failure is kept: the retry resumes after it.
            await flush()
          }
        }
        await retry(
          async () => {
            if (size === 0) return
            if (!direct || !(await readDirect())) await readThroughBackend()
            if (at !== range.end + 1)
              throw new StorageError('unavailable', `${url}: range ended at ${at}, expected ${range.end + 1}`, {url})
          },
          {
            attempts: options.attempts ?? 5,
            retryable: (error) => isTransient(error) || isStorageError(error, 'unavailable'),
            ...(options.signal ? {signal: options.signal} : {}),
          },
        )
      },
      options.signal,
    )
    await file.close()
    await rename(partial, path)
    return info
  } catch (error) {
    await file.close().catch(() => undefined)
    await unlink(partial).catch(() => undefined)
    throw error
  }
}
