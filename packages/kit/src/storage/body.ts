import {createHash, type Hash} from 'node:crypto'
import {Readable, Transform, type TransformCallback} from 'node:stream'

import {StorageError} from './errors.js'

/** Counts and MD5-hashes the bytes that pass through; `md5()` is valid after the end. */
export class HashingStream extends Transform {
  bytes = 0
  private readonly hash: Hash = createHash('md5')
  private digest: string | undefined

  constructor(private readonly onProgress?: (bytes: number) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    this.hash.update(chunk)
    this.onProgress?.(this.bytes)
    callback(null, chunk)
  }

  md5(): string {
    this.digest ??= this.hash.digest('hex')
    return this.digest
  }
}

/** A body as a stream: buffers and strings are wrapped, streams pass through. */
export function toStream(body: Readable | Buffer | string): Readable {
  if (typeof body === 'string') return Readable.from([Buffer.from(body)])
  if (Buffer.isBuffer(body)) return Readable.from([body])
  return body
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex')
}

/** Base64 (as HTTP headers and GCS carry it) to hex, and back. */
export const base64ToHex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex')
export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64')

/**
 * Checks what arrived against what the caller declared: a short or altered
 * body must never be committed as the object.
 */
export function checkBody(
  url: string,
  got: {bytes: number; md5: string},
  want: {size?: number | undefined; md5?: string | undefined},
): void {
  if (want.size !== undefined && got.bytes !== want.size) {
    throw new StorageError('corrupt', `${url}: received ${got.bytes} bytes, expected ${want.size}`, {url})
  }
  if (want.md5 !== undefined && got.md5 !== want.md5.toLowerCase()) {
    throw new StorageError('corrupt', `${url}: MD5 ${got.md5} does not match the expected ${want.md5}`, {url})
  }
}

/**
 * One part of a multipart or block upload: the body's own buffers that make
 * it up, cut at its edges but never copied into one (on a 16 MiB part that
 * copy, and the garbage it leaves, measured at a tenth of an Azure upload's
 * CPU).
 */
export type Part = readonly Buffer[]

export const partLength = (part: Part): number => part.reduce((n, b) => n + b.length, 0)

/** The part as one buffer, for an API that takes nothing else (a copy unless it is one buffer already). */
export const joinPart = (part: Part): Buffer => (part.length === 1 ? part[0]! : Buffer.concat(part))

/** The part as a stream of its buffers: a new one for every attempt at sending it. */
export const partStream = (part: Part): Readable => Readable.from(part, {objectMode: false})

/**
 * Cuts a stream into parts of exactly `size` bytes (the last one shorter),
 * which the caller keeps until they are sent, so that a retry sends them
 * again. Always yields at least one part, so an empty body is one empty part.
 */
export async function* partsOf(body: Readable, size: number): AsyncGenerator<Part> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  let yielded = false
  for await (const raw of body) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer)
    while (pendingBytes + chunk.length >= size) {
      const take = size - pendingBytes
      pending.push(chunk.subarray(0, take))
      yield pending
      yielded = true
      chunk = chunk.subarray(take)
      pending = []
      pendingBytes = 0
    }
    if (chunk.length > 0) {
      pending.push(chunk)
      pendingBytes += chunk.length
    }
  }
  if (pendingBytes > 0 || !yielded) yield pending
}

/**
 * Decides between one request and a multipart/block upload: a buffer, or a
 * stream that ends within its first part, is `single`; anything longer comes
 * back as `parts` of `partSize` bytes.
 */
export async function splitBody(
  body: Readable | Buffer | string,
  partSize: number,
): Promise<{single: Buffer} | {parts: AsyncIterable<Part>}> {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const data = Buffer.from(body)
    if (data.length <= partSize) return {single: data}
  }
  const parts = partsOf(toStream(body), partSize)
  const first = await parts.next()
  const second = first.done ? first : await parts.next()
  if (second.done) return {single: first.done ? Buffer.alloc(0) : joinPart(first.value)}
  return {
    parts: (async function* () {
      yield first.value
      yield second.value
      yield* parts
    })(),
  }
}

/**
 * Wraps a response body so that a connection lost mid-way, or a body shorter
 * than announced, surfaces as one clear StorageError ('unavailable', with the
 * bytes received) instead of a bare socket error or a silent short read. The
 * caller resumes with `read(key, {start: offset + received})`.
 */
export function guardBody(
  body: Readable,
  url: string,
  expected: number | undefined,
  mapError?: (error: unknown) => Error | undefined,
): Readable {
  let received = 0
  const out = new Transform({
    // Room for a few MiB in flight: with the default 16 KiB the socket is paused and resumed
    // every few packets, which measured at a fraction of the link's throughput.
    highWaterMark: 4 * 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length
      callback(null, chunk)
    },
    flush(callback) {
      if (expected !== undefined && received < expected) {
        callback(new StorageError('unavailable', `${url}: the connection ended after ${received} of ${expected} bytes`, {url}))
      } else callback()
    },
  })
  body.on('error', (error: NodeJS.ErrnoException) => {
    const mapped = mapError?.(error)
    if (mapped) return void out.destroy(mapped)
    const why = error.code ?? error.name ?? 'error'
    out.destroy(
      new StorageError(
        'unavailable',
        `${url}: the connection failed after ${received}${expected === undefined ? '' : ` of ${expected}`} bytes (${why})`,
        {url, cause: error},
      ),
    )
  })
  // A body whose socket closes without an error or an end ("aborted") must not look like a clean end.
  body.on('close', () => {
    if (!body.readableEnded && !out.destroyed)
      out.destroy(new StorageError('unavailable', `${url}: the connection closed after ${received} bytes`, {url}))
  })
  out.on('close', () => {
    if (!body.destroyed) body.destroy()
  })
  return body.pipe(out)
}

/** A whole (small) stream in one buffer: an answer's body, an object read before a local write. */
export async function bufferOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * The chunks of a stream, one at a time as they arrived. `for await` over a
 * Readable itself joins everything buffered into one new Buffer at each step
 * (measured: a tenth of a large download's CPU, plus the garbage); this reads
 * in flowing mode, pausing the stream while `queued` bytes wait for the consumer.
 */
export async function* chunksOf(body: Readable, queued = 8 * 1024 * 1024): AsyncGenerator<Buffer> {
  const queue: Buffer[] = []
  let queuedBytes = 0
  let ended = false
  let failure: {error: unknown} | undefined
  let wake: (() => void) | undefined
  const signal = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const onData = (chunk: Buffer | string): void => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    queue.push(buffer)
    queuedBytes += buffer.length
    if (queuedBytes >= queued) body.pause()
    signal()
  }
  const onEnd = (): void => {
    ended = true
    signal()
  }
  const onError = (error: unknown): void => {
    failure ??= {error}
    signal()
  }
  // A stream destroyed without an error or an end must not look like a clean end.
  const onClose = (): void => {
    if (!ended) onError(Object.assign(new Error('the stream closed before its end'), {code: 'ERR_STREAM_PREMATURE_CLOSE'}))
  }
  body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  // A source paused by its owner would not start flowing by itself.
  body.resume()
  try {
    for (;;) {
      const chunk = queue.shift()
      if (chunk) {
        queuedBytes -= chunk.length
        if (queuedBytes < queued / 2 && body.isPaused()) body.resume()
        yield chunk
        continue
      }
      if (failure) throw failure.error
      if (ended) return
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
    // The consumer stopped early (or failed): release the source.
    if (!ended) body.destroy()
  }
}
