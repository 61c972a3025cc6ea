import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {text} from 'node:stream/consumers'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isStorageError} from './errors.js'
import {openLocation} from './open.js'
import {startMirrorServer, type MirrorServer} from './testing/mirror-server.js'

describe('https mirror backend', () => {
  let dir: string
  let server: MirrorServer | undefined
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-http-'))
    await writeFile(join(dir, 'image.bin'), '0123456789')
  })
  afterEach(async () => {
    await server?.close()
    await rm(dir, {recursive: true, force: true})
  })

  it('Given a server that ignores Range, when reading from an offset, then offset is 0 and the whole body comes back', async () => {
    server = await startMirrorServer(dir, {ignoreRange: true})
    const {bucket, key} = await openLocation(`${server.origin}/image.bin`)
    const result = await bucket.read(key, {start: 4})
    expect(result.offset).toBe(0)
    expect(await text(result.body)).toBe('0123456789')
    expect(server.requests).toContain('GET /image.bin bytes=4-')
  })

  it('Given GCS-style hash headers, when stat, then MD5 and CRC32C are reported', async () => {
    server = await startMirrorServer(dir, {headers: {'x-goog-hash': 'crc32c=n03x6A==,md5=eB5eJF1ptWaXm4bijSPyxw=='}})
    const {bucket, key} = await openLocation(`${server.origin}/image.bin`)
    expect(await bucket.stat(key)).toMatchObject({size: 10, md5: '781e5e245d69b566979b86e28d23f2c7', crc32c: 'n03x6A=='})
  })

  it('Given nothing listening, when reading, then a one-line unavailable error (exit 3) after retries', async () => {
    server = await startMirrorServer(dir)
    const origin = server.origin
    await server.close()
    server = undefined
    const {bucket, key} = await openLocation(`${origin}/image.bin`, {attempts: 2})
    const error = await bucket.read(key).catch((e: unknown) => e)
    expect(isStorageError(error, 'unavailable')).toBe(true)
    expect((error as {exitCode: number}).exitCode).toBe(3)
    expect((error as Error).message).toMatch(/ECONNREFUSED/)
  })

  it('Given a listing, when asked of a mirror, then unsupported', async () => {
    server = await startMirrorServer(dir)
    const {bucket} = await openLocation(`${server.origin}/`)
    const error = await (async () => {
      for await (const _ of bucket.list()) void _
    })().catch((e: unknown) => e)
    expect(isStorageError(error, 'unsupported')).toBe(true)
  })
})
