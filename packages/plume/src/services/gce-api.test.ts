import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {gcloud} from '@mantle/cloud'
import {rejection, testContext, testServiceAccount, useRecordedHttp} from '@mantle/cloud/testing'
import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {GceSpec} from '../config/types.js'
import {runSteps} from '../plan/step.js'
import type {StageContext} from './context.js'
import {boardArch} from './boards.js'
import {FLATCAR_GUEST_OS_FEATURES, gceDescription, gceImageName, gceReleaseSteps} from './gce.js'
import {gceImagesApi} from './gce-api.js'

/**
 * plume's GCE adapter against the Compute REST API's request shapes (nock):
 * each request's method, path, query and body, as Compute Engine v1 takes them.
 */
const GCE = 'https://compute.googleapis.com'
const PROJECT = 'plume-test'
const P = `/compute/v1/projects/${PROJECT}`
const NOW = new Date('2026-11-21T12:00:00Z')
const auth = testServiceAccount(PROJECT)
const FAMILY_QUERY = {filter: 'name eq "flatcar-test-.*"', maxResults: '500'}

/** The adapter over one Compute client, which trades its JWT for a token once. */
function adapter() {
  nock('https://oauth2.googleapis.com').post('/token').reply(200, {access_token: 'gce-test-token', expires_in: 3600, token_type: 'Bearer'})
  const context = testContext(NOW)
  let compute: Promise<gcloud.GceComputeApi> | undefined
  return gceImagesApi(() => (compute ??= gcloud.gceComputeApi({auth, project: PROJECT, ...context})), context)
}

/** Records the JSON body of each matching request (a reply function that reads the body hangs under got + nock). */
function bodies(): {push: (b: unknown) => true; all: unknown[]} {
  const all: unknown[] = []
  return {all, push: (b) => (all.push(b), true)}
}

