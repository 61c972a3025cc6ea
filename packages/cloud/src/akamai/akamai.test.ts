import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir} from '@mantle/test-utils'

import {rejection, testContext} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {recordingServer} from '../testing/server.js'
import {akamaiApi, createAkamaiImage, gcAkamai} from './index.js'

// The Linode API v4 of Akamai Cloud answered with the shapes of its reference
// (techdocs.akamai.com/linode-api: {data, page, pages} lists filtered by X-Filter, errors
// {"errors": [{"reason", "field"}]}, POST /images/upload answering {image, upload_to}) as linodego
// sends them for flatcar/mantle platform/api/akamai/{image,instance}.go (label, region,
// description "Created by Mantle", cloud_init true, tags ["mantle"]; GC by tag).
const LINODE = 'https://api.linode.com'
const NOW = new Date('2026-05-01T12:00:00Z')
// Linode's timestamps: UTC without a zone.
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().slice(0, 19)
const page = {page: 1, pages: 1, results: 1}

describe('akamai (recorded HTTP)', () => {
  useRecordedHttp()
  let dir: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
  })
  afterAll(() => cleanup())
  const api = (context = testContext(NOW)) => akamaiApi({credentials: {token: 'linode-test-token-0001'}, ...context})

  it('Given a raw disk, when an image is created, then it is registered, PUT gzipped to upload_to without the API token, and waited for', async () => {
    const raw = join(dir, 'flatcar_production_akamai_image.bin')
    await writeFile(raw, Buffer.concat([Buffer.from('disk-start'), Buffer.alloc(4096), Buffer.from('disk-end')]))
    const bucket = await recordingServer(() => ({status: 200}))
    try {
      const bodies: unknown[] = []
      nock(LINODE)
        .post('/v4/images/upload', (b) => (bodies.push(b), true))
        .matchHeader('authorization', 'Bearer linode-test-token-0001')
        .reply(200, {
          image: {id: 'private/42', label: 'flatcar-4000', status: 'pending_upload'},
          upload_to: `${bucket.url}/upload/private-42?X-Amz-Signature=abc`,
        })
      nock(LINODE).get('/v4/images/private/42').reply(200, {id: 'private/42', label: 'flatcar-4000', status: 'pending_upload'})
      nock(LINODE).get('/v4/images/private/42').reply(200, {id: 'private/42', label: 'flatcar-4000', status: 'available'})
      const context = testContext(NOW)
      expect(await createAkamaiImage({api: await api(context), file: raw, name: 'flatcar-4000', region: 'us-ord', context})).toEqual({
        id: 'private/42',
        name: 'flatcar-4000',
      })
      expect(bodies[0]).toEqual({
        label: 'flatcar-4000',
        region: 'us-ord',
        description: 'Created by Mantle',
        cloud_init: true,
        tags: ['mantle'],
      })
      const [put] = bucket.requests
      expect(put?.method).toBe('PUT')
      expect(put?.path).toBe('/upload/private-42?X-Amz-Signature=abc')
      expect(put?.headers.authorization).toBeUndefined()
      expect(gunzipSync(put!.body).toString('latin1')).toMatch(/^disk-start\0+disk-end$/)
    } finally {
      await bucket.close()
    }
  })

  it('Given throttling (429) then success, when gc runs, then only our expired instances and images are deleted', async () => {
    nock(LINODE)
      .get('/v4/linode/instances')
      .query(true)
      .reply(429, {errors: [{reason: 'Too many requests'}]})
    nock(LINODE)
      .get('/v4/linode/instances')
      .query({page: '1', page_size: '500'})
      .matchHeader('x-filter', '{"tags":"mantle"}')
      .reply(200, {
        data: [
          {id: 1, label: 'kola-old', status: 'running', created: hoursAgo(6), tags: ['mantle'], ipv4: []},
          {id: 2, label: 'kola-new', status: 'running', created: hoursAgo(1), tags: ['mantle'], ipv4: []},
        ],
        ...page,
      })
    nock(LINODE).delete('/v4/linode/instances/1').reply(200, {})
    nock(LINODE)
      .get('/v4/images')
      .query(true)
      .matchHeader('x-filter', '{"is_public":false,"tags":"mantle"}')
      .reply(200, {
        data: [{id: 'private/7', label: 'old', status: 'available', created: hoursAgo(30), is_public: false, tags: ['mantle']}],
        ...page,
      })
    nock(LINODE).delete('/v4/images/private/7').reply(200, {})
    nock(LINODE).get('/v4/volumes').query(true).reply(200, {data: [], page: 1, pages: 1, results: 0})
    const context = testContext(NOW)
    expect(await gcAkamai({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual({
      instances: [1],
      images: ['private/7'],
      volumes: [],
    })
    expect(context.lines.filter((l) => /attempt 2/.test(l))).toHaveLength(1)
  })

  it('Given a token Linode refuses, when gc runs, then one line and exit 2', async () => {
    nock(LINODE)
      .get('/v4/linode/instances')
      .query(true)
      .reply(401, {errors: [{reason: 'Invalid Token'}]})
    const context = testContext(NOW)
    const error = await rejection(gcAkamai({api: await api(context), olderThanMs: 1, context}))
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect(error.message).toBe('akamai GET /v4/linode/instances: akamai refused the credentials (401: Invalid Token)')
  })
})
