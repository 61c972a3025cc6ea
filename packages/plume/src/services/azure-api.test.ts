import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {azure} from '@mantle/cloud'
import {testContext, useRecordedHttp} from '@mantle/cloud/testing'
import {Logger, Redactor} from '@mantle/kit'
import {serviceEnv} from '@mantle/test-utils'
import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {galleryDefinition, galleryFeatures} from './azure.js'
import {azureImagesApi, UPLOADED_SUFFIX} from './azure-api.js'
import {boardArch} from './boards.js'

const need = ['MANTLE_TEST_AZURE_CONNECTION_STRING', 'MANTLE_TEST_AZURE_CONTAINER']
const {available} = serviceEnv(need)

/** The blob half of plume's Azure calls, on Azurite: a page blob counts as uploaded only once the upload finished. */
describe.skipIf(!available)('azureImagesApi blobs (Azurite)', () => {
  let dir: string
  let vhd: string
  const container = process.env.MANTLE_TEST_AZURE_CONTAINER!
  const blob = `plume-${Date.now().toString(36)}/flatcar-linux-1.2.3-test-amd64.vhd`
  const context = {logger: new Logger({level: 'error', stream: process.stderr, redactor: new Redactor()}), pollIntervalMs: 0}
  const session = azure.connectAzure({
    auth: {
      principal: undefined,
      subscriptionId: 'sub',
      cloud: undefined,
      source: 'test',
      storage: {connectionString: process.env.MANTLE_TEST_AZURE_CONNECTION_STRING!},
    },
    context,
  })
  const spec = {
    name: 'flatcar-linux',
    image: 'x.vhd.bz2',
    storageAccount: 'devstoreaccount1',
    resourceGroup: 'rg',
    container,
    environments: [{name: 'AzurePublicCloud'}],
  }
  const api = azureImagesApi(session, spec, 'test', context)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-azure-'))
    vhd = join(dir, 'disk.vhd')
    // A fixed VHD, as the Azure image of a build is.
    const raw = Buffer.alloc(2 * 1024 * 1024)
    raw.write('plume test disk', 4096)
    await writeFile(join(dir, 'disk.raw'), raw)
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', join(dir, 'disk.raw'), vhd])
  })
  afterAll(async () => {
    for (const name of [blob, blob + UPLOADED_SUFFIX]) await (await session.pageBlob(container, name)).delete().catch(() => undefined)
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('is absent, then partial when a page blob exists without the marker, then complete after an upload', async () => {
    expect(await api.blobState(container, blob)).toBe('absent')
    // Given a page blob at full size, as an upload killed half-way leaves it
    await (await session.pageBlob(container, blob)).create(2 * 1024 * 1024 + 512)
    expect(await api.blobState(container, blob)).toBe('partial')
    // When the VHD is uploaded
    await api.uploadVhd(container, blob, vhd)
    // Then the blob is complete and holds the VHD's bytes
    expect(await api.blobState(container, blob)).toBe('complete')
    const props = await (await session.pageBlob(container, blob)).getProperties()
    expect(props.contentLength).toBe((await readFile(vhd)).length)
    expect(await api.blobUrl(container, blob)).toMatch(new RegExp(`/${container}/`))
  })

  it('signs a read-only SAS URL that reads the blob without credentials, lists VHDs without their markers, deletes both', async () => {
    // Given the uploaded VHD of the test above
    if ((await api.blobState(container, blob)) !== 'complete') await api.uploadVhd(container, blob, vhd)
    // When a SAS URL is signed for a day
    const url = await api.sasUrl(container, blob, new Date(Date.now() + 86_400_000))
    // Then it grants read only, and an anonymous GET of it reads the VHD's bytes
    expect(new URL(url).searchParams.get('sp')).toBe('r')
    const response = await fetch(url, {headers: {'x-ms-range': 'bytes=4096-4110'}})
    expect(await response.text()).toBe('plume test disk')
    // and a write through it is refused
    expect((await fetch(url, {method: 'DELETE'})).status).toBe(403)
    // and the listing names the VHD, not its upload marker; deleting takes both
    const prefix = blob.split('/')[0]!
    expect((await api.listBlobs(container)).map((b) => b.name).filter((n) => n.startsWith(prefix))).toEqual([blob])
    await api.deleteBlob(container, blob)
    expect(await api.blobState(container, blob)).toBe('absent')
    expect((await api.listBlobs(container)).map((b) => b.name).filter((n) => n.startsWith(prefix))).toEqual([])
  })
})

