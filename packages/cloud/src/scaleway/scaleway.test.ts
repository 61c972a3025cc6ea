import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir} from '@mantle/test-utils'

import {MemoryStore, rejection, testContext} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {createScalewayImage, gcScaleway, scalewayApi} from './index.js'

// Scaleway's Instance API v1 answered with the shapes of its reference
// (scaleway.com/en/developers/api/instance: X-Auth-Token, lists paged with X-Total-Count,
// errors {"type", "message"}) as scaleway-sdk-go sends them for flatcar/mantle
// platform/api/scaleway/instance.go (CreateSnapshot from bucket/key with volume_type l_ssd and
// tags ["mantle"], GetSnapshot until available, ListServers by tag, poweroff/delete/volumes).
const SCW = 'https://api.scaleway.com'
const ZONE = '/instance/v1/zones/fr-par-1'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
const credentials = {access_key: 'SCWTEST0000000000001', secret_key: 'scw-test-secret-0001', project_id: 'proj-1'}

describe('scaleway (recorded HTTP)', () => {
  useRecordedHttp()
  let dir: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
  })
  afterAll(() => cleanup())
  const api = (context = testContext(NOW)) => scalewayApi({credentials, zone: 'fr-par-1', ...context})

  it('Given a qcow2 disk, when an image is created, then it is staged, imported as a tagged l_ssd snapshot, waited for, and the object deleted', async () => {
    const file = join(dir, 'flatcar_production_scaleway_image.qcow2')
    await writeFile(file, 'QFI\xfb qcow2 bytes')
    const bodies: unknown[] = []
    nock(SCW)
      .post(`${ZONE}/snapshots`, (b) => (bodies.push(b), true))
      .matchHeader('x-auth-token', 'scw-test-secret-0001')
      .reply(201, {snapshot: {id: 'snap-1', name: 'flatcar-4000', state: 'importing', creation_date: hoursAgo(0)}})
    nock(SCW)
      .get(`${ZONE}/snapshots/snap-1`)
      .reply(200, {snapshot: {id: 'snap-1', name: 'flatcar-4000', state: 'importing'}})
    nock(SCW)
      .get(`${ZONE}/snapshots/snap-1`)
      .reply(200, {snapshot: {id: 'snap-1', name: 'flatcar-4000', state: 'available'}})
    const store = new MemoryStore()
    const context = testContext(NOW)
    const result = await createScalewayImage({
      api: await api(context),
      store,
      bucket: 'flatcar-testing',
      key: 'stable/current/amd64-usr/flatcar_production_scaleway_image.qcow2',
      file,
      name: 'flatcar-4000',
      project: 'proj-1',
      context,
    })
    expect(result).toEqual({id: 'snap-1', name: 'flatcar-4000'})
    expect(bodies[0]).toEqual({
      name: 'flatcar-4000',
      project: 'proj-1',
      volume_type: 'l_ssd',
      bucket: 'flatcar-testing',
      key: 'stable/current/amd64-usr/flatcar_production_scaleway_image.qcow2',
      tags: ['mantle'],
    })
    expect(store.calls).toEqual([
      'write stable/current/amd64-usr/flatcar_production_scaleway_image.qcow2',
      'delete stable/current/amd64-usr/flatcar_production_scaleway_image.qcow2',
    ])
  })

  it('Given a failing import, when an image is created, then exit 3 and the staged object is deleted anyway', async () => {
    const file = join(dir, 'bad.qcow2')
    await writeFile(file, 'not qcow2')
    nock(SCW)
      .post(`${ZONE}/snapshots`)
      .reply(201, {snapshot: {id: 'snap-2', name: 'bad', state: 'importing'}})
    nock(SCW)
      .get(`${ZONE}/snapshots/snap-2`)
      .reply(200, {snapshot: {id: 'snap-2', name: 'bad', state: 'error'}})
    const store = new MemoryStore()
    const context = testContext(NOW)
    const error = await rejection(
      createScalewayImage({api: await api(context), store, bucket: 'b', key: 'bad.qcow2', file, name: 'bad', project: 'proj-1', context}),
    )
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect(error.message).toBe('scaleway: import of snapshot bad failed (error)')
    expect(store.objects.size).toBe(0)
  })

  it('Given throttling (429) then success, when gc runs, then it deletes only our expired resources, terminating a running server', async () => {
    nock(SCW).get(`${ZONE}/servers`).query(true).reply(429, {type: 'too_many_requests', message: 'rate limit exceeded'})
    nock(SCW)
      .get(`${ZONE}/servers`)
      .query({tags: 'mantle', page: '1', per_page: '100'})
      .reply(
        200,
        {
          servers: [
            {id: 's-old', name: 'kola-old', state: 'running', creation_date: hoursAgo(6), tags: ['mantle']},
            {id: 's-new', name: 'kola-new', state: 'running', creation_date: hoursAgo(1), tags: ['mantle']},
          ],
        },
        {'x-total-count': '2'},
      )
    nock(SCW)
      .get(`${ZONE}/servers/s-old`)
      .reply(200, {server: {id: 's-old', state: 'running'}})
    nock(SCW)
      .post(`${ZONE}/servers/s-old/action`, {action: 'terminate'})
      .reply(202, {task: {id: 't-1', status: 'pending'}})
    nock(SCW).get(`${ZONE}/servers/s-old`).reply(404, {type: 'unknown_resource', message: 'server not found'})
    for (const kind of ['images', 'snapshots', 'volumes'])
      nock(SCW)
        .get(`${ZONE}/${kind}`)
        .query(true)
        .reply(
          200,
          {[kind]: kind === 'snapshots' ? [{id: 'snap-old', name: 'old', creation_date: hoursAgo(30), tags: ['mantle']}] : []},
          {
            'x-total-count': kind === 'snapshots' ? '1' : '0',
          },
        )
    nock(SCW).delete(`${ZONE}/snapshots/snap-old`).reply(204)
    const context = testContext(NOW)
    expect(await gcScaleway({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual({
      servers: ['s-old'],
      images: [],
      snapshots: ['snap-old'],
      volumes: [],
    })
    expect(context.lines.filter((l) => /attempt 2/.test(l))).toHaveLength(1)
  })

  it('Given a secret key Scaleway refuses, when gc runs, then one line and exit 2', async () => {
    nock(SCW).get(`${ZONE}/servers`).query(true).reply(401, {type: 'denied_authentication', message: 'invalid auth token'})
    const context = testContext(NOW)
    const error = await rejection(gcScaleway({api: await api(context), olderThanMs: 1, context}))
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect(error.message).toBe(
      `scaleway GET ${ZONE}/servers: scaleway refused the credentials (401: denied_authentication: invalid auth token)`,
    )
  })

  it('Given exhausted quotas (403 quotas_exceeded), when a server is created, then exit 3, not a credentials error', async () => {
    nock(SCW)
      .post(`${ZONE}/servers`)
      .reply(403, {type: 'quotas_exceeded', message: 'Quotas exceeded: Instances_dev1_s_servers has reached its limit'})
    const context = testContext(NOW)
    const error = await rejection(
      (await api(context)).createServer({name: 'x', commercial_type: 'DEV1-S', project: 'proj-1', tags: ['mantle'], volumes: {}}),
    )
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect(error.message).toBe(
      `scaleway POST ${ZONE}/servers: 403 quotas_exceeded: Quotas exceeded: Instances_dev1_s_servers has reached its limit`,
    )
  })
})
