import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext, testServiceAccount, rejection} from '../testing/fakes.js'
import {gceComputeApi} from './compute.js'
import {createImage, deleteImages, deprecateImage, imageName, isImagePublic, listImages, makeImagePublic} from './images.js'
import {createInstances, destroyInstances} from './instances.js'
import {launchGceInstance} from './machines.js'

/**
 * Compute Engine cannot run here: its REST calls are answered with recorded
 * shapes (nock), including the OAuth token exchange of the service account.
 */
const GCE = 'https://compute.googleapis.com'
const P = '/compute/v1/projects/mantle-test'
const NOW = new Date('2026-05-01T12:00:00Z')
const auth = testServiceAccount()

function token() {
  nock('https://oauth2.googleapis.com').post('/token').reply(200, {access_token: 'gce-test-token', expires_in: 3600, token_type: 'Bearer'})
}

describe('gcloud over the Compute REST API (recorded HTTP)', () => {
  useRecordedHttp()
  // Each client signs its own JWT and trades it for a token once.
  const api = (context = testContext(NOW)) => {
    token()
    return gceComputeApi({auth, pollIntervalMs: 0, ...context})
  }

  it('names images as the original did', () => {
    expect(imageName('flatcar-stable', '4000.1.0+dev')).toBe('flatcar-stable-4000-1-0-dev')
  })

  it('creates an image from a gs:// object and waits while it is PENDING until READY', async () => {
    const inserted: unknown[] = []
    nock(GCE)
      .get(`${P}/global/images/flatcar-stable-4000-0-0`)
      .reply(404, {error: {code: 404, message: "The resource 'projects/mantle-test/global/images/flatcar-stable-4000-0-0' was not found"}})
    nock(GCE)
      .post(`${P}/global/images`, (b) => (inserted.push(b), true))
      .matchHeader('authorization', 'Bearer gce-test-token')
      .reply(200, {name: 'operation-1', status: 'RUNNING', targetLink: `${GCE}${P}/global/images/flatcar-stable-4000-0-0`})
    nock(GCE).get(`${P}/global/operations/operation-1`).reply(200, {name: 'operation-1', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/flatcar-stable-4000-0-0`).times(2).reply(200, {name: 'flatcar-stable-4000-0-0', status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/flatcar-stable-4000-0-0`).reply(200, {name: 'flatcar-stable-4000-0-0', status: 'READY'})

    const context = testContext(NOW)
    const result = await createImage({
      compute: await api(context),
      name: 'flatcar-stable-4000-0-0',
      family: 'flatcar-stable',
      source: 'gs://builds/amd64-usr/4000.0.0/flatcar_production_gce.tar.gz',
      context,
    })

    expect(result).toEqual({
      project: 'mantle-test',
      name: 'flatcar-stable-4000-0-0',
      path: 'projects/mantle-test/global/images/flatcar-stable-4000-0-0',
      status: 'READY',
      created: true,
    })
    expect(inserted[0]).toEqual({
      name: 'flatcar-stable-4000-0-0',
      family: 'flatcar-stable',
      rawDisk: {source: 'https://storage.googleapis.com/builds/amd64-usr/4000.0.0/flatcar_production_gce.tar.gz'},
      labels: {'created-by': 'mantle'},
    })
  })

  it('an existing PENDING image is waited for, not created again', async () => {
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'READY'})
    const context = testContext(NOW)
    expect(await createImage({compute: await api(context), name: 'img', source: 'gs://b/o', context})).toMatchObject({
      status: 'READY',
      created: false,
    })
  })

  it('an image that turns FAILED is an infrastructure error (exit 3)', async () => {
    nock(GCE).get(`${P}/global/images/img`).reply(404, {})
    nock(GCE).post(`${P}/global/images`).reply(200, {name: 'operation-2', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'FAILED'})
    const context = testContext(NOW)
    const error = await createImage({compute: await api(context), name: 'img', source: 'gs://b/o', context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('gce: image img FAILED')
  })

  it('an existing FAILED image is refused unless forced; --force deletes and creates it', async () => {
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'FAILED'})
    const context = testContext(NOW)
    const refused = await rejection(createImage({compute: await api(context), name: 'img', source: 'gs://b/o', context}))
    expect(refused.message).toBe('gce: image img exists and FAILED')

    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'FAILED'})
    nock(GCE).delete(`${P}/global/images/img`).reply(200, {name: 'operation-del', status: 'RUNNING'})
    nock(GCE).get(`${P}/global/operations/operation-del`).reply(200, {name: 'operation-del', status: 'DONE'})
    nock(GCE).post(`${P}/global/images`).reply(200, {name: 'operation-3', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/img`).reply(200, {name: 'img', status: 'READY'})
    expect(await createImage({compute: await api(context), name: 'img', source: 'gs://b/o', force: true, context})).toMatchObject({
      created: true,
    })
  })

  it('a failed operation says why', async () => {
    nock(GCE).get(`${P}/global/images/img`).reply(404, {})
    nock(GCE).post(`${P}/global/images`).reply(200, {name: 'operation-4', status: 'RUNNING'})
    nock(GCE)
      .get(`${P}/global/operations/operation-4`)
      .reply(200, {
        name: 'operation-4',
        status: 'DONE',
        targetLink: `${GCE}${P}/global/images/img`,
        error: {errors: [{code: 'INVALID_FIELD_VALUE', message: 'Invalid value for field rawDisk.source'}]},
      })
    const context = testContext(NOW)
    const error = await rejection(createImage({compute: await api(context), name: 'img', source: 'gs://b/o', context}))
    expect(error.message).toBe(
      'gce: operation operation-4 on mantle-test/global/images/img failed: INVALID_FIELD_VALUE: Invalid value for field rawDisk.source',
    )
  })

  it('retries a rate-limited call (429, then 503) and then succeeds', async () => {
    nock(GCE)
      .get(`${P}/global/images`)
      .query(true)
      .reply(429, {error: {code: 429, message: 'Rate Limit Exceeded'}})
    nock(GCE)
      .get(`${P}/global/images`)
      .query(true)
      .reply(503, {error: {code: 503, message: 'Backend Error'}})
    nock(GCE)
      .get(`${P}/global/images`)
      .query((q) => q.filter === 'name eq "flatcar-.*"')
      .reply(200, {
        items: [
          {name: 'flatcar-b', creationTimestamp: '2026-02-01T00:00:00Z'},
          {name: 'flatcar-a', creationTimestamp: '2026-01-01T00:00:00Z'},
        ],
        nextPageToken: 'p2',
      })
    nock(GCE)
      .get(`${P}/global/images`)
      .query((q) => q.pageToken === 'p2')
      .reply(200, {items: [{name: 'flatcar-c', creationTimestamp: '2026-03-01T00:00:00Z'}]})
    const context = testContext(NOW)
    const images = await listImages({compute: await api(context), prefix: 'flatcar-'})
    expect(images.map((i) => i.name)).toEqual(['flatcar-a', 'flatcar-b', 'flatcar-c'])
    expect(
      context.lines.filter((l) => l.includes('gce GET /compute/v1/projects/mantle-test/global/images: 429 Rate Limit Exceeded; attempt 2')),
    ).toHaveLength(1)
  })

  it('deletes images and reports the missing ones; deprecates with a replacement', async () => {
    nock(GCE).get(`${P}/global/images/old`).reply(200, {name: 'old', status: 'READY'})
    nock(GCE).get(`${P}/global/images/gone`).reply(404, {})
    nock(GCE).delete(`${P}/global/images/old`).reply(200, {name: 'op-d', status: 'DONE'})
    const context = testContext(NOW)
    expect(await deleteImages({compute: await api(context), names: ['old', 'gone'], context})).toEqual({
      deleted: ['old'],
      missing: ['gone'],
    })

    const body: unknown[] = []
    nock(GCE).get(`${P}/global/images/v1`).reply(200, {name: 'v1', status: 'READY'})
    nock(GCE)
      .post(`${P}/global/images/v1/deprecate`, (b) => (body.push(b), true))
      .reply(200, {name: 'op-x', status: 'DONE'})
    expect(await deprecateImage({compute: await api(context), name: 'v1', state: 'DEPRECATED', replacement: 'v2', context})).toEqual({
      name: 'v1',
      state: 'DEPRECATED',
    })
    expect(body[0]).toEqual({state: 'DEPRECATED', replacement: 'projects/mantle-test/global/images/v2'})
  })

  it('creates labelled instances and waits for their zonal operations', async () => {
    const bodies: Array<{name: string; labels: unknown; disks: unknown; networkInterfaces: unknown; metadata: unknown}> = []
    nock(GCE)
      .post(`${P}/zones/us-central1-a/instances`, (b) => (bodies.push(b), true))
      .times(2)
      // A reply function that takes the body hangs under got + nock; the matcher above records it instead.
      .reply(200, () => ({name: `op-${bodies.at(-1)!.name}`, status: 'RUNNING', zone: `${GCE}${P}/zones/us-central1-a`}))
    nock(GCE)
      .get(/\/zones\/us-central1-a\/operations\/op-kola-[0-9a-f]{8}$/)
      .times(2)
      .reply(200, {status: 'DONE', name: 'x'})
    nock(GCE)
      .get(`${P}/aggregated/instances`)
      .query(true)
      .reply(200, () => ({
        items: {
          'zones/us-central1-a': {
            instances: bodies.map((b) => ({
              name: b.name,
              zone: `${GCE}${P}/zones/us-central1-a`,
              status: 'RUNNING',
              networkInterfaces: [{accessConfigs: [{natIP: '203.0.113.7'}]}],
            })),
          },
        },
      }))
    const context = testContext(NOW)
    const created = await createInstances({
      compute: await api(context),
      zone: 'us-central1-a',
      count: 2,
      basename: 'kola',
      image: 'flatcar-4000',
      machineType: 'n1-standard-1',
      diskType: 'pd-ssd',
      network: 'default',
      userData: '{"ignition":{"version":"3.3.0"}}',
      context,
    })
    expect(created).toHaveLength(2)
    expect(created[0]).toMatchObject({zone: 'us-central1-a', status: 'RUNNING', ip: '203.0.113.7'})
    expect(bodies[0]).toMatchObject({
      labels: {'created-by': 'mantle'},
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            sourceImage: 'projects/mantle-test/global/images/flatcar-4000',
            diskType: 'zones/us-central1-a/diskTypes/pd-ssd',
          },
        },
      ],
      networkInterfaces: [{network: 'global/networks/default', accessConfigs: [{type: 'ONE_TO_ONE_NAT', name: 'External NAT'}]}],
      metadata: {items: [{key: 'user-data', value: '{"ignition":{"version":"3.3.0"}}'}]},
    })
  })

  it('Given --gce-gvnic or not, when kola launches an instance, then its NIC type is GVNIC or VIRTIO_NET, as flatcar/mantle platform/api/gcloud/compute.go sets NicType', async () => {
    const bodies: Array<{name: string; networkInterfaces: Array<Record<string, unknown>>}> = []
    nock(GCE)
      .post(`${P}/zones/us-central1-a/instances`, (b) => (bodies.push(b), true))
      .times(2)
      .reply(200, () => ({name: `op-${bodies.at(-1)!.name}`, status: 'DONE', zone: `${GCE}${P}/zones/us-central1-a`}))
    const context = testContext(NOW)
    const compute = await api(context)
    const launch = (name: string, gvnic: boolean | undefined) =>
      launchGceInstance(
        compute,
        {
          zone: 'us-central1-a',
          name,
          runId: 'kola-0123abcd',
          image: 'projects/mantle-test/global/images/flatcar-4000',
          machineType: 'n1-standard-1',
          diskType: 'pd-ssd',
          network: 'default',
          userData: '{}',
          gvnic,
        },
        context,
      )
    await launch('kola-0123abcd-gvnic-0', true)
    await launch('kola-0123abcd-virtio-0', undefined)
    expect(bodies.map((b) => b.networkInterfaces)).toEqual([
      [{network: 'global/networks/default', accessConfigs: [{type: 'ONE_TO_ONE_NAT', name: 'External NAT'}], nicType: 'GVNIC'}],
      [{network: 'global/networks/default', accessConfigs: [{type: 'ONE_TO_ONE_NAT', name: 'External NAT'}], nicType: 'VIRTIO_NET'}],
    ])
  })

  it('gc deletes only our instances older than the duration', async () => {
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
    const zone = `${GCE}${P}/zones/us-central1-a`
    nock(GCE)
      .get(`${P}/aggregated/instances`)
      .query((q) => q.filter === 'labels.created-by = "mantle"')
      .reply(200, {
        items: {
          'zones/us-central1-a': {
            instances: [
              {name: 'kola-old', zone, labels: {'created-by': 'mantle'}, creationTimestamp: hoursAgo(6)},
              {name: 'kola-new', zone, labels: {'created-by': 'mantle'}, creationTimestamp: hoursAgo(1)},
              {name: 'kola-theirs', zone, labels: {'created-by': 'someone'}, creationTimestamp: hoursAgo(50)},
            ],
          },
          'zones/europe-west1-b': {warning: {code: 'NO_RESULTS_ON_PAGE'}},
        },
      })
    nock(GCE).delete(`${P}/zones/us-central1-a/instances/kola-old`).reply(200, {name: 'op-del', status: 'DONE'})
    const context = testContext(NOW)
    const result = await destroyInstances({compute: await api(context), olderThanMs: 5 * 3_600_000, context})
    expect(result.deleted.map((i) => i.name)).toEqual(['kola-old'])
  })

  it('makes an image public: reads the policy, keeps its bindings, adds the public one with the etag read', async () => {
    // Given an image shared with one group already
    const policy = {
      version: 1,
      etag: 'BwXhqDz8oZA=',
      bindings: [
        {role: 'roles/compute.imageUser', members: ['group:partners@example.com']},
        {role: 'roles/compute.admin', members: ['user:ops@example.com']},
      ],
    }
    nock(GCE).get(`${P}/global/images/img/getIamPolicy`).matchHeader('authorization', 'Bearer gce-test-token').reply(200, policy)
    const sent: unknown[] = []
    nock(GCE)
      .post(`${P}/global/images/img/setIamPolicy`, (b) => (sent.push(b), true))
      .reply(200, {...policy, etag: 'BwXhqDz8oZB='})
    // When it is made public
    const context = testContext(NOW)
    expect(await makeImagePublic({compute: await api(context), name: 'img', context})).toEqual({name: 'img', changed: true})
    // Then one setIamPolicy carried the whole policy, the member added to the existing role binding, and the etag read
    expect(sent).toEqual([
      {
        policy: {
          version: 1,
          etag: 'BwXhqDz8oZA=',
          bindings: [
            {role: 'roles/compute.imageUser', members: ['group:partners@example.com', 'allAuthenticatedUsers']},
            {role: 'roles/compute.admin', members: ['user:ops@example.com']},
          ],
        },
      },
    ])
  })

  it('an image without a policy gets a new binding; a public image is left alone (no setIamPolicy)', async () => {
    const sent: unknown[] = []
    nock(GCE).get(`${P}/global/images/img/getIamPolicy`).reply(200, {version: 1, etag: 'ACAB'})
    nock(GCE)
      .post(`${P}/global/images/img/setIamPolicy`, (b) => (sent.push(b), true))
      .reply(200, {})
    const context = testContext(NOW)
    const compute = await api(context)
    await makeImagePublic({compute, name: 'img', context})
    expect(sent).toEqual([
      {policy: {version: 1, etag: 'ACAB', bindings: [{role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']}]}},
    ])

    nock(GCE)
      .get(`${P}/global/images/img/getIamPolicy`)
      .times(2)
      .reply(200, {etag: 'ACAC', bindings: [{role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']}]})
    expect(await isImagePublic({compute, name: 'img'})).toBe(true)
    expect(await makeImagePublic({compute, name: 'img', context})).toEqual({name: 'img', changed: false})
  })

  it('a policy changed meanwhile (412 on the etag) is read again and written once more', async () => {
    nock(GCE).get(`${P}/global/images/img/getIamPolicy`).reply(200, {etag: 'old'})
    nock(GCE)
      .post(`${P}/global/images/img/setIamPolicy`, {
        policy: {etag: 'old', bindings: [{role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']}]},
      })
      .reply(412, {error: {code: 412, message: 'Precondition Failed'}})
    nock(GCE)
      .get(`${P}/global/images/img/getIamPolicy`)
      .reply(200, {etag: 'new', bindings: [{role: 'roles/compute.viewer', members: ['user:a@example.com']}]})
    nock(GCE)
      .post(`${P}/global/images/img/setIamPolicy`, {
        policy: {
          etag: 'new',
          bindings: [
            {role: 'roles/compute.viewer', members: ['user:a@example.com']},
            {role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']},
          ],
        },
      })
      .reply(200, {})
    const context = testContext(NOW)
    expect(await makeImagePublic({compute: await api(context), name: 'img', context})).toEqual({name: 'img', changed: true})
  })

  it('a key Google refuses is a credentials error (exit 2)', async () => {
    nock('https://oauth2.googleapis.com').post('/token').reply(400, {error: 'invalid_grant', error_description: 'Invalid JWT Signature.'})
    const context = testContext(NOW)
    const error = await listImages({compute: await gceComputeApi({auth, pollIntervalMs: 0, ...context})}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(/^gce: Google refused the credentials \(invalid_grant/)
  })
})
