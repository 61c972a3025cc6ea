import {randomBytes} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {gcsSdk} from './sdks.js'
import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'
import type {ObjectInfo} from './types.js'

const gcs = BACKENDS.find((f) => f.name.startsWith('gcs'))!

describe.skipIf(!backendAvailable(gcs))('GCS reads (firebase emulator)', () => {
  let t: BackendUnderTest
  beforeAll(async () => {
    t = await gcs.open(process.env)
  })
  afterAll(async () => {
    await t?.cleanup()
  })

  it('Given a 20 MiB object, when read whole several times, then the bytes arrive and no MaxListenersExceededWarning is emitted', async () => {
    // Given an object (the SDK's read stream stacked five pipelines on one PassThrough: its eleventh
    // listener drew the warning at every read, which flooded the test output)
    const data = randomBytes(20 * 1024 * 1024)
    await t.writer.write(t.writerPrefix + 'w.bin', data)
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(w.name)
    process.on('warning', onWarning)
    try {
      // When it is read whole, three times
      for (let i = 0; i < 3; i++) {
        const {body} = await t.reader.read(t.readerPrefix + 'w.bin')
        const chunks: Buffer[] = []
        for await (const c of body) chunks.push(c as Buffer)
        expect(Buffer.concat(chunks).equals(data)).toBe(true)
      }
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }

    // Then no listener warning was emitted
    expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('Given objects with names a URL must escape, when listed flat and by directory without the SDK, then keys, sizes, MD5s and generations are what the SDK lists', async () => {
    const base = t.writerPrefix + 'names/'
    const names = ['plain.txt', 'sp ace/ü.txt', 'a&b?c#d.txt', '100%/z+1.txt', 'd/e/y.txt']
    for (const [i, name] of names.entries()) await t.writer.write(base + name, randomBytes(10 + i), {contentType: 'text/plain'})
    const sdkBucket = new (gcsSdk().Storage)({apiEndpoint: process.env.MANTLE_TEST_GCS_ENDPOINT, projectId: 'mantle-test'}).bucket(
      process.env.MANTLE_TEST_GCS_BUCKET!,
    )
    const pick = (o: ObjectInfo) => ({key: o.key, size: o.size, md5: o.md5, generation: o.generation, contentType: o.contentType})
    for (const delimiter of [undefined, '/']) {
      const ours: ObjectInfo[] = []
      const prefixes: string[] = []
      for await (const e of t.writer.list({prefix: base, ...(delimiter ? {delimiter} : {})})) {
        if (e.type === 'object') ours.push(e.object)
        else prefixes.push(e.prefix)
      }
      const [files, , response] = await sdkBucket.getFiles({prefix: base, delimiter, autoPaginate: false, maxResults: 1000})
      const theirs = files.map((f) => ({
        key: f.name,
        size: Number(f.metadata.size),
        md5: Buffer.from(f.metadata.md5Hash!, 'base64').toString('hex'),
        generation: String(f.metadata.generation),
        contentType: f.metadata.contentType,
      }))
      const byKey = (a: {key: string}, b: {key: string}) => (a.key < b.key ? -1 : 1)
      expect(ours.map(pick).sort(byKey)).toEqual(theirs.sort(byKey))
      expect(prefixes.sort()).toEqual([...((response as {prefixes?: string[]}).prefixes ?? [])].sort())
      expect(ours.length).toBe(delimiter ? 2 : names.length)
    }
    expect(await t.writer.stat(base + 'a&b?c#d.txt')).toMatchObject({key: base + 'a&b?c#d.txt', size: 12})
    expect(await t.writer.stat(base + 'absent')).toBeUndefined()
  })
})
