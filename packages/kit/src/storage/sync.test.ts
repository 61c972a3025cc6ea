import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {text} from 'node:stream/consumers'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fetchListing} from './listing.js'
import {openBucket} from './open.js'
import {syncTree, type SyncOptions} from './sync.js'
import {plainSync} from './testing/sync-options.js'
import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'
import {countingBucket} from './testing/counting.js'
import type {Bucket} from './types.js'

const SOURCE: Record<string, string> = {
  'a.txt': 'alpha\n',
  'b/one.bin': 'one one one\n',
  'b/two.bin': 'two two two\n',
  'b/c/deep.txt': 'deep\n',
}

async function keys(bucket: Bucket, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const e of bucket.list({prefix})) if (e.type === 'object') out.push(e.object.key.slice(prefix.length))
  return out.sort()
}

for (const fixture of BACKENDS.filter((f) => !f.readOnly)) {
  describe.skipIf(!backendAvailable(fixture))(`sync into ${fixture.name}`, () => {
    let t: BackendUnderTest
    let srcDir: string
    let source: Bucket
    let dst: string
    const run = (destination: Bucket, over: Partial<SyncOptions> = {}) =>
      syncTree({...plainSync(source, srcDir.slice(1) + '/', destination, dst), ...over})

    beforeAll(async () => {
      t = await fixture.open(process.env)
      srcDir = await mkdtemp(join(tmpdir(), 'mantle-sync-src-'))
      for (const [k, v] of Object.entries(SOURCE)) {
        await mkdir(dirname(join(srcDir, k)), {recursive: true})
        await writeFile(join(srcDir, k), v)
      }
      source = await openBucket(srcDir)
      dst = t.writerPrefix + 'mirror/'
    })
    afterAll(async () => {
      await t?.cleanup()
      await rm(srcDir, {recursive: true, force: true})
    })

    it('Given a dry run into an empty prefix, when synced, then it lists every copy and writes nothing', async () => {
      const {bucket, calls} = countingBucket(t.writer)
      const result = await run(bucket, {dryRun: true, indexHtml: true})
      expect(calls.changes).toEqual([])
      expect(result.copied).toEqual(
        Object.keys(SOURCE)
          .map((k) => dst + k)
          .sort(),
      )
      expect(result.index.written).toContain(dst + 'b/index.html')
      expect(await keys(t.writer, dst)).toEqual([])
    })

    it('Given a source tree, when synced, then every object arrives with its bytes', async () => {
      const result = await run(t.writer)
      expect(result.copied).toHaveLength(4)
      expect(await keys(t.writer, dst)).toEqual(Object.keys(SOURCE).sort())
      for (const [k, v] of Object.entries(SOURCE)) expect(await text((await t.writer.read(dst + k)).body)).toBe(v)
    })

    it('Given an unchanged source, when synced again, then nothing is written', async () => {
      const {bucket, calls} = countingBucket(t.writer)
      const result = await run(bucket)
      expect(calls.changes).toEqual([])
      expect(result.unchanged).toBe(4)
    })

    it('Given one object changed to other bytes of the same size, when synced, then only it is copied', async () => {
      await writeFile(join(srcDir, 'b/two.bin'), 'TWO TWO TWO\n')
      const {bucket, calls} = countingBucket(t.writer)
      const result = await run(bucket)
      expect(result.copied).toEqual([dst + 'b/two.bin'])
      // Local to local is a copy; into a cloud store, a write.
      expect(calls.changes).toHaveLength(1)
      expect(calls.changes[0]).toMatch(new RegExp(`^(write|copy .*) ${dst}b/two.bin$`))
      expect(await text((await t.writer.read(dst + 'b/two.bin')).body)).toBe('TWO TWO TWO\n')
    })

    it('Given an extra object at the destination, when synced without and then with --delete, then it stays, then goes', async () => {
      await t.writer.write(dst + 'b/extra.txt', 'extra\n')
      await run(t.writer)
      expect(await keys(t.writer, dst)).toContain('b/extra.txt')
      const result = await run(t.writer, {delete: true})
      expect(result.deleted).toEqual([dst + 'b/extra.txt'])
      expect(await keys(t.writer, dst)).toEqual(Object.keys(SOURCE).sort())
    })

    it('Given index pages asked for, when synced, then the destination gets them and the source pages are not copied', async () => {
      await writeFile(join(srcDir, 'b/index.html'), '<p>source page</p>')
      const result = await run(t.writer, {indexHtml: true})
      expect(result.copied).toEqual([])
      expect(result.index.written).toEqual([dst + 'b/c/index.html', dst + 'b/index.html', dst + 'index.html'])
      expect(await text((await t.writer.read(dst + 'b/index.html')).body)).toContain('[file] <a href="one.bin">one.bin</a>')
    })

    it('Given a prefix in the same bucket, when synced, then objects are copied server side', async () => {
      const {bucket, calls} = countingBucket(t.writer)
      const result = await syncTree({
        source: bucket,
        sourcePrefix: dst,
        destination: bucket,
        destinationPrefix: t.writerPrefix + 'copy/',
        delete: false,
        recursive: false,
        dryRun: false,
        force: false,
        indexDirs: false,
        indexHtml: false,
      })
      // The index.html the previous test wrote is an index page: not copied.
      expect(result.copied).toEqual([t.writerPrefix + 'copy/a.txt'])
      expect(calls.changes).toEqual([`copy ${dst}a.txt ${t.writerPrefix}copy/a.txt`])
    })
  })
}