describe('gceImagesApi over the Compute REST API (recorded HTTP)', () => {
  useRecordedHttp()

  it('lists a family with the name filter and keeps only its members', async () => {
    nock(GCE)
      .get(`${P}/global/images`)
      .query(FAMILY_QUERY)
      .matchHeader('authorization', 'Bearer gce-test-token')
      .reply(200, {
        items: [
          {
            name: 'flatcar-test-1-2-3-v20261121',
            family: 'flatcar-test',
            status: 'READY',
            creationTimestamp: '2026-11-21T10:00:00.000-08:00',
          },
          {
            name: 'flatcar-test-1-2-2-v20261001',
            family: 'flatcar-test',
            status: 'READY',
            creationTimestamp: '2026-10-01T10:00:00.000-07:00',
            deprecated: {state: 'DEPRECATED', replacement: `${GCE}${P}/global/images/flatcar-test-1-2-3-v20261121`},
          },
          {name: 'flatcar-test-arm-1-2-3', family: 'flatcar-test-arm', status: 'READY', creationTimestamp: '2026-11-21T10:00:00.000-08:00'},
        ],
      })
    const images = await adapter().listFamily(PROJECT, 'flatcar-test')
    expect(images).toEqual([
      {
        name: 'flatcar-test-1-2-2-v20261001',
        status: 'READY',
        family: 'flatcar-test',
        creationTimestamp: '2026-10-01T10:00:00.000-07:00',
        deprecated: {state: 'DEPRECATED', replacement: `${GCE}${P}/global/images/flatcar-test-1-2-3-v20261121`},
      },
      {
        name: 'flatcar-test-1-2-3-v20261121',
        status: 'READY',
        family: 'flatcar-test',
        creationTimestamp: '2026-11-21T10:00:00.000-08:00',
        deprecated: undefined,
      },
    ])
  })

  it('creates an image from the gs:// tarball and waits while it is PENDING until READY', async () => {
    const inserted = bodies()
    const name = 'flatcar-test-1-2-3-v20261121'
    nock(GCE)
      .get(`${P}/global/images/${name}`)
      .reply(404, {error: {code: 404, message: 'not found'}})
    nock(GCE).post(`${P}/global/images`, inserted.push).reply(200, {name: 'operation-insert', status: 'RUNNING'})
    nock(GCE).get(`${P}/global/operations/operation-insert`).reply(200, {name: 'operation-insert', status: 'RUNNING'})
    nock(GCE).get(`${P}/global/operations/operation-insert`).reply(200, {name: 'operation-insert', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/${name}`).times(2).reply(200, {name, status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, {name, status: 'READY'})
    await adapter().createImage(PROJECT, {
      name,
      family: 'flatcar-test',
      description: 'Flatcar test channel',
      licenses: ['projects/plume-test/global/licenses/flatcar'],
      sourceUri: 'gs://builds/amd64-usr/1.2.3/flatcar_production_gce.tar.gz',
      guestOsFeatures: [],
      architecture: 'X86_64',
    })
    expect(inserted.all).toEqual([
      {
        name,
        family: 'flatcar-test',
        description: 'Flatcar test channel',
        licenses: ['projects/plume-test/global/licenses/flatcar'],
        rawDisk: {source: 'https://storage.googleapis.com/builds/amd64-usr/1.2.3/flatcar_production_gce.tar.gz'},
        labels: {'created-by': 'mantle'},
        architecture: 'X86_64',
      },
    ])
  })

  for (const board of ['amd64-usr', 'arm64-usr'] as const) {
    it(`${board}: images.insert carries Flatcar's guest OS features and the board's architecture`, async () => {
      // The request as plume's release builds it for the board (gce.ts), from the staged verified tarball
      const arch = boardArch(board === 'arm64-usr' ? 'arm64' : 'amd64')
      const spec: GceSpec = {
        project: PROJECT,
        family: 'flatcar-test',
        image: 'flatcar_production_gce.tar.gz',
        description: 'Flatcar test channel',
        licenses: ['projects/plume-test/global/licenses/flatcar'],
      }
      const name = gceImageName(spec, '1.2.3', arch)
      const inserted = bodies()
      nock(GCE)
        .get(`${P}/global/images/${name}`)
        .reply(404, {error: {code: 404, message: 'not found'}})
      nock(GCE).post(`${P}/global/images`, inserted.push).reply(200, {name: 'operation-insert', status: 'DONE'})
      nock(GCE).get(`${P}/global/images/${name}`).reply(200, {name, status: 'READY'})
      await adapter().createImage(PROJECT, {
        name,
        family: spec.family,
        description: gceDescription(spec, '1.2.3', board, NOW),
        licenses: spec.licenses,
        sourceUri: `gs://staging/gce-staging/test/${board}/1.2.3/flatcar_production_gce.tar.gz`,
        guestOsFeatures: FLATCAR_GUEST_OS_FEATURES,
        architecture: arch.gce,
      })
      expect(inserted.all).toEqual([
        {
          // Flatcar's name: <family>-<version>[-arm64] (doGCE, cmd/plume/release.go)
          name: board === 'arm64-usr' ? 'flatcar-test-1-2-3-arm64' : 'flatcar-test-1-2-3',
          family: 'flatcar-test',
          description: `Flatcar test channel, 1.2.3, ${board} published on 2026-11-21`,
          licenses: ['projects/plume-test/global/licenses/flatcar'],
          rawDisk: {source: `https://storage.googleapis.com/staging/gce-staging/test/${board}/1.2.3/flatcar_production_gce.tar.gz`},
          labels: {'created-by': 'mantle'},
          // CreateImage in platform/api/gcloud/image.go: these three, in this order
          guestOsFeatures: [{type: 'VIRTIO_SCSI_MULTIQUEUE'}, {type: 'UEFI_COMPATIBLE'}, {type: 'GVNIC'}],
          architecture: board === 'arm64-usr' ? 'ARM64' : 'X86_64',
        },
      ])
    })
  }

  it('an image that turns FAILED while being created is an error naming it', async () => {
    const name = 'flatcar-test-1-2-3-v20261121'
    nock(GCE).get(`${P}/global/images/${name}`).reply(404, {})
    nock(GCE).post(`${P}/global/images`).reply(200, {name: 'operation-insert', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, {name, status: 'PENDING'})
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, {name, status: 'FAILED'})
    const error = await rejection(
      adapter().createImage(PROJECT, {
        name,
        family: 'flatcar-test',
        sourceUri: 'gs://builds/x.tar.gz',
        guestOsFeatures: [],
        architecture: 'X86_64',
      }),
    )
    expect(error.message).toBe(`gce: image ${name} FAILED`)
  })

  it('deprecates with the full replacement path, and deletes, each waiting for its operation', async () => {
    const deprecation = bodies()
    nock(GCE).get(`${P}/global/images/old`).reply(200, {name: 'old', status: 'READY'})
    nock(GCE).post(`${P}/global/images/old/deprecate`, deprecation.push).reply(200, {name: 'operation-dep', status: 'RUNNING'})
    nock(GCE).get(`${P}/global/operations/operation-dep`).reply(200, {name: 'operation-dep', status: 'DONE'})
    nock(GCE).get(`${P}/global/images/older`).reply(200, {name: 'older', status: 'READY'})
    nock(GCE).delete(`${P}/global/images/older`).reply(200, {name: 'operation-del', status: 'RUNNING'})
    nock(GCE).get(`${P}/global/operations/operation-del`).reply(200, {name: 'operation-del', status: 'DONE'})
    const api = adapter()
    await api.deprecate(PROJECT, 'old', 'new')
    await api.deleteImage(PROJECT, 'older')
    expect(deprecation.all).toEqual([{state: 'DEPRECATED', replacement: `projects/${PROJECT}/global/images/new`}])
  })

  it('reads the IAM policy to tell a public image, and makes one public keeping its bindings and etag', async () => {
    const set = bodies()
    nock(GCE)
      .get(`${P}/global/images/img/getIamPolicy`)
      .times(2)
      .reply(200, {version: 1, etag: 'BwX1', bindings: [{role: 'roles/compute.imageUser', members: ['user:qa@example.com']}]})
    nock(GCE).post(`${P}/global/images/img/setIamPolicy`, set.push).reply(200, {version: 1, etag: 'BwX2'})
    const api = adapter()
    expect(await api.isPublic(PROJECT, 'img')).toBe(false)
    await api.makePublic(PROJECT, 'img')
    expect(set.all).toEqual([
      {
        policy: {
          version: 1,
          etag: 'BwX1',
          bindings: [{role: 'roles/compute.imageUser', members: ['user:qa@example.com', 'allAuthenticatedUsers']}],
        },
      },
    ])
  })
})

