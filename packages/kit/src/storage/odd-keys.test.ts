import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Logger} from '../log.js'
import {Redactor} from '../redact.js'
import {unindexableKey, updateIndexes} from './indexer.js'
import {openBucket} from './open.js'
import {syncTree} from './sync.js'
import {BACKENDS, backendAvailable, type BackendUnderTest} from './testing/backends.js'
import {countingBucket} from './testing/counting.js'

// Keys careless scripts write (issue 18): an empty segment, whose directory's redirect object "a/" is also
// the listing page of "a/", and "." and ".." segments, which a browser resolves away before it asks.
/** A real logger writing into an array. */
function captureLogger(): {logger: Logger; lines: string[]} {
  const lines: string[] = []
  return {logger: new Logger({level: 'notice', redactor: new Redactor(), stream: {write: (s: string) => lines.push(s)} as never}), lines}
}

const ODD = ['a//b/x.txt', './c.txt', '../d.txt', 'e/./f.txt', 'g/../h.txt', '/lead.txt']
const PLAIN = ['a/plain.txt', 'ok/y.txt']

describe('unindexableKey', () => {
  it('is true for empty, "." and ".." segments, and false for a directory object ("p/") and dotted names', () => {
    expect(ODD.map(unindexableKey)).toEqual(ODD.map(() => true))
    expect(['a/b/', 'a/.hidden', 'a/..x', 'v1.2/x', 'a/b'].map(unindexableKey)).toEqual([false, false, false, false, false])
  })
})

const s3 = BACKENDS.find((f) => f.name.startsWith('s3'))!
const gcs = BACKENDS.find((f) => f.name.startsWith('gcs'))!

// Azure's SDK resolves "." and ".." in blob names itself (it writes "p/../d" as "d"), so it is not a fixture here.
for (const fixture of [s3, gcs]) {
  describe.skipIf(!backendAvailable(fixture))(`index pages over odd keys: ${fixture.name}`, () => {
    let t: BackendUnderTest
    let root: string
    beforeAll(async () => {
      t = await fixture.open(process.env)
      root = t.writerPrefix + 'odd/'
      for (const k of [...ODD, ...PLAIN]) await t.writer.write(root + k, `content of ${k}\n`)
    })
    afterAll(async () => {
      await t?.cleanup()
    })

    it('Given keys with empty and dot segments, when indexed with -D twice, then the first run succeeds with one warning naming them and the second writes nothing', async () => {
      // When the tree is indexed
      const {logger, lines} = captureLogger()
      const first = countingBucket(t.writer)
      const result = await updateIndexes({
        bucket: first.bucket,
        prefix: root,
        directoryHtml: true,
        indexHtml: true,
        delete: true,
        recursive: true,
        dryRun: false,
        force: false,
        logger,
      })

      // Then it succeeds, with pages only for the plain directories, and one warning that names every odd key
      expect(result.written).toEqual(
        [root.slice(0, -1), ...['', 'a', 'a/', 'a/index.html', 'index.html', 'ok', 'ok/', 'ok/index.html'].map((k) => root + k)].sort(),
      )
      const warnings = lines.filter((l) => l.includes('warn'))
      expect(warnings).toHaveLength(1)
      for (const k of ODD) expect(warnings[0]).toContain(JSON.stringify(root + k))
      const page = await readAll(t, root + 'index.html')
      expect(page).toContain('href="a/"')
      expect(page).not.toMatch(/href="\.\.?\/"|href="\/"/)

      // And a second run makes no write or delete request
      const again = countingBucket(t.writer)
      const second = await updateIndexes({
        bucket: again.bucket,
        prefix: root,
        directoryHtml: true,
        indexHtml: true,
        delete: true,
        recursive: true,
        dryRun: false,
        force: false,
      })
      expect(again.calls.changes).toEqual([])
      expect(second.written).toEqual([])
    })
  })
}

const azure = BACKENDS.find((f) => f.name.startsWith('azure'))!

describe.skipIf(!backendAvailable(azure))('Azure blob names with "." or ".." segments', () => {
  let t: BackendUnderTest
  beforeAll(async () => {
    t = await azure.open(process.env)
  })
  afterAll(async () => {
    await t?.cleanup()
  })

  it('Given a key with a ".." segment, when written, then invalid-url and no blob is written where the SDK would have put it', async () => {
    // The SDK resolves "p/x/../d.txt" to the blob "p/d.txt"
    const error = await t.writer.write(t.writerPrefix + 'x/../d.txt', 'd\n').catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'invalid-url', exitCode: 2})
    expect(await t.writer.stat(t.writerPrefix + 'd.txt')).toBeUndefined()
    await expect(t.writer.read(t.writerPrefix + './c.txt')).rejects.toMatchObject({code: 'invalid-url'})
  })
})

describe.skipIf(!backendAvailable(s3))('sync of odd keys from radosgw into a local directory, with index pages', () => {
  let t: BackendUnderTest
  let dir: string
  beforeAll(async () => {
    t = await s3.open(process.env)
    for (const k of [...ODD, ...PLAIN]) await t.writer.write(t.writerPrefix + 'tree/' + k, `content of ${k}\n`)
    dir = await mkdtemp(join(tmpdir(), 'mantle-odd-'))
  })
  afterAll(async () => {
    await t?.cleanup()
    await rm(dir, {recursive: true, force: true})
  })

  it('Given odd keys, when synced to a directory twice, then the first run copies the others with one warning and the second writes nothing', async () => {
    const local = await openBucket(dir)
    const sync = (destination: typeof local, logger?: Logger) =>
      syncTree({
        source: t.writer,
        sourcePrefix: t.writerPrefix + 'tree/',
        destination,
        destinationPrefix: dir.slice(1) + '/',
        delete: true,
        recursive: true,
        dryRun: false,
        force: false,
        indexDirs: true,
        indexHtml: true,
        title: 'release',
        logger,
      })

    // When synced
    const {logger, lines} = captureLogger()
    const first = await sync(local, logger)

    // Then the plain keys are files with index pages, the odd ones named in one warning
    expect(first.copied.map((k) => k.slice(dir.length))).toEqual(['a/plain.txt', 'ok/y.txt'])
    expect(lines.filter((l) => l.includes('warn'))).toHaveLength(1)
    expect(lines.find((l) => l.includes('warn'))).toContain('"' + t.writerPrefix + 'tree/../d.txt"')
    expect(await readFile(join(dir, 'a', 'index.html'), 'utf8')).toContain('<title>release/a/</title>')

    // And a second run makes no write or delete request
    const again = countingBucket(local)
    const second = await sync(again.bucket)
    expect(again.calls.changes).toEqual([])
    expect(second.copied).toEqual([])
    expect(second.index.written).toEqual([])
  })
})

async function readAll(t: BackendUnderTest, key: string): Promise<string> {
  const {body} = await t.writer.read(key)
  let out = ''
  for await (const chunk of body) out += (chunk as Buffer).toString()
  return out
}
