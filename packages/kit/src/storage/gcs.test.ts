import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import nock from 'nock'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isStorageError} from './errors.js'
import {openBucket} from './open.js'
import {readToFile} from './transfer.js'

/**
 * The firebase GCS emulator accepts ifGenerationMatch but never enforces it,
 * so the bucket suite cannot show that a stale generation is refused on GCS.
 * These tests replay the service's own answers (status and JSON body as
 * storage.googleapis.com sends them) and check that our backend sends the
 * precondition and turns the 412 into a precondition-failed error.
 */
const ENDPOINT = 'http://gcs.recorded.test'
const PRECONDITION_FAILED = {
  error: {
    code: 412,
    message: 'At least one of the pre-conditions you specified did not hold.',
    errors: [
      {
        message: 'At least one of the pre-conditions you specified did not hold.',
        domain: 'global',
        reason: 'conditionNotMet',
        locationType: 'header',
        location: 'If-Match',
      },
    ],
  },
}
const objectResource = (name: string, generation: string, body: string) => ({
  kind: 'storage#object',
  name,
  bucket: 'releases',
  generation,
  metageneration: '1',
  size: '2',
  md5Hash: createHash('md5').update(body).digest('base64'),
  contentType: 'text/plain',
})

describe('gcs preconditions (recorded responses)', () => {
  beforeEach(() => {
    nock.disableNetConnect()
  })
  afterEach(() => {
    nock.cleanAll()
    nock.enableNetConnect()
  })

  const open = () => openBucket('gs://releases/', {gcs: {apiEndpoint: ENDPOINT}, attempts: 1})

  it('Given an existing object, when written create-only, then ifGenerationMatch=0 is sent and the 412 is precondition-failed', async () => {
    const scope = nock(ENDPOINT)
      .post('/upload/storage/v1/b/releases/o')
      .query((q) => q.ifGenerationMatch === '0' && q.name === 'a/once.txt')
      .reply(412, PRECONDITION_FAILED)
    const bucket = await open()
    const error = await bucket.write('a/once.txt', 'v2', {precondition: {ifNotExists: true}}).catch((e: unknown) => e)
    expect(isStorageError(error, 'precondition-failed')).toBe(true)
    expect(scope.isDone()).toBe(true)
  })

  it('Given a stale generation, when deleting, then ifGenerationMatch is sent and the 412 is precondition-failed', async () => {
    const scope = nock(ENDPOINT)
      .delete('/storage/v1/b/releases/o/a%2Fgen.txt')
      .query({ifGenerationMatch: '1700000000000001'})
      .reply(412, PRECONDITION_FAILED)
    const bucket = await open()
    const error = await bucket.delete('a/gen.txt', {precondition: {ifGenerationMatch: '1700000000000001'}}).catch((e: unknown) => e)
    expect(isStorageError(error, 'precondition-failed')).toBe(true)
    expect((error as Error).message).toBe('gs://releases/a/gen.txt: changed by someone else (HTTP 412): conditionNotMet')
    expect(scope.isDone()).toBe(true)
  })

  it('Given the current generation, when overwriting, then the write goes through with ifGenerationMatch', async () => {
    const scope = nock(ENDPOINT)
      .post('/upload/storage/v1/b/releases/o')
      .query((q) => q.ifGenerationMatch === '1700000000000002')
      .reply(200, objectResource('a/gen.txt', '1700000000000003', 'v3'))
    const bucket = await open()
    const info = await bucket.write('a/gen.txt', 'v3', {precondition: {ifGenerationMatch: '1700000000000002'}})
    expect(info.generation).toBe('1700000000000003')
    expect(scope.isDone()).toBe(true)
  })

  it('Given the service stored other bytes than were sent, when writing, then corrupt, and the new object is deleted', async () => {
    const scope = nock(ENDPOINT)
      .post('/upload/storage/v1/b/releases/o')
      .query(true)
      .reply(200, objectResource('a/bad.txt', '1700000000000004', 'something else'))
      .delete('/storage/v1/b/releases/o/a%2Fbad.txt')
      .query(true)
      .reply(204)
    const bucket = await open()
    const error = await bucket.write('a/bad.txt', 'v1').catch((e: unknown) => e)
    expect(isStorageError(error, 'corrupt')).toBe(true)
    expect(scope.isDone()).toBe(true)
  })

  it('Given a missing bucket, when listing, then bucket-not-found (exit 2)', async () => {
    nock(ENDPOINT)
      .get('/storage/v1/b/nobucket/o')
      .query(true)
      .reply(404, {
        error: {
          code: 404,
          message: 'The specified bucket does not exist.',
          errors: [{message: 'The specified bucket does not exist.', domain: 'global', reason: 'notFound'}],
        },
      })
    const bucket = await openBucket('gs://nobucket/', {gcs: {apiEndpoint: ENDPOINT}, attempts: 1})
    const error = await (async () => {
      for await (const _ of bucket.list()) void _
    })().catch((e: unknown) => e)
    expect(isStorageError(error, 'bucket-not-found')).toBe(true)
    expect((error as {exitCode: number}).exitCode).toBe(2)
  })

  it('Given a create-only write whose first answer is lost, when retried and refused as existing, then the object there with our MD5 is ours: success', async () => {
    // A local server in the service's shapes (nock cannot drop a connection after taking the body).
    const body = 'v1 bytes'
    const resource = {...objectResource('a/lost.txt', '1700000000000020', body), size: String(body.length)}
    const seen: string[] = []
    let uploaded = ''
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`)
        if (req.method === 'POST' && seen.length === 1) {
          // Stored, and the answer lost.
          uploaded = `${String(req.headers['content-type'])}\n${Buffer.concat(chunks).toString()}`
          return void req.socket.destroy()
        }
        if (req.method === 'POST')
          return void res.writeHead(412, {'content-type': 'application/json'}).end(JSON.stringify(PRECONDITION_FAILED))
        res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(resource))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    nock.enableNetConnect('127.0.0.1')
    try {
      const bucket = await openBucket('gs://releases/', {
        gcs: {apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`},
        attempts: 2,
      })
      const info = await bucket.write('a/lost.txt', body, {precondition: {ifNotExists: true}, contentType: 'text/plain'})
      expect(info).toMatchObject({key: 'a/lost.txt', generation: '1700000000000020', md5: createHash('md5').update(body).digest('hex')})
      const upload = '/upload/storage/v1/b/releases/o?uploadType=multipart&name=a%2Flost.txt&ifGenerationMatch=0'
      expect(seen).toEqual([`POST ${upload}`, `POST ${upload}`, 'GET /storage/v1/b/releases/o/a%2Flost.txt'])
      // The SDK's multipart/related body: the JSON metadata (with the MD5 GCS checks), then the media.
      const [type, ...rest] = uploaded.split('\n')
      const boundary = /^multipart\/related; boundary=(.+)$/.exec(type!)![1]!
      expect(rest.join('\n')).toBe(
        `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({contentType: 'text/plain', md5Hash: createHash('md5').update(body).digest('base64')})}\r\n` +
          `--${boundary}\r\nContent-Type: text/plain\r\n\r\n${body}\r\n--${boundary}--`,
      )
    } finally {
      server.close()
    }
  })

  it('Given a listing of two pages, when listed, then objects.list is asked as the SDK asks (prefix, delimiter, maxResults 1000, pageToken) and both pages come in order', async () => {
    // The query of the SDK's Bucket.getFiles (github:googleapis/nodejs-storage src/bucket.ts: GET /b/<bucket>/o with the options as qs).
    const scope = nock(ENDPOINT)
      .get('/storage/v1/b/releases/o')
      .query({prefix: 'a/', delimiter: '/', maxResults: '1000'})
      .reply(200, {
        kind: 'storage#objects',
        items: [objectResource('a/1.txt', '1700000000000010', 'v1')],
        prefixes: ['a/d/'],
        nextPageToken: 'p2',
      })
      .get('/storage/v1/b/releases/o')
      .query({prefix: 'a/', delimiter: '/', maxResults: '1000', pageToken: 'p2'})
      .reply(200, {kind: 'storage#objects', items: [objectResource('a/2.txt', '1700000000000011', 'v2')]})
    const bucket = await open()
    const seen: string[] = []
    for await (const e of bucket.list({prefix: 'a/', delimiter: '/'}))
      seen.push(e.type === 'object' ? `${e.object.key} ${e.object.generation} ${e.object.md5} ${e.object.size}` : `prefix ${e.prefix}`)
    expect(seen).toEqual([
      `a/1.txt 1700000000000010 ${createHash('md5').update('v1').digest('hex')} 2`,
      'prefix a/d/',
      `a/2.txt 1700000000000011 ${createHash('md5').update('v2').digest('hex')} 2`,
    ])
    expect(scope.isDone()).toBe(true)
  })

  it('Given a listing answered 503 once, when listed, then it is asked again and succeeds', async () => {
    const scope = nock(ENDPOINT)
      .get('/storage/v1/b/releases/o')
      .query(true)
      .reply(503, {error: {code: 503, message: 'Backend Error', errors: [{reason: 'backendError'}]}})
      .get('/storage/v1/b/releases/o')
      .query(true)
      .reply(200, {kind: 'storage#objects', items: [objectResource('a/1.txt', '1700000000000012', 'v1')]})
    const bucket = await openBucket('gs://releases/', {gcs: {apiEndpoint: ENDPOINT}, attempts: 2})
    const keys: string[] = []
    for await (const e of bucket.list()) if (e.type === 'object') keys.push(e.object.key)
    expect(keys).toEqual(['a/1.txt'])
    expect(scope.isDone()).toBe(true)
  })

  it('Given a download to a file, then the object is asked for once and its bytes are read pinned to that generation', async () => {
    // A local server in the service's shapes (the media GET goes through the direct reader's own socket, which nock cannot see).
    const body = 'image bytes'
    const resource = {...objectResource('a/img.bin', '1700000000000005', body), size: String(body.length)}
    const requests: string[] = []
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`.trim())
      const url = new URL(req.url ?? '', 'http://x')
      if (url.pathname !== '/storage/v1/b/releases/o/a%2Fimg.bin') return void res.writeHead(404).end()
      if (url.searchParams.get('alt') !== 'media')
        return void res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(resource))
      if (url.searchParams.get('generation') !== '1700000000000005') return void res.writeHead(404).end()
      const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? []
      const part = body.slice(Number(from), Number(to) + 1)
      res
        .writeHead(206, {
          'content-range': `bytes ${from}-${Number(from) + part.length - 1}/${body.length}`,
          'content-length': String(part.length),
        })
        .end(part)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    nock.enableNetConnect('127.0.0.1')
    const dir = await mkdtemp(join(tmpdir(), 'gcs-read-'))
    try {
      const bucket = await openBucket('gs://releases/', {
        gcs: {apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`},
        attempts: 1,
      })
      await readToFile(bucket, 'a/img.bin', join(dir, 'img.bin'))
      expect(await readFile(join(dir, 'img.bin'), 'utf8')).toBe(body)
      // One metadata request (objects.get, made without the SDK: no empty query), then the bytes of that generation.
      expect(requests).toEqual([
        'GET /storage/v1/b/releases/o/a%2Fimg.bin',
        `GET /storage/v1/b/releases/o/a%2Fimg.bin?alt=media&generation=1700000000000005 bytes=0-${body.length - 1}`,
      ])
    } finally {
      server.close()
      await rm(dir, {recursive: true, force: true})
    }
  })
})
