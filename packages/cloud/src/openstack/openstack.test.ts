import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir} from '@mantle/test-utils'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext} from '../testing/fakes.js'
import {recordingServer} from '../testing/server.js'
import {createOpenStackImage, gcOpenStack, openStackApi} from './index.js'

/** Keystone v3, Glance v2 and Nova answered with recorded shapes (nock). */
const KS = 'https://keystone.example.org:5000'
const NOVA = 'https://nova.example.org:8774/v2.1'
const NOW = new Date('2026-05-01T12:00:00Z')
const credentials = {auth_url: `${KS}/v3`, username: 'ci', password: 'os-test-password-1', tenant_name: 'images', region_name: 'RegionOne'}

function login(glance = 'https://glance.example.org', network?: string) {
  const bodies: unknown[] = []
  nock(KS)
    .post('/v3/auth/tokens', (b) => (bodies.push(b), true))
    .reply(
      201,
      {
        token: {
          catalog: [
            {
              type: 'image',
              endpoints: [
                {interface: 'public', region: 'RegionOne', url: glance},
                {interface: 'internal', region: 'RegionOne', url: 'http://internal:9292'},
              ],
            },
            {type: 'compute', endpoints: [{interface: 'public', region: 'RegionOne', url: NOVA}]},
            ...(network ? [{type: 'network', endpoints: [{interface: 'public', region: 'RegionOne', url: network}]}] : []),
          ],
        },
      },
      {'x-subject-token': 'os-token-abc'},
    )
  return bodies
}

