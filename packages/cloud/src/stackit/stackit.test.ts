import {createVerify, generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {testContext} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {recordingServer} from '../testing/server.js'
import {createStackitImage, gcStackit, stackitApi} from './index.js'

/*
 * STACKIT's IaaS API v2 and its token endpoint answered with the shapes of
 * stackit-sdk-go (services/iaas/v2api: ImageCreateResponse {id, uploadUrl},
 * {items: [...]} lists, Image.status; core/clients/key_flow.go: the
 * jwt-bearer grant with an RS512 assertion carrying the key's kid, iss, sub
 * and aud) and the calls of flatcar/mantle platform/api/stackit/api.go.
 */
const IAAS = 'https://iaas.api.stackit.cloud'
const TOKEN = 'https://service-account.api.stackit.cloud'
const P = '/v2/projects/p-1/regions/eu01'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
const LABELS = {'created-by': 'mantle', 'managed-by': 'mantle'}
const pair = generateKeyPairSync('rsa', {modulusLength: 2048})
const KEY = {
  kid: 'kid-1',
  iss: 'kola@sa.stackit.cloud',
  sub: '0f6a1c4e-3b41-4f1a-9b53-1f0a6c5d8e21',
  aud: 'https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud',
  privateKey: pair.privateKey.export({type: 'pkcs1', format: 'pem'}).toString(),
}

/** The token endpoint: checks the grant and the assertion's signature, answers an access token. */
function tokenEndpoint(assertions: Record<string, unknown>[]) {
  nock(TOKEN)
    .post('/token', (body: Record<string, string>) => {
      if (body.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return false
      const [h, c, s] = String(body.assertion).split('.')
      const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as {alg: string; kid: string}
      const ok = createVerify('RSA-SHA512').update(`${h}.${c}`).verify(pair.publicKey, s!, 'base64url')
      assertions.push({...header, ...(JSON.parse(Buffer.from(c!, 'base64url').toString()) as object), ok})
      return true
    })
    .reply(200, {access_token: 'stackit-access-token-1', refresh_token: 'r', token_type: 'Bearer', expires_in: 3600})
}

describe('stackit (recorded HTTP)', () => {
  useRecordedHttp()
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackit-'))
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))
  const api = (context = testContext(NOW)) => stackitApi({credentials: {projectId: 'p-1', region: 'eu01', key: KEY}, ...context})

  it('gets a token by the key flow, creates a labelled image, uploads the disk to its URL and waits until AVAILABLE', async () => {
    // Given a qcow2 disk and an upload URL served locally (a stream is not reliably intercepted by nock)
    const file = join(dir, 'flatcar_production_stackit_image.img')
    await writeFile(file, Buffer.alloc(2048, 3))
    const upload = await recordingServer(() => ({status: 200}))
    const assertions: Record<string, unknown>[] = []
    const bodies: unknown[] = []
    tokenEndpoint(assertions)
    nock(IAAS)
      .get(`${P}/images`)
      .matchHeader('authorization', 'Bearer stackit-access-token-1')
      .reply(200, {items: [{id: 'i-0', name: 'other', status: 'AVAILABLE'}]})
    nock(IAAS)
      .post(`${P}/images`, (b) => (bodies.push(b), true))
      .reply(201, {id: '5a0a3a5e-0000-4000-8000-000000000001', uploadUrl: `${upload.url}/upload/abc?signature=xyz`})
    nock(IAAS)
      .get(`${P}/images/5a0a3a5e-0000-4000-8000-000000000001`)
      .reply(200, {id: '5a0a3a5e-0000-4000-8000-000000000001', status: 'UPLOADING'})
    nock(IAAS)
      .get(`${P}/images/5a0a3a5e-0000-4000-8000-000000000001`)
      .reply(200, {id: '5a0a3a5e-0000-4000-8000-000000000001', status: 'AVAILABLE'})
    // When the image is created
    const context = testContext(NOW)
    const result = await createStackitImage({api: await api(context), name: 'flatcar-4000', file, context})
    await upload.close()
    // Then the token came from a valid RS512 assertion of the key, the record is labelled, the disk went to the URL unauthenticated
    expect(result).toEqual({id: '5a0a3a5e-0000-4000-8000-000000000001', name: 'flatcar-4000', created: true})
    expect(assertions[0]).toMatchObject({alg: 'RS512', kid: 'kid-1', iss: KEY.iss, sub: KEY.sub, aud: KEY.aud, ok: true})
    expect(bodies[0]).toEqual({
      name: 'flatcar-4000',
      diskFormat: 'qcow2',
      labels: LABELS,
      config: {architecture: 'x86', operatingSystem: 'linux', operatingSystemDistro: 'Flatcar'},
    })
    expect(upload.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /upload/abc?signature=xyz'])
    expect(upload.requests[0]!.body.equals(Buffer.alloc(2048, 3))).toBe(true)
    expect(upload.requests[0]!.headers.authorization).toBeUndefined()
  })

  it('an image that fails after its upload is deleted; one line, exit 3', async () => {
    const file = join(dir, 'bad.img')
    await writeFile(file, 'x')
    const upload = await recordingServer(() => ({status: 200}))
    tokenEndpoint([])
    nock(IAAS).get(`${P}/images`).reply(200, {items: []})
    nock(IAAS)
      .post(`${P}/images`)
      .reply(201, {id: 'img-bad', uploadUrl: `${upload.url}/u`})
    nock(IAAS).get(`${P}/images/img-bad`).reply(200, {id: 'img-bad', status: 'ERROR'})
    const deleted = nock(IAAS).delete(`${P}/images/img-bad`).reply(204)
    const context = testContext(NOW)
    const error = await createStackitImage({api: await api(context), name: 'bad', file, context}).catch((e: unknown) => e)
    await upload.close()
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('stackit: image bad is ERROR after its upload')
    expect(deleted.isDone()).toBe(true)
  })

  it('gc retries 429 and 500, then deletes only our expired servers, images, volumes, key pairs and public IPs; --dry-run deletes nothing', async () => {
    const listings = () => {
      nock(IAAS)
        .get(`${P}/servers`)
        .reply(200, {
          items: [
            {id: 's-old', name: 'kola-old', createdAt: hoursAgo(6), labels: {'managed-by': 'mantle'}},
            {id: 's-new', createdAt: hoursAgo(1), labels: LABELS},
            {id: 's-theirs', createdAt: hoursAgo(30), labels: {}},
          ],
        })
      nock(IAAS)
        .get(`${P}/images`)
        .reply(200, {items: [{id: 'i-old', createdAt: hoursAgo(9), labels: LABELS, status: 'AVAILABLE'}]})
      nock(IAAS)
        .get(`${P}/volumes`)
        .reply(200, {items: [{id: 'v-old', createdAt: hoursAgo(9), labels: LABELS}]})
      nock(IAAS)
        .get('/v2/keypairs')
        .reply(200, {
          items: [
            {name: 'kola-abc', createdAt: hoursAgo(9), labels: LABELS},
            {name: 'laptop', createdAt: hoursAgo(99)},
          ],
        })
      nock(IAAS)
        .get(`${P}/public-ips`)
        .reply(200, {
          items: [
            {id: 'ip-old', ip: '193.148.1.1', createdAt: hoursAgo(9), labels: LABELS},
            {id: 'ip-theirs', createdAt: hoursAgo(99)},
          ],
        })
    }
    const expected = {servers: ['s-old'], images: ['i-old'], volumes: ['v-old'], keypairs: ['kola-abc'], publicIps: ['ip-old']}
    tokenEndpoint([])
    nock(IAAS).get(`${P}/servers`).reply(429, {code: 429, msg: 'Too Many Requests'})
    nock(IAAS).get(`${P}/servers`).reply(500, {code: 500, msg: 'internal'})
    listings()
    const context = testContext(NOW)
    const client = await api(context)
    expect(await gcStackit({api: client, olderThanMs: 5 * 3_600_000, dryRun: true, context})).toEqual(expected)
    expect(context.lines.filter((l) => /attempt [23]/.test(l))).toHaveLength(2)
    listings()
    nock(IAAS).delete(`${P}/servers/s-old`).reply(202)
    nock(IAAS).delete(`${P}/images/i-old`).reply(204)
    nock(IAAS).delete(`${P}/volumes/v-old`).reply(202)
    nock(IAAS).delete('/v2/keypairs/kola-abc').reply(204)
    nock(IAAS).delete(`${P}/public-ips/ip-old`).reply(204)
    expect(await gcStackit({api: client, olderThanMs: 5 * 3_600_000, context})).toEqual(expected)
  })

  it('a key the token endpoint refuses is one line and exit 2, before any IaaS call', async () => {
    nock(TOKEN).post('/token').reply(400, {error: 'invalid_grant', error_description: 'Key with kid kid-1 was not found'})
    const context = testContext(NOW)
    const error = await gcStackit({api: await api(context), olderThanMs: 1, context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(/^stackit: the token endpoint refused the service account key \(.*invalid_grant/)
  })

  it('a long-lived token is sent as is; IaaS refusing it is exit 2', async () => {
    nock(IAAS).get(`${P}/servers`).matchHeader('authorization', 'Bearer legacy-token-0001').reply(401, {code: 401, msg: 'Unauthorized'})
    const context = testContext(NOW)
    const client = await stackitApi({credentials: {projectId: 'p-1', region: 'eu01', token: 'legacy-token-0001'}, ...context})
    const error = await gcStackit({api: client, olderThanMs: 1, context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toContain('stackit refused the credentials (401')
  })
})
