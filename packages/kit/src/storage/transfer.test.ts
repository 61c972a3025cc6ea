import {createHash, randomBytes} from 'node:crypto'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isStorageError} from './errors.js'
import {openBucket} from './open.js'
import {startFaultProxy, type FaultProxy} from './testing/fault-proxy.js'
import {startMirrorServer, type MirrorServer} from './testing/mirror-server.js'
import {readToFile} from './transfer.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

describe('readToFile', () => {
  let dir: string
  let server: MirrorServer | undefined
  let proxy: FaultProxy | undefined
  const data = randomBytes(10 * MiB + 123)
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-transfer-'))
    await writeFile(join(dir, 'obj.bin'), data)
  })
  afterEach(async () => {
    await proxy?.close()
    await server?.close()
    proxy = server = undefined
    await rm(dir, {recursive: true, force: true})
  })

  it('Given an object in several ranges, when read to a file, then the file has every byte and no partial file is left', async () => {
    server = await startMirrorServer(dir)
    const bucket = await openBucket(server.origin + '/')
    let progress = 0
    const info = await readToFile(bucket, 'obj.bin', join(dir, 'out.bin'), {
      partSize: 1 * MiB,
      concurrency: 3,
      parallelFrom: 0,
      onProgress: (b) => (progress = b),
    })
    expect(info.size).toBe(data.length)
    expect(md5(await readFile(join(dir, 'out.bin')))).toBe(md5(data))
    expect(progress).toBe(data.length)
    expect(server.requests.filter((r) => r.startsWith('GET')).length).toBe(11)
    await expect(stat(join(dir, 'out.bin.partial'))).rejects.toThrow()
  })

  it('Given connections reset mid-range, when read to a file, then each range resumes and the bytes are right', async () => {
    server = await startMirrorServer(dir)
    const {port} = new URL(server.origin)
    proxy = await startFaultProxy({host: '127.0.0.1', port: Number(port)}, (n) =>
      n < 3 ? {kind: 'reset', direction: 'download', afterBytes: 700 * 1024} : undefined,
    )
    const bucket = await openBucket(proxy.origin + '/', {attempts: 1})
    await readToFile(bucket, 'obj.bin', join(dir, 'out.bin'), {partSize: 4 * MiB, concurrency: 2, parallelFrom: 0})
    expect(proxy.injected).toBeGreaterThan(0)
    expect(md5(await readFile(join(dir, 'out.bin')))).toBe(md5(data))
  })

  it('Given a missing object, when read to a file, then not-found and no file', async () => {
    server = await startMirrorServer(dir)
    const bucket = await openBucket(server.origin + '/')
    const error = await readToFile(bucket, 'nope.bin', join(dir, 'out.bin')).catch((e: unknown) => e)
    expect(isStorageError(error, 'not-found')).toBe(true)
    await expect(stat(join(dir, 'out.bin'))).rejects.toThrow()
  })

  it('Given an empty object, when read to a file, then an empty file', async () => {
    await writeFile(join(dir, 'empty.bin'), '')
    const bucket = await openBucket(dir)
    await readToFile(bucket, join(dir, 'empty.bin').slice(1), join(dir, 'out.bin'))
    expect((await stat(join(dir, 'out.bin'))).size).toBe(0)
  })
})