describe('openstack (recorded HTTP)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  useRecordedHttp()
  beforeAll(async () => ({dir, cleanup} = await makeTempDir()))
  afterAll(() => cleanup())

  it('logs in, creates the image, uploads the disk and waits until it is active', async () => {
    const file = join(dir, 'flatcar_production_openstack_image.img')
    const data = randomBytes(64 * 1024)
    await writeFile(file, data)
    // Glance is a local server: the disk goes up as a stream, which nock does not reliably intercept.
    const ID = '11111111-2222-3333-4444-555555555555'
    let polls = 0
    const glance = await recordingServer((req) => {
      if (req.method === 'GET' && req.path === '/v2/images?name=flatcar-4000') return {status: 200, json: {images: []}}
      if (req.method === 'POST' && req.path === '/v2/images') return {status: 201, json: {id: ID, name: 'flatcar-4000', status: 'queued'}}
      if (req.method === 'PUT' && req.path === `/v2/images/${ID}/file`) return {status: 204}
      if (req.method === 'GET' && req.path === `/v2/images/${ID}`)
        return {status: 200, json: {id: ID, name: 'flatcar-4000', status: polls++ === 0 ? 'saving' : 'active'}}
      return {status: 404, json: {message: `unexpected ${req.method} ${req.path}`}}
    })
    const loginBodies = login(glance.url)

    const context = testContext(NOW)
    const result = await createOpenStackImage({
      api: await openStackApi({credentials, ...context}),
      name: 'flatcar-4000',
      file,
      diskFormat: 'qcow2',
      context,
    })

    await glance.close()
    expect(result).toEqual({id: ID, name: 'flatcar-4000', created: true})
    expect(glance.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/images?name=flatcar-4000',
      'POST /v2/images',
      `PUT /v2/images/${ID}/file`,
      `GET /v2/images/${ID}`,
      `GET /v2/images/${ID}`,
    ])
    expect(glance.requests.every((r) => r.headers['x-auth-token'] === 'os-token-abc')).toBe(true)
    const put = glance.requests[2]!
    expect(put.headers['content-type']).toBe('application/octet-stream')
    expect(put.body.equals(data)).toBe(true)
    expect(loginBodies[0]).toEqual({
      auth: {
        identity: {methods: ['password'], password: {user: {name: 'ci', domain: {name: 'Default'}, password: 'os-test-password-1'}}},
        scope: {project: {name: 'images', domain: {name: 'Default'}}},
      },
    })
    expect(JSON.parse(glance.requests[1]!.body.toString())).toEqual({
      name: 'flatcar-4000',
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'private',
      tags: ['mantle'],
    })
  })

  it('gc deletes only our servers older than the duration', async () => {
    login()
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
    nock('https://nova.example.org:8774')
      .get('/v2.1/servers/detail')
      .query({limit: '200'})
      .reply(200, {
        servers: [
          {id: 's1', name: 'kola-old', created: hoursAgo(8), metadata: {'created-by': 'mantle'}},
          {id: 's2', name: 'kola-new', created: hoursAgo(2), metadata: {'created-by': 'mantle'}},
          {id: 's3', name: 'db', created: hoursAgo(800), metadata: {}},
        ],
      })
    nock('https://nova.example.org:8774').delete('/v2.1/servers/s1').reply(204)
    const context = testContext(NOW)
    expect(await gcOpenStack({api: await openStackApi({credentials, ...context}), olderThanMs: 5 * 3_600_000, context})).toEqual({
      deletedServers: ['s1'],
    })
  })

  it("gc with run resources also releases the servers' floating IPs and deletes kola's unused old key pairs and marked groups", async () => {
    const NEUTRON = 'https://neutron.example.org:9696'
    login(undefined, NEUTRON)
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
    const nova = nock('https://nova.example.org:8774')
    nova
      .get('/v2.1/servers/detail')
      .query({limit: '200'})
      .reply(200, {
        servers: [
          {id: 's1', name: 'kola-0a1b2c3d-x-0', created: hoursAgo(8), metadata: {'created-by': 'mantle'}, key_name: 'kola-0a1b2c3d'},
          {id: 's2', name: 'kola-11111111-x-0', created: hoursAgo(1), metadata: {'created-by': 'mantle'}, key_name: 'kola-11111111'},
        ],
      })
    nova.get('/v2.1/os-floating-ips').reply(200, {floating_ips: [{id: 'f1', ip: '203.0.113.7', instance_id: 's1'}]})
    nova.post('/v2.1/servers/s1/action', {removeFloatingIp: {address: '203.0.113.7'}}).reply(202)
    nova.delete('/v2.1/os-floating-ips/f1').reply(202)
    nova.delete('/v2.1/servers/s1').reply(204)
    nova.get('/v2.1/servers/s1').reply(404, {itemNotFound: {code: 404, message: 'Instance s1 could not be found.'}})
    nova.get('/v2.1/os-keypairs').reply(200, {
      keypairs: ['kola-0a1b2c3d', 'kola-11111111', 'kola-22222222', 'alice'].map((name) => ({keypair: {name}})),
    })
    // Nova's times carry no zone.
    for (const [name, h] of [
      ['kola-0a1b2c3d', 8],
      ['kola-11111111', 8],
      ['kola-22222222', 1],
      ['alice', 80],
    ] as const)
      nova.get(`/v2.1/os-keypairs/${name}`).reply(200, {keypair: {name, created_at: hoursAgo(h).replace('Z', '')}})
    nova.delete('/v2.1/os-keypairs/kola-0a1b2c3d').reply(202)
    nock(NEUTRON)
      .get('/v2.0/security-groups')
      .reply(200, {
        security_groups: [
          {id: 'g1', name: 'kola-0a1b2c3d', description: 'created-by=mantle', created_at: hoursAgo(8)},
          {id: 'g2', name: 'kola-22222222', description: 'created-by=mantle', created_at: hoursAgo(1)},
          {id: 'g3', name: 'default', description: 'Default security group', created_at: hoursAgo(900)},
        ],
      })
    nock(NEUTRON).delete('/v2.0/security-groups/g1').reply(204)
    const context = testContext(NOW)
    const api = await openStackApi({credentials, ...context})
    expect(await gcOpenStack({api, olderThanMs: 5 * 3_600_000, runResources: true, context})).toEqual({
      deletedServers: ['s1'],
      deletedKeyPairs: ['kola-0a1b2c3d'],
      deletedSecurityGroups: ['g1'],
    })
  })

  it('a password Keystone refuses is a credentials error (exit 2)', async () => {
    nock(KS)
      .post('/v3/auth/tokens')
      .reply(401, {error: {code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized'}})
    const error = await openStackApi({credentials, ...testContext(NOW)}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      'keystone POST /v3/auth/tokens: keystone refused the credentials (401: The request you have made requires authentication.)',
    )
  })

  it('an unknown region is a usage error naming it (exit 2)', async () => {
    login()
    const error = await openStackApi({credentials: {...credentials, region_name: 'Mars'}, ...testContext(NOW)}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe('openstack: no public image endpoint in region Mars in the service catalog')
  })
})
