import {randomBytes} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'

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
})
