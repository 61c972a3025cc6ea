import {randomBytes} from 'node:crypto'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openBucket, type StorageOptions} from './open.js'
import {syncTree} from './sync.js'
import {BACKENDS, backendAvailable, storageOptionsFromEnv} from './testing/backends.js'
import {plainSync} from './testing/sync-options.js'
import {startRequestCounter, type RequestCounter, type SeenRequest} from './testing/request-counter.js'
import type {Bucket} from './types.js'

/**
 * What a sync of many small objects costs in HTTP requests, counted by a
 * proxy in front of each emulator (#25). Per object, a first sync makes ONE
 * request: the write itself, which carries everything the guarantees need:
 * - the precondition (S3 PutObject If-None-Match: *, Azure Put Blob
 *   If-None-Match: *, GCS ifGenerationMatch=0): no HEAD before it;
 * - the checksum the service verifies (Content-MD5 on S3 and Azure, the
 *   MD5/CRC32C of a GCS multipart upload), so a corrupt body is refused and
 *   never becomes an object;
 * - no ListMultipartUploads: that belongs to multipart uploads only.
 * Beyond that, a fixed few requests per run (the listings of the destination),
 * not per object. A re-sync makes no write at all, and no request per object:
 * the listing's ETag/MD5 answers the comparison.
 * The other way, bucket to directory, a first sync makes ONE GET per object
 * (no HEAD before it: the listing gave the size, MD5 and, on GCS, the
 * generation the GET pins), checked against the listing's MD5 before the file
 * is renamed into place; a re-sync reads no object.
 * On Azure and GCS, listing, stat and GET are the storage layer's own requests
 * (azure-rest.ts; the JSON API's objects.list and objects.get in gcs.ts), not
 * the SDK's: what the SDK costs to load and run is a re-sync's whole budget.
 */
const env = process.env
const N = 40
const fixture = (name: string) => BACKENDS.find((b) => b.name.startsWith(name))!
const hostPort = (url: string) => {
  const u = new URL(url)
  return {host: u.hostname, port: Number(u.port)}
}
const run = `so${Date.now().toString(36)}${randomBytes(2).toString('hex')}/`

interface Target {
  name: string
  available: boolean
  upstream(): {host: string; port: number}
  open(origin: string): Promise<Bucket>
  /** Listings, HEADs and GETs are made by the storage layer itself (user agent mantle-ts), not by the SDK. */
  ownReads?: boolean
}