describe('plume release on GCE over the Compute REST API (recorded HTTP)', () => {
  useRecordedHttp()
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-gce-'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })
  const spec = (): GceSpec => ({
    project: PROJECT,
    family: 'flatcar-test',
    image: 'flatcar_production_gce.tar.gz',
    public: true,
    staging: join(dir, 'staging'),
  })
  const name = 'flatcar-test-1-2-3'
  const image = {name, family: 'flatcar-test', status: 'READY', architecture: 'X86_64', creationTimestamp: '2026-11-21T10:00:00.000-08:00'}
  const older = {
    name: 'flatcar-test-1-2-2',
    family: 'flatcar-test',
    status: 'READY',
    creationTimestamp: '2026-10-01T10:00:00.000-07:00',
    deprecated: {state: 'DEPRECATED', replacement: `${GCE}${P}/global/images/${name}`},
  }
  const publicPolicy = {version: 1, etag: 'BwX3', bindings: [{role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']}]}
  const ctx = () =>
    ({
      release: {channel: 'test', board: 'amd64-usr', version: '1.2.3', spec: {boardSettings: {'amd64-usr': {arch: 'amd64'}}}},
      source: {
        url: 'gs://builds/boards/amd64-usr/1.2.3/',
        prefix: 'boards/amd64-usr/1.2.3/',
        bucket: {scheme: 'gs', urlOf: (key: string) => `gs://builds/${key}`},
      },
      images: new Map(),
      storage: {cwd: dir},
      force: false,
      logger: testContext().logger,
      signal: new AbortController().signal,
      pollIntervalMs: 0,
      now: () => NOW,
    }) as unknown as StageContext
  const steps = () => {
    const api = adapter()
    return gceReleaseSteps({ctx: ctx(), spec: spec(), api: async () => api})
  }
  const run = (dryRun: boolean) => runSteps(steps(), {dryRun, signal: new AbortController().signal, logger: testContext().logger})

  it('makes the READY image public: one getIamPolicy to check, one more and a setIamPolicy to act', async () => {
    // Given the image of the version, READY, the older one deprecated in its favour, not public yet
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, image).persist()
    nock(GCE)
      .get(`${P}/global/images`)
      .query(FAMILY_QUERY)
      .reply(200, {items: [older, image]})
      .persist()
    nock(GCE).get(`${P}/global/images/${name}/getIamPolicy`).times(2).reply(200, {version: 1, etag: 'BwX2'})
    const set = bodies()
    nock(GCE).post(`${P}/global/images/${name}/setIamPolicy`, set.push).reply(200, publicPolicy)
    // When release runs its GCE steps
    const report = await run(false)
    // Then only the public step had work, and it sent the binding with the etag it read
    expect(report.performed.map((s) => s.actions)).toEqual([[`make image ${name} public`]])
    expect(set.all).toEqual([
      {policy: {version: 1, etag: 'BwX2', bindings: [{role: 'roles/compute.imageUser', members: ['allAuthenticatedUsers']}]}},
    ])
  })

  it('plan: a published image leaves nothing to do, and only reads', async () => {
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, image).persist()
    nock(GCE)
      .get(`${P}/global/images`)
      .query(FAMILY_QUERY)
      .reply(200, {items: [older, image]})
      .persist()
    nock(GCE).get(`${P}/global/images/${name}/getIamPolicy`).reply(200, publicPolicy)
    const report = await run(true)
    expect(report.performed).toEqual([])
    expect(report.skipped).toEqual(['gce/staged-image', 'gce/image', 'gce/staged-object', 'gce/deprecate-older', 'gce/public'])
  })

  it('deprecates the older ACTIVE image of its architecture, and leaves OBSOLETE, DELETED and other architectures alone', async () => {
    // Given older images: one ACTIVE, one OBSOLETE, one DELETED, one ARM64 ACTIVE
    const active = {name: 'flatcar-test-1-2-1', family: 'flatcar-test', status: 'READY', creationTimestamp: '2026-09-01T10:00:00.000-07:00'}
    const obsolete = {
      name: 'flatcar-test-1-2-0',
      family: 'flatcar-test',
      status: 'READY',
      creationTimestamp: '2026-08-01T10:00:00.000-07:00',
      deprecated: {state: 'OBSOLETE'},
    }
    const deleted = {
      name: 'flatcar-test-1-1-9',
      family: 'flatcar-test',
      status: 'READY',
      creationTimestamp: '2026-07-01T10:00:00.000-07:00',
      deprecated: {state: 'DELETED'},
    }
    const arm = {
      name: 'flatcar-test-1-2-1-arm64',
      family: 'flatcar-test',
      status: 'READY',
      architecture: 'ARM64',
      creationTimestamp: '2026-09-01T10:00:00.000-07:00',
    }
    nock(GCE).get(`${P}/global/images/${name}`).reply(200, image).persist()
    nock(GCE)
      .get(`${P}/global/images`)
      .query(FAMILY_QUERY)
      .reply(200, {items: [deleted, obsolete, active, arm, image]})
      .persist()
    nock(GCE).get(`${P}/global/images/${name}/getIamPolicy`).reply(200, publicPolicy)
    const deprecation = bodies()
    nock(GCE).get(`${P}/global/images/${active.name}`).reply(200, active)
    nock(GCE).post(`${P}/global/images/${active.name}/deprecate`, deprecation.push).reply(200, {name: 'operation-dep', status: 'DONE'})
    // When release runs
    const report = await run(false)
    // Then only the ACTIVE x86 image was deprecated, in favour of the new one
    expect(report.performed.map((s) => s.actions)).toEqual([[`deprecate image ${active.name} in favour of ${name}`]])
    expect(deprecation.all).toEqual([{state: 'DEPRECATED', replacement: `projects/${PROJECT}/global/images/${name}`}])
  })
})
