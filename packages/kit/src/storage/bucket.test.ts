import {createHash, randomBytes} from 'node:crypto'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {text} from 'node:stream/consumers'

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {isStorageError, type StorageError} from './errors.js'
import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'
import {readToFile} from './transfer.js'
import type {Bucket, ListEntry} from './types.js'

const MiB = 1024 * 1024

/** Lists `base + prefix`; names come back relative to `base`. */
async function collect(bucket: Bucket, base: string, prefix: string, delimiter?: string): Promise<string[]> {
  const out: string[] = []
  for await (const e of bucket.list({prefix: base + prefix, ...(delimiter ? {delimiter} : {})})) out.push(entryName(e).slice(base.length))
  return out
}
const entryName = (e: ListEntry): string => (e.type === 'object' ? e.object.key : e.prefix)

async function md5Of(body: Readable): Promise<{md5: string; bytes: number}> {
  const hash = createHash('md5')
  let bytes = 0
  for await (const chunk of body) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return {md5: hash.digest('hex'), bytes}
}

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise
  } catch (error) {
    return error as StorageError
  }
  throw new Error('expected a rejection')
}

/** A body that arrives in small chunks, as from a network: no length known up front. */
function chunked(data: Buffer, size = 256 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
    })(),
  )
}

for (const fixture of BACKENDS) {
  describe.skipIf(!backendAvailable(fixture))(`storage backend: ${fixture.name}`, () => {
    let t: BackendUnderTest
    const w = (name: string): string => t.writerPrefix + name
    const r = (name: string): string => t.readerPrefix + name
    const writable = !fixture.readOnly

    beforeAll(async () => {
      t = await fixture.open(process.env)
    })
    afterAll(async () => {
      await t?.cleanup()
    })

    it('Given a 20 MiB stream, when written (multipart/resumable) and read back, then the bytes and MD5 match', async () => {
      const data = randomBytes(20 * MiB)
      const md5 = createHash('md5').update(data).digest('hex')
      let progress = 0
      const written = await t.writer.write(w('big/blob.bin'), chunked(data), {
        size: data.length,
        contentType: 'application/octet-stream',
        onProgress: (b) => (progress = b),
      })
      expect(written.size).toBe(data.length)
      if (written.md5) expect(written.md5).toBe(md5)
      expect(progress).toBeGreaterThan(0)

      const read = await t.reader.read(r('big/blob.bin'))
      expect(read.offset).toBe(0)
      expect(await md5Of(read.body)).toEqual({md5, bytes: data.length})
      const info = await t.reader.stat(r('big/blob.bin'))
      expect(info?.size).toBe(data.length)
    })

    it('Given an object, when read by ranges, then each range has the right bytes and offset', async () => {
      const data = Buffer.from('0123456789abcdefghij')
      await t.writer.write(w('range.txt'), data)
      const mid = await t.reader.read(r('range.txt'), {start: 5, end: 9})
      expect(mid.offset).toBe(5)
      expect(await text(mid.body)).toBe('56789')
      const tail = await t.reader.read(r('range.txt'), {start: 15})
      expect(tail.offset).toBe(15)
      expect(tail.size).toBe(20)
      expect(await text(tail.body)).toBe('fghij')
    })

    it('Given an object, when read to a file in ranges, then every byte arrives, each range by a request made for it', async () => {
      const data = randomBytes(3 * MiB + 5)
      await t.writer.write(w('ranged/img.bin'), data)
      // Each range asks for its plain GET anew (a signature can expire during a long download); no plain GET, the backend's read.
      const directReads = t.reader.directRead ? vi.spyOn(t.reader as Required<Bucket>, 'directRead') : undefined
      const reads = vi.spyOn(t.reader, 'read')
      const dir = await mkdtemp(join(tmpdir(), 'mantle-ranged-'))
      try {
        await readToFile(t.reader, r('ranged/img.bin'), join(dir, 'img.bin'), {partSize: MiB, parallelFrom: 0, concurrency: 2})
        expect((await readFile(join(dir, 'img.bin'))).equals(data)).toBe(true)
        expect(directReads?.mock.calls.length ?? 0).toBe(directReads ? 4 : 0)
        expect(reads.mock.calls.length).toBe(directReads ? 0 : 4)
      } finally {
        directReads?.mockRestore()
        reads.mockRestore()
        await rm(dir, {recursive: true, force: true})
      }
    })

    it.skipIf(!fixture.enforcesPreconditions)(
      'Given an object replaced while read to a file, then precondition-failed and no file: never two versions spliced',
      async () => {
        await t.writer.write(w('ranged/moving.bin'), randomBytes(2 * MiB))
        // The second range is asked for only once the object was replaced.
        const replaceOnSecond = <A extends unknown[], R>(original: (...args: A) => Promise<R>) => {
          let calls = 0
          return async (...args: A): Promise<R> => {
            if (++calls === 2) await t.writer.write(w('ranged/moving.bin'), randomBytes(2 * MiB))
            return original(...args)
          }
        }
        const directRead = t.reader.directRead?.bind(t.reader)
        const read = t.reader.read.bind(t.reader)
        const spy = directRead
          ? vi.spyOn(t.reader as Required<Bucket>, 'directRead').mockImplementation(replaceOnSecond(directRead))
          : vi.spyOn(t.reader, 'read').mockImplementation(replaceOnSecond(read))
        const dir = await mkdtemp(join(tmpdir(), 'mantle-moving-'))
        try {
          const error = await rejection(
            readToFile(t.reader, r('ranged/moving.bin'), join(dir, 'img.bin'), {partSize: MiB, parallelFrom: 0, concurrency: 1}),
          )
          expect(isStorageError(error, 'precondition-failed')).toBe(true)
          expect(await readdir(dir)).toEqual([])
        } finally {
          spy.mockRestore()
          await rm(dir, {recursive: true, force: true})
        }
      },
    )

    it('Given a read that starts at the end of the object, when read, then range-not-satisfiable carries the size', async () => {
      await t.writer.write(w('done.txt'), 'complete')
      const error = await rejection(t.reader.read(r('done.txt'), {start: 8}))
      expect(isStorageError(error, 'range-not-satisfiable')).toBe(true)
      expect(error.size).toBe(8)
    })

    it('Given a missing object, when stat and read, then undefined and not-found', async () => {
      expect(await t.reader.stat(r('missing/none.txt'))).toBeUndefined()
      const error = await rejection(t.reader.read(r('missing/none.txt')))
      expect(isStorageError(error, 'not-found')).toBe(true)
      expect(error.exitCode).toBe(2)
    })

    it.skipIf(fixture.readOnly)('Given nested objects, when listed with a delimiter, then sub-prefixes roll up in order', async () => {
      for (const k of ['tree/a.txt', 'tree/b/1.txt', 'tree/b/2/deep.txt', 'tree/c/x.txt', 'treetop.txt']) await t.writer.write(w(k), k)
      expect(await collect(t.reader, r(''), 'tree/', '/')).toEqual(['tree/a.txt', 'tree/b/', 'tree/c/'])
      expect(await collect(t.reader, r(''), 'tree/')).toEqual(['tree/a.txt', 'tree/b/1.txt', 'tree/b/2/deep.txt', 'tree/c/x.txt'])
      expect(await collect(t.reader, r(''), 'tree', '/')).toEqual(['tree/', 'treetop.txt'])
    })

    it.skipIf(fixture.readOnly)(
      'Given content type and cache control, when written, then stat reports them where the backend keeps metadata',
      async () => {
        await t.writer.write(w('meta/page.html'), '<p>hi</p>', {contentType: 'text/html', cacheControl: 'public, max-age=60'})
        const info = await t.reader.stat(r('meta/page.html'))
        expect(info).toMatchObject({key: r('meta/page.html'), size: 9})
        expect(info?.generation).toBeTruthy()
        if (t.reader.metadata) {
          expect(info?.contentType).toMatch(/^text\/html/)
          expect(info?.cacheControl).toBe('public, max-age=60')
        }
      },
    )

    it.skipIf(fixture.readOnly)('Given an object, when copied, then the copy has the same bytes', async () => {
      await t.writer.write(w('copy/src.txt'), 'copy me', {contentType: 'text/plain'})
      const copied = await t.writer.copy(w('copy/src.txt'), w('copy/dst.txt'))
      expect(copied.size).toBe(7)
      expect(await text((await t.reader.read(r('copy/dst.txt'))).body)).toBe('copy me')
    })

    it.skipIf(!writable || !fixture.enforcesPreconditions)(
      'Given an existing object, when written create-only, then precondition-failed and the object is unchanged',
      async () => {
        await t.writer.write(w('pre/once.txt'), 'first', {precondition: {ifNotExists: true}})
        const error = await rejection(t.writer.write(w('pre/once.txt'), 'second', {precondition: {ifNotExists: true}}))
        expect(isStorageError(error, 'precondition-failed')).toBe(true)
        expect(await text((await t.reader.read(r('pre/once.txt'))).body)).toBe('first')
      },
    )

    it.skipIf(!writable || !fixture.enforcesPreconditions)(
      'Given a stale generation, when deleting or overwriting, then precondition-failed; with the current one, it succeeds',
      async () => {
        const first = await t.writer.write(w('pre/gen.txt'), 'v1')
        const second = await t.writer.write(w('pre/gen.txt'), 'v2 longer', {precondition: {ifGenerationMatch: first.generation!}})
        expect(second.generation).not.toBe(first.generation)
        const stale = await rejection(t.writer.delete(w('pre/gen.txt'), {precondition: {ifGenerationMatch: first.generation!}}))
        expect(isStorageError(stale, 'precondition-failed')).toBe(true)
        const staleWrite = await rejection(t.writer.write(w('pre/gen.txt'), 'v3', {precondition: {ifGenerationMatch: first.generation!}}))
        expect(isStorageError(staleWrite, 'precondition-failed')).toBe(true)
        expect(await t.reader.stat(r('pre/gen.txt'))).toMatchObject({size: 9})
        await t.writer.delete(w('pre/gen.txt'), {precondition: {ifGenerationMatch: second.generation!}})
        expect(await t.reader.stat(r('pre/gen.txt'))).toBeUndefined()
      },
    )

    it.skipIf(!fixture.readOnly)('Given a read-only mirror, when writing, then read-only (exit 2)', async () => {
      const error = await rejection(t.reader.write(r('x.txt'), 'x'))
      expect(isStorageError(error, 'read-only')).toBe(true)
      expect(error.exitCode).toBe(2)
    })
  })
}
