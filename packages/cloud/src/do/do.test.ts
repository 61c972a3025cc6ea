import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext} from '../testing/fakes.js'
import {createDoImage, deleteDoKeys, doApi, gcDo} from './index.js'

/** DigitalOcean's API v2 answered with recorded shapes (nock). */
const DO = 'https://api.digitalocean.com'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()

describe('digitalocean (recorded HTTP)', () => {
  useRecordedHttp()
  const api = (context = testContext(NOW)) => doApi({credentials: {token: 'do-test-token-123456'}, ...context})

  it('imports a custom image tagged as ours and waits until it is available', async () => {
    const bodies: unknown[] = []
    nock(DO)
      .get('/v2/images')
      .query({private: 'true', page: '1', per_page: '200'})
      .matchHeader('authorization', 'Bearer do-test-token-123456')
      .reply(200, {images: [{id: 1, name: 'other'}], links: {pages: {next: 'https://api.digitalocean.com/v2/images?page=2'}}})
    nock(DO)
      .get('/v2/images')
      .query({private: 'true', page: '2', per_page: '200'})
      .reply(200, {images: [{id: 2, name: 'another'}], links: {pages: {}}})
    nock(DO)
      .post('/v2/images', (b) => (bodies.push(b), true))
      .reply(202, {image: {id: 77, name: 'flatcar-4000', status: 'NEW'}})
    nock(DO)
      .get('/v2/images/77')
      .reply(200, {image: {id: 77, name: 'flatcar-4000', status: 'pending'}})
    nock(DO)
      .get('/v2/images/77')
      .reply(200, {image: {id: 77, name: 'flatcar-4000', status: 'available'}})
    const context = testContext(NOW)
    const result = await createDoImage({
      api: await api(context),
      name: 'flatcar-4000',
      url: 'https://example.org/flatcar_production_digitalocean_image.bin.bz2',
      region: 'nyc3',
      distribution: 'CoreOS',
      context,
    })
    expect(result).toEqual({id: 77, name: 'flatcar-4000', created: true})
    expect(bodies[0]).toEqual({
      name: 'flatcar-4000',
      url: 'https://example.org/flatcar_production_digitalocean_image.bin.bz2',
      region: 'nyc3',
      distribution: 'CoreOS',
      tags: ['mantle'],
    })
  })

  it('reuses an image of the same name; a failed import is an error (exit 3)', async () => {
    nock(DO)
      .get('/v2/images')
      .query(true)
      .reply(200, {images: [{id: 9, name: 'flatcar-4000', status: 'NEW'}], links: {}})
    nock(DO)
      .get('/v2/images/9')
      .reply(200, {image: {id: 9, name: 'flatcar-4000', status: 'NEW', error_message: 'The image could not be downloaded.'}})
    const context = testContext(NOW)
    const error = await createDoImage({
      api: await api(context),
      name: 'flatcar-4000',
      url: 'https://example.org/i.bin',
      region: 'nyc3',
      context,
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('digitalocean: import of image flatcar-4000 failed: The image could not be downloaded.')
  })

  it('retries 429 and 500, then succeeds', async () => {
    nock(DO).get('/v2/account/keys').query(true).reply(429, {id: 'too_many_requests', message: 'API Rate limit exceeded.'})
    nock(DO).get('/v2/account/keys').query(true).reply(500, {id: 'server_error', message: 'Server was unable to give you a response.'})
    nock(DO)
      .get('/v2/account/keys')
      .query(true)
      .reply(200, {
        ssh_keys: [
          {id: 1, name: 'kola-a1', fingerprint: 'f1'},
          {id: 2, name: 'laptop', fingerprint: 'f2'},
        ],
        links: {},
      })
    nock(DO).delete('/v2/account/keys/1').reply(204)
    const context = testContext(NOW)
    const result = await deleteDoKeys({api: await api(context), prefix: 'kola-', context})
    expect(result.deleted.map((k) => k.name)).toEqual(['kola-a1'])
    expect(context.lines.filter((l) => /attempt [23]/.test(l))).toHaveLength(2)
  })

  it('gc deletes only our droplets and run keys older than the duration', async () => {
    nock(DO)
      .get('/v2/droplets')
      .query({tag_name: 'mantle', page: '1', per_page: '200'})
      .reply(200, {
        droplets: [
          {id: 1, name: 'kola-old', created_at: hoursAgo(6), tags: ['mantle']},
          {id: 2, name: 'kola-new', created_at: hoursAgo(1), tags: ['mantle']},
          {id: 3, name: 'untagged-old', created_at: hoursAgo(30), tags: []},
        ],
        links: {},
      })
    nock(DO).delete('/v2/droplets/1').reply(204)
    // Keys have no tags or creation time in the API: kola names its run keys with both (markedKeyName).
    nock(DO)
      .get('/v2/account/keys')
      .query({page: '1', per_page: '200'})
      .reply(200, {
        ssh_keys: [
          {id: 11, name: `kola-0a0b0c0d (created-by mantle, ${hoursAgo(6)})`, fingerprint: 'aa', public_key: 'ssh-ed25519 AAAA'},
          {id: 12, name: `kola-0e0f0a0b (created-by mantle, ${hoursAgo(1)})`, fingerprint: 'bb', public_key: 'ssh-ed25519 AAAA'},
          {id: 13, name: 'laptop (created-by mantle, yesterday)', fingerprint: 'cc', public_key: 'ssh-ed25519 AAAA'},
          {id: 14, name: 'my laptop', fingerprint: 'dd', public_key: 'ssh-ed25519 AAAA'},
        ],
        links: {},
      })
    nock(DO).delete('/v2/account/keys/11').reply(204)
    const context = testContext(NOW)
    expect(await gcDo({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual({deletedDroplets: [1], deletedKeys: [11]})
  })

  it('a token DigitalOcean refuses is a credentials error (exit 2)', async () => {
    nock(DO).get('/v2/droplets').query(true).reply(401, {id: 'unauthorized', message: 'Unable to authenticate you'})
    const context = testContext(NOW)
    const error = await gcDo({api: await api(context), olderThanMs: 1, context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      'digitalocean GET /v2/droplets: digitalocean refused the credentials (401: Unable to authenticate you)',
    )
  })
})
