import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {testContext} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {brightboxApi, createBrightboxImage, gcBrightbox} from './index.js'

/*
 * Brightbox's API 1.0 answered with the shapes of its API reference as
 * gobrightbox v2 reads them (images, servers with cloud_ips, volumes,
 * cloud_ips with status mapped/unmapped; ids img-/srv-/vol-/cip-xxxxx) and
 * the calls of flatcar/mantle platform/api/brightbox/api.go (CreateImage
 * from a URL with username core, UnMapCloudIP before DestroyServer). The
 * token endpoint is OAuth2 client credentials (RFC 6749 section 4.4).
 */
const API = 'https://api.gb1.brightbox.com'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
const BASIC = `Basic ${Buffer.from('cli-kola1:bb-secret-0001').toString('base64')}`

function token(): void {
  nock(API)
    .post('/token', 'grant_type=client_credentials')
    .matchHeader('authorization', BASIC)
    .matchHeader('content-type', 'application/x-www-form-urlencoded')
    .reply(200, {access_token: 'bb-access-1', token_type: 'Bearer', expires_in: 7200})
}

describe('brightbox (recorded HTTP)', () => {
  useRecordedHttp()
  const api = (context = testContext(NOW)) =>
    brightboxApi({credentials: {client_id: 'cli-kola1', client_secret: 'bb-secret-0001'}, ...context})

  it('registers an image from a URL with our marker and waits until it is available', async () => {
    const bodies: unknown[] = []
    token()
    nock(API)
      .get('/1.0/images')
      .matchHeader('authorization', 'Bearer bb-access-1')
      .reply(200, [{id: 'img-aaaaa', name: 'ubuntu', status: 'available', public: true}])
    nock(API)
      .post('/1.0/images', (b) => (bodies.push(b), true))
      .reply(201, {id: 'img-kola1', name: 'flatcar-4000', status: 'creating'})
    nock(API).get('/1.0/images/img-kola1').reply(200, {id: 'img-kola1', status: 'creating'})
    nock(API).get('/1.0/images/img-kola1').reply(200, {id: 'img-kola1', status: 'available'})
    const context = testContext(NOW)
    const result = await createBrightboxImage({
      api: await api(context),
      name: 'flatcar-4000',
      url: 'https://orbit.brightbox.com/v1/acc-xxxxx/images/flatcar_production_brightbox_image.img',
      context,
    })
    expect(result).toEqual({id: 'img-kola1', name: 'flatcar-4000', created: true})
    expect(bodies[0]).toEqual({
      name: 'flatcar-4000',
      url: 'https://orbit.brightbox.com/v1/acc-xxxxx/images/flatcar_production_brightbox_image.img',
      username: 'core',
      arch: 'x86_64',
      description: 'created-by=mantle',
    })
  })

  it('a registration that fails is deleted; one line, exit 3', async () => {
    token()
    nock(API).get('/1.0/images').reply(200, [])
    nock(API).post('/1.0/images').reply(201, {id: 'img-bad01', status: 'creating'})
    nock(API).get('/1.0/images/img-bad01').reply(200, {id: 'img-bad01', status: 'failed'})
    const deleted = nock(API).delete('/1.0/images/img-bad01').reply(202, {})
    const context = testContext(NOW)
    const error = await createBrightboxImage({api: await api(context), name: 'bad', url: 'https://orbit.example/x.img', context}).catch(
      (e: unknown) => e,
    )
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('brightbox: registering image bad failed: it is failed')
    expect(deleted.isDone()).toBe(true)
  })

  it('gc retries 429 and 503, then deletes our expired servers (unmapping their IPs first), images, volumes and unmapped cloud IPs; --dry-run deletes nothing', async () => {
    const listings = () => {
      nock(API)
        .get('/1.0/servers')
        .reply(200, [
          {id: 'srv-old01', name: 'kola-1a2b3c4d-coreos-basic-0', status: 'active', created_at: hoursAgo(6)},
          {id: 'srv-new01', name: 'kola-1a2b3c4d-coreos-basic-1', status: 'active', created_at: hoursAgo(1)},
          {id: 'srv-their', name: 'web', status: 'active', created_at: hoursAgo(99)},
        ])
      nock(API)
        .get('/1.0/images')
        .reply(200, [
          {id: 'img-old01', name: 'flatcar-1', status: 'available', created_at: hoursAgo(9), description: 'created-by=mantle'},
          {id: 'img-their', name: 'custom', status: 'available', created_at: hoursAgo(99), description: ''},
        ])
      nock(API)
        .get('/1.0/volumes')
        .reply(200, [{id: 'vol-old01', status: 'detached', created_at: hoursAgo(9), description: 'created-by=mantle'}])
      nock(API)
        .get('/1.0/cloud_ips')
        .reply(200, [
          {id: 'cip-left1', name: 'kola-1a2b3c4d-coreos-basic-0', status: 'unmapped'},
          {id: 'cip-used1', name: 'kola-1a2b3c4d-coreos-basic-1', status: 'mapped'},
          {id: 'cip-their', name: 'www', status: 'unmapped'},
        ])
    }
    const expected = {servers: ['srv-old01'], images: ['img-old01'], volumes: ['vol-old01'], cloudIps: ['cip-left1']}
    token()
    nock(API).get('/1.0/servers').reply(429, {error_name: 'too_many_requests'})
    nock(API).get('/1.0/servers').reply(503, 'Service Unavailable')
    listings()
    const context = testContext(NOW)
    const client = await api(context)
    expect(await gcBrightbox({api: client, olderThanMs: 5 * 3_600_000, dryRun: true, context})).toEqual(expected)
    expect(context.lines.filter((l) => /attempt [23]/.test(l))).toHaveLength(2)
    listings()
    nock(API)
      .get('/1.0/servers/srv-old01')
      .reply(200, {id: 'srv-old01', status: 'active', cloud_ips: [{id: 'cip-srv01', public_ip: '109.107.35.1'}]})
    const unmap = nock(API).post('/1.0/cloud_ips/cip-srv01/unmap').reply(202, {})
    nock(API).delete('/1.0/servers/srv-old01').reply(202, {})
    nock(API).delete('/1.0/images/img-old01').reply(202, {})
    nock(API).delete('/1.0/volumes/vol-old01').reply(202, {})
    nock(API).delete('/1.0/cloud_ips/cip-left1').reply(202, {})
    expect(await gcBrightbox({api: client, olderThanMs: 5 * 3_600_000, context})).toEqual(expected)
    expect(unmap.isDone()).toBe(true)
  })

  it('an API client Brightbox refuses is one line and exit 2, before any API call', async () => {
    nock(API).post('/token').reply(401, {error: 'invalid_client', error_description: 'The client credentials are invalid'})
    const context = testContext(NOW)
    const error = await gcBrightbox({api: await api(context), olderThanMs: 1, context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe('brightbox token POST /token: brightbox token refused the credentials (401: invalid_client)')
  })
})