const TARGETS: Target[] = [
  {
    name: 's3 (radosgw)',
    available: backendAvailable(fixture('s3')),
    upstream: () => hostPort(env.MANTLE_TEST_S3_ENDPOINT!),
    open: (origin) => {
      const base = storageOptionsFromEnv(env)
      return openBucket(`s3://${env.MANTLE_TEST_S3_BUCKET}/`, {...base, s3: {...base.s3, endpoint: origin}})
    },
  },
  {
    name: 'azure (azurite)',
    available: backendAvailable(fixture('azure')),
    upstream: () => hostPort(env.MANTLE_TEST_AZURE_ENDPOINT!),
    open: (origin) => {
      const cs = env.MANTLE_TEST_AZURE_CONNECTION_STRING!.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=${origin}/${env.MANTLE_TEST_AZURE_ACCOUNT}`,
      )
      return openBucket(`az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/`, {
        azure: {connectionString: cs},
      } satisfies StorageOptions)
    },
    ownReads: true,
  },
  {
    name: 'gcs (firebase emulator)',
    available: backendAvailable(fixture('gcs')),
    upstream: () => hostPort(env.MANTLE_TEST_GCS_ENDPOINT!),
    open: (origin) =>
      openBucket(`gs://${env.MANTLE_TEST_GCS_BUCKET}/`, {gcs: {apiEndpoint: origin, clientOptions: {projectId: 'mantle-test'}}}),
    ownReads: true,
  },
]

const isWrite = (r: SeenRequest) => r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE' || r.method === 'PATCH'
const describeRequests = (rs: SeenRequest[]) => rs.map((r) => `${r.method} ${r.path}${r.query.length ? `?${r.query.join('&')}` : ''}`)

/** One listing page of the destination and one look at the object named like the prefix: per run, not per object. */
function expectPerRunOnly(rs: SeenRequest[]): void {
  const seen = describeRequests(rs)
  expect(seen).toHaveLength(2)
  expect(seen.filter((r) => r.startsWith('GET ') && /list-type|comp|\/o\?/.test(r))).toHaveLength(1)
  expect(seen.filter((r) => r.includes(run.slice(0, -1)) && !r.includes(run))).toHaveLength(1)
}

describe('small objects: requests per object of a sync', () => {
  let srcDir: string
  beforeAll(async () => {
    srcDir = await mkdtemp(join(tmpdir(), 'mantle-small-'))
    for (let i = 0; i < N; i++) {
      await mkdir(join(srcDir, `d${i % 4}`), {recursive: true})
      await writeFile(join(srcDir, `d${i % 4}`, `f${i}.txt`), randomBytes(100 + ((i * 997) % 20_000)))
    }
  })
  afterAll(async () => {
    await rm(srcDir, {recursive: true, force: true})
  })

  for (const t of TARGETS) {
    describe.skipIf(!t.available)(t.name, () => {
      let counter: RequestCounter
      let bucket: Bucket
      beforeAll(async () => {
        counter = await startRequestCounter(t.upstream())
        bucket = await t.open(counter.origin)
      })
      afterAll(async () => {
        for await (const e of bucket.list({prefix: run})) if (e.type === 'object') await bucket.delete(e.object.key).catch(() => undefined)
        await counter.close()
      })

      it(`Given ${N} small files, when synced first, then each object costs one write request and nothing else; when re-synced, then no write and no request per object`, async () => {
        const source = await openBucket(srcDir)
        const options = plainSync(source, srcDir.slice(1) + '/', bucket, run)

        counter.reset()
        const first = await syncTree(options)
        expect(first.copied).toHaveLength(N)
        const writes = counter.requests.filter(isWrite)
        // One write per object: no HEAD before it, no ListMultipartUploads, no second request to finish it.
        expect(describeRequests(writes)).toHaveLength(N)
        expect(describeRequests(counter.requests.filter((r) => r.query.includes('uploads')))).toEqual([])
        // The rest, per run: listing the destination and one HEAD of the object named like the
        // prefix (an index redirect), never a request per object.
        expectPerRunOnly(counter.requests.filter((r) => !isWrite(r)))

        counter.reset()
        const again = await syncTree(options)
        expect(again.copied).toEqual([])
        expect(again.unchanged).toBe(N)
        expect(describeRequests(counter.requests.filter(isWrite))).toEqual([])
        expectPerRunOnly(counter.requests)
        if (t.ownReads) expect(counter.requests.map((r) => r.userAgent)).toEqual(counter.requests.map(() => 'mantle-ts'))
      })

      it(`Given ${N} small objects, when synced to an empty directory, then each costs one GET and nothing else, checked and renamed into place; when re-synced, then no object is read`, async () => {
        const dir = await mkdtemp(join(tmpdir(), 'mantle-small-down-'))
        try {
          const options = plainSync(bucket, run, await openBucket(dir), dir.slice(1) + '/')
          counter.reset()
          const first = await syncTree(options)
          expect(first.copied).toHaveLength(N)
          const perObject = counter.requests.filter((r) => r.path.includes(run))
          expect(perObject.map((r) => r.method)).toEqual(perObject.map(() => 'GET'))
          expect(perObject).toHaveLength(N)
          expect(new Set(perObject.map((r) => r.path)).size).toBe(N)
          expectPerRunOnly(counter.requests.filter((r) => !r.path.includes(run)))
          if (t.ownReads) expect(counter.requests.map((r) => r.userAgent)).toEqual(counter.requests.map(() => 'mantle-ts'))
          for (let i = 0; i < N; i += 7) {
            const name = `d${i % 4}/f${i}.txt`
            expect((await readFile(join(dir, name))).equals(await readFile(join(srcDir, name)))).toBe(true)
          }
          expect((await readdir(dir, {recursive: true})).filter((f) => f.includes('.mantle-partial-'))).toEqual([])

          counter.reset()
          const again = await syncTree(options)
          expect(again.copied).toEqual([])
          expect(again.unchanged).toBe(N)
          expectPerRunOnly(counter.requests)
        } finally {
          await rm(dir, {recursive: true, force: true})
        }
      })
    })
  }
})