describe('sync: a local side is hashed while the other side lists', () => {
  it('Given a destination whose listing answers late, when a local tree is synced to it, then its files were hashed before that answer and all arrive', async () => {
    const N = 20
    const srcDir = await mkdtemp(join(tmpdir(), 'mantle-sync-ahead-src-'))
    const dstDir = await mkdtemp(join(tmpdir(), 'mantle-sync-ahead-dst-'))
    try {
      for (let i = 0; i < N; i++) await writeFile(join(srcDir, `f${i}.txt`), `file ${i} `.repeat(i + 1))
      const local = await openBucket(srcDir)
      let hashed = 0
      const source = new Proxy(local, {
        get: (target, p) =>
          p === 'md5'
            ? (key: string) => {
                hashed++
                return target.md5!(key)
              }
            : (Reflect.get(target, p, target) as unknown),
      })
      const inner = await openBucket(dstDir)
      let hashedWhenListed = -1
      const destination = new Proxy(inner, {
        get: (target, p) =>
          p === 'list'
            ? async function* (options: Parameters<Bucket['list']>[0]) {
                // A bucket's listing takes a while: here until every source file was hashed, or 5 s.
                for (const began = Date.now(); hashed < N && Date.now() - began < 5000;) await new Promise((r) => setTimeout(r, 10))
                hashedWhenListed = hashed
                yield* target.list(options)
              }
            : (Reflect.get(target, p, target) as unknown),
      })
      const result = await syncTree({...plainSync(source, srcDir.slice(1) + '/', destination, dstDir.slice(1) + '/')})
      expect(hashedWhenListed).toBe(N)
      expect(result.copied).toHaveLength(N)
      expect(await text((await inner.read(`${dstDir.slice(1)}/f7.txt`)).body)).toBe('file 7 '.repeat(8))
    } finally {
      await rm(srcDir, {recursive: true, force: true})
      await rm(dstDir, {recursive: true, force: true})
    }
  })
})

describe('fetchListing: the object named like the prefix is asked for beside the listing', () => {
  it('Given a bucket whose listing answers only once that object was asked for, when listed, then it was asked for before the answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mantle-listing-'))
    try {
      await writeFile(join(dir, 'a.txt'), 'a')
      const inner = await openBucket(dir)
      let stats = 0
      let statsWhenListed = -1
      const bucket = new Proxy(inner, {
        get: (target, p) => {
          if (p === 'directoryObjects') return true
          if (p === 'stat')
            return (key: string) => {
              stats++
              return target.stat(key)
            }
          if (p === 'list')
            return async function* (options: Parameters<Bucket['list']>[0]) {
              for (const began = Date.now(); stats === 0 && Date.now() - began < 5000;) await new Promise((r) => setTimeout(r, 10))
              statsWhenListed = stats
              yield* target.list(options)
            }
          return Reflect.get(target, p, target) as unknown
        },
      })
      const listing = await fetchListing(bucket, dir.slice(1) + '/', true)
      expect(statsWhenListed).toBe(1)
      expect([...listing.objects.keys()]).toEqual([`${dir.slice(1)}/a.txt`])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
