import {PassThrough, Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {chunksOf, joinPart, type Part, partLength, partStream, splitBody} from './body.js'

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

describe('splitBody', () => {
  const source = (...chunks: string[]): Readable => Readable.from(chunks.map((c) => Buffer.from(c)))

  it("cuts a long stream into parts of exactly the part size, made of the stream's own buffers", async () => {
    const chunks = ['abcd', 'efg', 'hijklmn', 'o'].map((c) => Buffer.from(c))
    const split = await splitBody(Readable.from(chunks), 5)
    if (!('parts' in split)) throw new Error('expected parts')
    const parts: Part[] = []
    for await (const part of split.parts) parts.push(part)
    expect(parts.map((p) => Buffer.concat(p).toString())).toEqual(['abcde', 'fghij', 'klmno'])
    expect(parts.map(partLength)).toEqual([5, 5, 5])
    // Cut at the edges, never copied: the pieces are views of the stream's buffers.
    expect(parts[0]![0]!.buffer).toBe(chunks[0]!.buffer)
    expect(parts[1]![1]!.buffer).toBe(chunks[2]!.buffer)
  })

  it('gives a body that fits in one part as a single buffer, and an empty one as an empty buffer', async () => {
    expect(await splitBody(source('abc', 'de'), 5)).toEqual({single: Buffer.from('abcde')})
    expect(await splitBody(source(), 5)).toEqual({single: Buffer.alloc(0)})
  })

  it('streams a part as its bytes, anew for each attempt', async () => {
    const part = [Buffer.from('ab'), Buffer.from('cd')]
    expect(joinPart(part).toString()).toBe('abcd')
    for (let attempt = 0; attempt < 2; attempt++) expect(Buffer.concat(await collect(partStream(part))).toString()).toBe('abcd')
  })
})
