import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BugError} from '../errors.js'
import {HashThreads, ParallelHasher} from './parallel-hash.js'

const digest = (algorithm: string, ...parts: Uint8Array[]): string => {
  const h = createHash(algorithm)
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

describe('hashing threads', () => {
  it('computes each job on threads started before the jobs were known, across the ring wrap', async () => {
    // Given two threads spawned first, and data longer than the 64 MiB ring, written in odd-sized chunks
    const threads = HashThreads.spawn(2)
    const data = randomBytes(70 * 1024 * 1024 + 13)
    const prefix = Buffer.from('salt')
    const suffix = Buffer.from('trailer')
    // When they are given their jobs a while later (a signature fetched meanwhile), and fed
    await new Promise((resolve) => setTimeout(resolve, 300))
    const hasher = await threads.start([{algorithm: 'sha512', prefix, suffix}, {algorithm: 'sha256'}])
    for (let at = 0; at < data.length; at += 3 * 1024 * 1024 + 7) hasher.write(data.subarray(at, at + 3 * 1024 * 1024 + 7))
    const [a, b] = await hasher.finish()
    // Then each digest is that of its job over all the data
    expect(a!.ok && a!.digest.toString('hex')).toBe(digest('sha512', prefix, data, suffix))
    expect(b!.ok && b!.digest.toString('hex')).toBe(digest('sha256', data))
  })

  it('hashes bytes placed straight into the ring (as a socket read), across its wrap', async () => {
    // Given a hasher, and data longer than the ring, placed chunk by chunk where reserve() says, as getRange's reads are
    const hasher = await ParallelHasher.start([{algorithm: 'sha512'}])
    const data = randomBytes(70 * 1024 * 1024 + 5)
    let at = 0
    while (at < data.length) {
      const region = hasher.reserve(1024 * 1024 + 3)!
      const n = Math.min(region.length, data.length - at, 777_777)
      region.set(data.subarray(at, at + n))
      // When each is passed to write where it lies
      hasher.write(region.subarray(0, n))
      at += n
    }
    // Then every byte was counted once and the digest is that of the data
    expect(hasher.bytes).toBe(data.length)
    const [outcome] = await hasher.finish()
    expect(outcome!.ok && outcome!.digest.toString('hex')).toBe(digest('sha512', data))
  })

  it('hashes a suffix given only at the end, after data across the ring wrap, beside a job with its own', async () => {
    // Given a job started before its suffix is known (a signature judged while the data flows), with its salt, and a plain one
    const threads = HashThreads.spawn(2)
    const data = randomBytes(66 * 1024 * 1024 + 17)
    const prefix = Buffer.from('salt')
    const suffix = Buffer.from('hashed part and trailer, known late')
    const hasher = await threads.start([
      {algorithm: 'sha512', prefix, suffixLater: true},
      {algorithm: 'sha256', suffix: Buffer.from('its own')},
    ])
    for (let at = 0; at < data.length; at += 5 * 1024 * 1024 + 1) hasher.write(data.subarray(at, at + 5 * 1024 * 1024 + 1))
    // When it is finished with the suffix
    const [late, plain] = await hasher.finish([suffix])
    // Then the suffix was hashed after the data; the other job kept its own
    expect(late!.ok && late!.digest.toString('hex')).toBe(digest('sha512', prefix, data, suffix))
    expect(plain!.ok && plain!.digest.toString('hex')).toBe(digest('sha256', data, Buffer.from('its own')))
  })

  it('hashes a late suffix of a job with no data at all', async () => {
    // Given a job whose suffix comes late, finished at once (an empty file)
    const hasher = await ParallelHasher.start([{algorithm: 'sha256', suffixLater: true}])
    // Then the digest is that of the suffix alone
    const [outcome] = await hasher.finish([Buffer.from('trailer')])
    expect(outcome!.ok && outcome!.digest.toString('hex')).toBe(digest('sha256', Buffer.from('trailer')))
  })

  it('fails the writer within 10 s, not after a 60 s stall, when a thread cannot start its job', async () => {
    // Given a thread given a job it cannot set up (no such digest), not waited for to come online
    const hasher = await HashThreads.spawn(1).start([{algorithm: 'no-such-digest'}])
    // When more than a ring of data is written, the event loop turning between chunks as a download's does
    const chunk = Buffer.alloc(1024 * 1024)
    const write = async (): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        hasher.write(chunk)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    // Then a write fails, naming the thread's failure (or that it did not start, when the ring filled before its error
    // reached this thread), not the 60 s stall of a thread that stopped taking data; and so does finish
    await expect(write()).rejects.toThrow(/a hashing thread (failed: Digest method not supported|did not start in 10 s)/)
    await expect(hasher.finish()).rejects.toThrow()
  }, 30_000)

  it('refuses to finish a job whose suffix never came', async () => {
    const hasher = await ParallelHasher.start([{algorithm: 'sha256', suffixLater: true}])
    hasher.write(Buffer.from('data'))
    await expect(hasher.finish()).rejects.toBeInstanceOf(BugError)
  })

  it('serves one hasher only, with as many jobs as threads', async () => {
    const threads = HashThreads.spawn(1)
    await expect(threads.start([{algorithm: 'sha256'}, {algorithm: 'sha512'}])).rejects.toBeInstanceOf(BugError)
    threads.stop()
    expect(threads.unused).toBe(false)
  })

  it('counts bytes without a thread when there is no job', async () => {
    const hasher = await ParallelHasher.start([])
    hasher.write(Buffer.alloc(1000))
    hasher.write(Buffer.alloc(24))
    expect(hasher.bytes).toBe(1024)
    expect(await hasher.finish()).toEqual([])
  })

  it('does not keep a process alive with threads that were never given jobs', async () => {
    // Given a script that spawns threads from the built module and forgets them (a download whose signature was refused)
    const dir = await mkdtemp(join(tmpdir(), 'mantle-threads-'))
    const script = join(dir, 'forget.mjs')
    const built = new URL('../../dist/verify/parallel-hash.js', import.meta.url).href
    await writeFile(script, `const m = await import(${JSON.stringify(built)})\nm.HashThreads.spawn(2)\nconsole.log('spawned')\n`)
    try {
      // When it runs
      const child = spawnSync(process.execPath, [script], {encoding: 'utf8', timeout: 60_000})
      // Then it exits by itself (a referenced thread waiting for its job would hold it until the timeout kills it)
      expect(child.stdout).toContain('spawned')
      expect(child.signal).toBeNull()
      expect(child.status).toBe(0)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
