import {PassThrough, Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {chunksOf} from './body.js'

async function collect(body: Readable, queued?: number): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const chunk of chunksOf(body, queued)) out.push(chunk)
  return out
}

describe('chunksOf', () => {
  it('yields the chunks as they were buffered, never joined into one', async () => {
    // Given a stream that has buffered three chunks before anyone reads
    const body = new PassThrough()
    for (const s of ['abc', 'de', 'f']) body.write(Buffer.from(s))
    body.end()
    // When it is consumed
    const chunks = await collect(body)
    // Then each chunk comes out on its own (for await over the stream itself gives one joined Buffer)
    expect(chunks.map((c) => c.toString())).toEqual(['abc', 'de', 'f'])
  })

  it('pauses the source while the consumer is behind, and resumes it', async () => {
    const body = new PassThrough({highWaterMark: 4})
    const pausedSeen: boolean[] = []
    const producing = (async () => {
      for (let i = 0; i < 20; i++) {
        if (!body.write(Buffer.alloc(10, i))) await new Promise((r) => body.once('drain', r))
      }
      body.end()
    })()
    const out: Buffer[] = []
    for await (const chunk of chunksOf(body, 30)) {
      pausedSeen.push(body.isPaused())
      out.push(chunk)
      await new Promise((r) => setImmediate(r))
    }
    await producing
    expect(Buffer.concat(out)).toEqual(Buffer.concat(Array.from({length: 20}, (_, i) => Buffer.alloc(10, i))))
    expect(pausedSeen).toContain(true)
  })

  it('reads a source that its owner had paused', async () => {
    const body = new PassThrough()
    body.pause()
    body.end('paused before reading')
    expect((await collect(body)).join('')).toBe('paused before reading')
  })

  it('fails with the stream error', async () => {
    const body = new PassThrough()
    body.write('partial')
    setImmediate(() => body.destroy(new Error('connection reset')))
    await expect(collect(body)).rejects.toThrow('connection reset')
  })

  it('fails when the stream closes without an end', async () => {
    const body = new PassThrough()
    body.write('partial')
    setImmediate(() => body.destroy())
    await expect(collect(body)).rejects.toThrow(/closed before its end/)
  })

  it('destroys the source when the consumer stops early', async () => {
    const body = Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
    for await (const chunk of chunksOf(body)) {
      expect(chunk.toString()).toBe('a')
      break
    }
    expect(body.destroyed).toBe(true)
  })
})
