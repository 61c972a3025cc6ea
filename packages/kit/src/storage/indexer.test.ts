import {readFile, writeFile, mkdir} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {text} from 'node:stream/consumers'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {updateIndexes, type IndexOptions} from './indexer.js'
import {naturalCompare} from './listing.js'
import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'
import {countingBucket} from './testing/counting.js'
import type {Bucket} from './types.js'

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'index')
const TREE = ['a.txt', 'dir/1.txt', 'dir/9/x.bin', 'dir/10/y.bin', 'dir/sub/deep/z.txt', 'dir/name with space&amp.txt']

describe('naturalCompare', () => {
  it('Given numbered names, when sorted, then 9 comes before 10 and text compares as text', () => {
    expect(['10/', '9/', 'v2.10', 'v2.9', 'b', 'a', '010', '10'].sort(naturalCompare)).toEqual([
      '9/',
      '10',
      '010',
      '10/',
      'a',
      'b',
      'v2.9',
      'v2.10',
    ])
  })
})

/** Every object under the prefix with its metadata and body, the run's prefix replaced by {{prefix}}. */
async function dump(bucket: Bucket, prefix: string): Promise<string> {
  const out: string[] = []
  for await (const e of bucket.list({prefix})) {
    if (e.type !== 'object') continue
    const info = (await bucket.stat(e.object.key))!
    const body = await text((await bucket.read(e.object.key)).body)
    const meta = bucket.metadata ? ` (${info.contentType ?? '-'}; ${info.cacheControl ?? '-'})` : ''
    out.push(`== ${e.object.key.slice(prefix.length)}${meta}\n${body.split(prefix).join('{{prefix}}')}`)
  }
  return out.join('\n')
}

async function golden(name: string, actual: string): Promise<string> {
  const file = join(GOLDEN_DIR, `${name}.golden`)
  if (process.env.UPDATE_GOLDEN) {
    await mkdir(GOLDEN_DIR, {recursive: true})
    await writeFile(file, actual)
  }
  return readFile(file, 'utf8')
}

const goldenName = (fixture: string): string => fixture.split(' ')[0]!

for (const fixture of BACKENDS.filter((f) => !f.readOnly)) {
  describe.skipIf(!backendAvailable(fixture))(`index pages: ${fixture.name}`, () => {
    let t: BackendUnderTest
    let root: string
    const base = (over: Partial<IndexOptions> = {}): IndexOptions => ({
      bucket: t.writer,
      prefix: root,
      title: 'mirror',
      directoryHtml: true,
      indexHtml: true,
      delete: false,
      recursive: true,
      dryRun: false,
      force: false,
      ...over,
    })

    beforeAll(async () => {
      t = await fixture.open(process.env)
      root = t.writerPrefix + 'site/'
      for (const k of TREE) await t.writer.write(root + k, `content of ${k}\n`, {contentType: 'text/plain'})
    })
    afterAll(async () => {
      await t?.cleanup()
    })

    it('Given a tree of nested directories, when indexed with -D and index.html, then exactly the golden objects and bodies exist', async () => {
      const result = await updateIndexes(base())
      expect(result.deleted).toEqual([])
      const actual = await dump(t.writer, root)
      expect(actual).toBe(await golden(goldenName(fixture.name), actual))
      // Natural order on the page of dir/: 1.txt is a file; 9/ before 10/ before sub/.
      const page = await text((await t.writer.read(root + 'dir/index.html')).body)
      expect(page.indexOf('href="9/"')).toBeLessThan(page.indexOf('href="10/"'))
      expect(page.indexOf('href="10/"')).toBeLessThan(page.indexOf('href="sub/"'))
    })

    it('Given an unchanged tree, when indexed again, then no write or delete request is made', async () => {
      const {bucket, calls} = countingBucket(t.writer)
      const result = await updateIndexes(base({bucket, delete: true}))
      expect(calls.changes).toEqual([])
      expect(result.written).toEqual([])
      expect(result.unchanged).toBeGreaterThan(0)
    })

    it('Given a dry run over a changed tree, when indexed, then it reports the pages and writes nothing', async () => {
      await t.writer.write(root + 'dir/new.txt', 'new\n')
      const {bucket, calls} = countingBucket(t.writer)
      const result = await updateIndexes(base({bucket, dryRun: true}))
      expect(calls.changes).toEqual([])
      expect(result.written).toContain(root + 'dir/index.html')
      await t.writer.delete(root + 'dir/new.txt')
    })

    it('Given a directory that became empty, when indexed with --delete, then its pages are removed, and only pages the listing showed', async () => {
      await t.writer.delete(root + 'dir/sub/deep/z.txt')
      // Non-recursive from the root: nested pages are not listed, so not touched.
      const shallow = countingBucket(t.writer)
      await updateIndexes(base({bucket: shallow.bucket, recursive: false, delete: true}))
      expect(shallow.calls.changes.filter((c) => c.startsWith('delete'))).toEqual([])

      const {bucket, calls} = countingBucket(t.writer)
      const result = await updateIndexes(base({bucket, delete: true}))
      const stale = t.writer.directoryObjects
        ? ['dir/sub', 'dir/sub/', 'dir/sub/deep', 'dir/sub/deep/', 'dir/sub/deep/index.html', 'dir/sub/index.html']
        : ['dir/sub/deep/index.html', 'dir/sub/index.html']
      expect(result.deleted).toEqual(stale.map((k) => root + k))
      expect(calls.changes.filter((c) => c.startsWith('delete')).sort()).toEqual(stale.map((k) => `delete ${root}${k}`).sort())
      // dir/ no longer lists sub/: its pages were rewritten.
      expect(calls.changes).toContain(`write ${root}dir/index.html`)
      expect(await t.writer.stat(root + 'dir/sub/index.html')).toBeUndefined()
    })

    it('Given index.html off and --delete, when indexed, then existing index.html pages go and nothing unlisted is deleted', async () => {
      const {bucket, calls} = countingBucket(t.writer)
      const result = await updateIndexes(base({bucket, indexHtml: false, directoryHtml: false, delete: true, recursive: true}))
      const deletes = calls.changes.filter((c) => c.startsWith('delete')).map((c) => c.slice(`delete ${root}`.length))
      expect(deletes.every((k) => k === 'index.html' || k.endsWith('/index.html') || !k.endsWith('.txt'))).toBe(true)
      expect(result.written).toEqual([])
      expect(await t.writer.stat(root + 'dir/index.html')).toBeUndefined()
      expect(await t.writer.stat(root + 'a.txt')).toBeDefined()
    })
  })
}