/**
 * The ARM half of plume's Azure calls against Resource Manager's request
 * shapes (nock): method, path, api-version and body of each request; and the
 * blob probes against the storage account.
 */
describe('azureImagesApi over Resource Manager (recorded HTTP)', () => {
  useRecordedHttp()
  const ARM = 'https://management.azure.com'
  const SUB = '00000000-1111-2222-3333-444444444444'
  const RG = `/subscriptions/${SUB}/resourceGroups/flatcar/providers/Microsoft.Compute`
  const G = `${RG}/galleries/flatcar_test`
  const NAME = 'flatcar-linux-1.2.3-test-amd64'
  const apiVersion = (q: Record<string, unknown>) => typeof q['api-version'] === 'string' && Object.keys(q).length === 1
  const credential = {getToken: async () => ({token: 'test-arm-token', expiresOnTimestamp: Date.now() + 3_600_000})}
  const spec = {
    name: 'flatcar-linux',
    offer: 'Flatcar',
    image: 'x.vhd.bz2',
    storageAccount: 'flatcartest',
    resourceGroup: 'flatcar',
    container: 'publish',
    environments: [{name: 'AzurePublicCloud'}],
  }
  const key = Buffer.from('plume-test-account-key').toString('base64')
  const community = {
    publisherUri: 'https://www.flatcar.org',
    publisherContact: 'maintainers@flatcar.org',
    eula: 'https://www.flatcar.org/eula',
    publicNamePrefix: 'flatcar',
  }
  const adapter = () => {
    const context = testContext(new Date('2026-11-21T12:00:00Z'))
    const session = azure.connectAzure({
      auth: {
        principal: undefined,
        subscriptionId: SUB,
        cloud: undefined,
        source: 'test',
        storage: {
          connectionString: `DefaultEndpointsProtocol=https;AccountName=flatcartest;AccountKey=${key};EndpointSuffix=core.windows.net`,
        },
      },
      context,
    })
    const compute = azure.azureComputeApi({credential, subscriptionId: SUB, pollIntervalMs: 0, ...context})
    return azureImagesApi({...session, compute: () => compute}, spec, 'test', context)
  }
  const bodies = () => {
    const all: unknown[] = []
    return {all, push: (b: unknown) => (all.push(b), true as const)}
  }

  it('a blob is absent, partial without its marker, complete with it (HEAD each)', async () => {
    const BLOB = 'https://flatcartest.blob.core.windows.net'
    nock(BLOB).head(`/publish/${NAME}.vhd`).reply(404)
    nock(BLOB).head(`/publish/${NAME}.vhd`).reply(200, undefined, {'content-length': '1048576', 'x-ms-blob-type': 'PageBlob'})
    nock(BLOB).head(`/publish/${NAME}.vhd${UPLOADED_SUFFIX}`).reply(404)
    nock(BLOB)
      .head(`/publish/${NAME}.vhd`)
      .matchHeader('authorization', /^SharedKey flatcartest:/)
      .reply(200, undefined, {'x-ms-blob-type': 'PageBlob'})
    nock(BLOB).head(`/publish/${NAME}.vhd${UPLOADED_SUFFIX}`).reply(200, undefined, {'x-ms-blob-type': 'PageBlob'})
    const api = adapter()
    expect(await api.blobState('publish', `${NAME}.vhd`)).toBe('absent')
    expect(await api.blobState('publish', `${NAME}.vhd`)).toBe('partial')
    expect(await api.blobState('publish', `${NAME}.vhd`)).toBe('complete')
    expect(await api.blobUrl('publish', `${NAME}.vhd`)).toBe(`https://flatcartest.blob.core.windows.net/publish/${NAME}.vhd`)
  })

  it('tells an existing image and creates a missing one from the blob (GET, then PUT)', async () => {
    const put = bodies()
    nock(ARM)
      .get(`${RG}/images/${NAME}`)
      .query(apiVersion)
      .reply(200, {id: `${RG}/images/${NAME}`, name: NAME, location: 'westeurope'})
    nock(ARM)
      .get(`${RG}/images/${NAME}`)
      .query(apiVersion)
      .twice()
      .reply(404, {error: {code: 'ResourceNotFound', message: 'not found'}})
    nock(ARM)
      .put(`${RG}/images/${NAME}`, put.push)
      .query(apiVersion)
      .matchHeader('authorization', 'Bearer test-arm-token')
      .reply(200, {id: `${RG}/images/${NAME}`, name: NAME, location: 'westeurope', properties: {provisioningState: 'Succeeded'}})
    const api = adapter()
    expect(await api.imageExists('flatcar', NAME)).toBe(true)
    expect(await api.imageExists('flatcar', NAME)).toBe(false)
    await api.createImage('flatcar', NAME, 'westeurope', `https://flatcartest.blob.core.windows.net/publish/${NAME}.vhd`, 'V2')
    expect(put.all).toEqual([
      {
        location: 'westeurope',
        tags: {'created-by': 'mantle', 'created-at': '2026-11-21T12:00:00.000Z'},
        properties: {
          hyperVGeneration: 'V2',
          storageProfile: {
            osDisk: {
              osType: 'Linux',
              osState: 'Generalized',
              blobUri: `https://flatcartest.blob.core.windows.net/publish/${NAME}.vhd`,
              storageAccountType: 'Standard_LRS',
            },
          },
        },
      },
    ])
  })

  for (const board of [
    {arch: 'amd64', azure: 'x64', definition: 'flatcar-linux', sku: 'test'},
    {arch: 'arm64', azure: 'Arm64', definition: 'flatcar-linux-arm64', sku: 'test-arm64'},
  ] as const) {
    it(`${board.arch}: creates the community gallery, a ${board.azure} definition with Flatcar's features and the version replicated to every configured region`, async () => {
      const gallery = bodies()
      const definition = bodies()
      const version = bodies()
      const D = `${G}/images/${board.definition}`
      const blobUrl = `https://flatcartest.blob.core.windows.net/publish/flatcar-linux-1.2.3-test-${board.arch}.vhd`
      nock(ARM)
        .get(`${D}/versions/1.2.3`)
        .query(apiVersion)
        .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
      nock(ARM)
        .get(G)
        .query(apiVersion)
        .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
      nock(ARM)
        .put(G, gallery.push)
        .query(apiVersion)
        .reply(200, {id: G, name: 'flatcar_test', properties: {provisioningState: 'Succeeded'}})
      nock(ARM)
        .get(D)
        .query(apiVersion)
        .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
      nock(ARM)
        .put(D, definition.push)
        .query(apiVersion)
        .reply(200, {id: D, properties: {provisioningState: 'Succeeded'}})
      nock(ARM)
        .get(`${D}/versions/1.2.3`)
        .query(apiVersion)
        .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
      nock(ARM)
        .put(`${D}/versions/1.2.3`, version.push)
        .query(apiVersion)
        .reply(200, {id: `${D}/versions/1.2.3`, properties: {provisioningState: 'Succeeded'}})
      const api = adapter()
      expect(await api.galleryImageVersion('flatcar', 'flatcar_test', board.definition, '1.2.3')).toBeUndefined()
      // The request as plume's pre-release builds it for this board
      const azureSpec = {...spec, gallery: 'flatcar_test', replicationRegions: ['northeurope', 'eastus'], community}
      const def = galleryDefinition(azureSpec, 'test', boardArch(board.arch))
      await api.createGalleryImageVersion({
        resourceGroup: 'flatcar',
        gallery: 'flatcar_test',
        definition: def.name,
        version: '1.2.3',
        location: 'westeurope',
        blobUrl,
        regions: ['westeurope', 'northeurope', 'eastus'],
        architecture: boardArch(board.arch).azure,
        hyperVGeneration: 'V2',
        identifier: def.identifier,
        features: galleryFeatures(azureSpec),
        community,
      })
      // Azure shares with the community only a gallery created with a Community sharing profile (Microsoft.Compute/galleries 2023-07-03: sharingProfile.permissions, communityGalleryInfo)
      expect(gallery.all).toEqual([
        {
          location: 'westeurope',
          tags: {'created-by': 'mantle', 'created-at': '2026-11-21T12:00:00.000Z'},
          properties: {sharingProfile: {permissions: 'Community', communityGalleryInfo: community}},
        },
      ])
      // Flatcar's platform/api/azure/gallery-image-template.json: architecture from the board (azureArchForBoard, image.go), hyperVGeneration V2, and the three features
      expect(definition.all).toEqual([
        {
          location: 'westeurope',
          tags: {'created-by': 'mantle', 'created-at': '2026-11-21T12:00:00.000Z'},
          properties: {
            osType: 'Linux',
            osState: 'Generalized',
            hyperVGeneration: 'V2',
            architecture: board.azure,
            identifier: {publisher: 'Flatcar', offer: 'Flatcar', sku: board.sku},
            features: [
              {name: 'DiskControllerTypes', value: 'NVMe,SCSI'},
              {name: 'SecurityType', value: 'TrustedLaunchAndConfidentialVMSupported'},
              {name: 'IsAcceleratedNetworkSupported', value: 'true'},
            ],
          },
        },
      ])
      expect(version.all).toEqual([
        {
          location: 'westeurope',
          tags: {'created-by': 'mantle', 'created-at': '2026-11-21T12:00:00.000Z'},
          properties: {
            publishingProfile: {targetRegions: [{name: 'westeurope'}, {name: 'northeurope'}, {name: 'eastus'}]},
            storageProfile: {
              osDiskImage: {
                source: {
                  uri: blobUrl,
                  storageAccountId: `/subscriptions/${SUB}/resourceGroups/flatcar/providers/Microsoft.Storage/storageAccounts/flatcartest`,
                },
              },
            },
          },
        },
      ])
    })
  }

  it('tells a community gallery by its sharing profile, and shares one with POST share {EnableCommunity}', async () => {
    const share = bodies()
    nock(ARM)
      .get(G)
      .query(apiVersion)
      .reply(200, {
        id: G,
        name: 'flatcar_test',
        properties: {sharingProfile: {permissions: 'Community', communityGalleryInfo: {...community, communityGalleryEnabled: false}}},
      })
    nock(ARM).post(`${G}/share`, share.push).query(apiVersion).reply(200, {operationType: 'EnableCommunity'})
    nock(ARM)
      .get(G)
      .query(apiVersion)
      .reply(200, {
        id: G,
        name: 'flatcar_test',
        properties: {sharingProfile: {permissions: 'Community', communityGalleryInfo: {...community, communityGalleryEnabled: true}}},
      })
    const api = adapter()
    expect(await api.gallerySharing('flatcar', 'flatcar_test')).toEqual({permissions: 'Community', communityEnabled: false})
    await api.shareWithCommunity('flatcar', 'flatcar_test')
    expect(share.all).toEqual([{operationType: 'EnableCommunity'}])
    expect(await api.gallerySharing('flatcar', 'flatcar_test')).toEqual({permissions: 'Community', communityEnabled: true})
  })
})
