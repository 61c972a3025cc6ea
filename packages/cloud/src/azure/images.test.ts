import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext} from '../testing/fakes.js'
import {azureComputeApi, azureResourcesApi} from './arm.js'
import {createGalleryImage, createImage, gcAzure, replicateGalleryImage, shareGallery} from './images.js'

/**
 * Azure Resource Manager cannot run here: these tests answer its REST calls
 * with recorded shapes (nock) and check what the SDK sent.
 */
const ARM = 'https://management.azure.com'
const SUB = '00000000-1111-2222-3333-444444444444'
const RG = `/subscriptions/${SUB}/resourceGroups/images`
const credential = {getToken: async () => ({token: 'test-arm-token', expiresOnTimestamp: Date.now() + 3_600_000})}
const NOW = new Date('2026-05-01T12:00:00Z')

function api(context = testContext(NOW)) {
  return azureComputeApi({credential, subscriptionId: SUB, pollIntervalMs: 0, ...context})
}

describe('azure images over ARM (recorded HTTP)', () => {
  useRecordedHttp()

  it('creates a managed image from the blob and waits for the operation', async () => {
    const bodies: unknown[] = []
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`)
      .query(true)
      .reply(404, {error: {code: 'ResourceNotFound', message: 'not found'}})
    nock(ARM)
      .put(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`, (body) => (bodies.push(body), true))
      .query(true)
      .matchHeader('authorization', 'Bearer test-arm-token')
      .reply(
        201,
        {name: 'flatcar-4000', properties: {provisioningState: 'Creating'}},
        {
          'azure-asyncoperation': `${ARM}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/op-1?api-version=2024-11-01`,
        },
      )
    nock(ARM)
      .get(`/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/op-1`)
      .query(true)
      .reply(200, {status: 'InProgress'})
    nock(ARM)
      .get(`/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/op-1`)
      .query(true)
      .reply(200, {status: 'Succeeded'})
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`)
      .query(true)
      .reply(200, {
        id: `${RG}/providers/Microsoft.Compute/images/flatcar-4000`,
        name: 'flatcar-4000',
        location: 'westus',
        properties: {provisioningState: 'Succeeded'},
      })

    const context = testContext(NOW)
    const result = await createImage({
      compute: await api(context),
      resourceGroup: 'images',
      name: 'flatcar-4000',
      location: 'westus',
      blobUrl: 'https://acct.blob.core.windows.net/vhds/flatcar-4000.vhd',
      context,
    })

    expect(result).toEqual({id: `${RG}/providers/Microsoft.Compute/images/flatcar-4000`, name: 'flatcar-4000', created: true})
    expect(bodies[0]).toEqual({
      location: 'westus',
      tags: {'created-by': 'mantle', 'created-at': '2026-05-01T12:00:00.000Z'},
      properties: {
        hyperVGeneration: 'V1',
        storageProfile: {
          osDisk: {
            osType: 'Linux',
            osState: 'Generalized',
            blobUri: 'https://acct.blob.core.windows.net/vhds/flatcar-4000.vhd',
            storageAccountType: 'Standard_LRS',
          },
        },
      },
    })
  })

  it('keeps an existing image of the same name', async () => {
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`)
      .query(true)
      .reply(200, {id: 'image-id', name: 'flatcar-4000', location: 'westus'})
    const context = testContext(NOW)
    const result = await createImage({
      compute: await api(context),
      resourceGroup: 'images',
      name: 'flatcar-4000',
      location: 'westus',
      blobUrl: 'u',
      context,
    })
    expect(result).toEqual({id: 'image-id', name: 'flatcar-4000', created: false})
  })

  it('retries a throttled call (429) and then succeeds', async () => {
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`)
      .query(true)
      .reply(429, {error: {code: 'TooManyRequests', message: 'slow down'}}, {'retry-after': '0'})
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/flatcar-4000`)
      .query(true)
      .reply(200, {id: 'image-id', name: 'flatcar-4000', location: 'westus'})
    const context = testContext(NOW)
    const result = await createImage({
      compute: await api(context),
      resourceGroup: 'images',
      name: 'flatcar-4000',
      location: 'westus',
      blobUrl: 'u',
      context,
    })
    expect(result.created).toBe(false)
    expect(context.lines.some((l) => l.includes('azure images.get') && l.includes('attempt 2'))).toBe(true)
  })

  it('refuses credentials ARM rejects (exit 2)', async () => {
    nock(ARM)
      .get(`${RG}/providers/Microsoft.Compute/images/x`)
      .query(true)
      .reply(401, {error: {code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}})
    const context = testContext(NOW)
    const error = await createImage({
      compute: await api(context),
      resourceGroup: 'images',
      name: 'x',
      location: 'westus',
      blobUrl: 'u',
      context,
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      'azure images.get: Azure refused the credentials (InvalidAuthenticationToken: The access token is invalid.)',
    )
  })

  it('creates gallery, definition and version, skipping what exists', async () => {
    const G = `${RG}/providers/Microsoft.Compute/galleries/flatcar`
    const versionBody: unknown[] = []
    nock(ARM).get(G).query(true).reply(200, {id: G, name: 'flatcar', location: 'westus'})
    nock(ARM)
      .get(`${G}/images/stable`)
      .query(true)
      .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
    nock(ARM)
      .put(`${G}/images/stable`)
      .query(true)
      .reply(200, {id: `${G}/images/stable`, name: 'stable', properties: {provisioningState: 'Succeeded'}})
    nock(ARM)
      .get(`${G}/images/stable/versions/4000.0.0`)
      .query(true)
      .reply(404, {error: {code: 'ResourceNotFound', message: 'nope'}})
    nock(ARM)
      .put(`${G}/images/stable/versions/4000.0.0`, (b) => (versionBody.push(b), true))
      .query(true)
      .reply(200, {id: `${G}/images/stable/versions/4000.0.0`, name: '4000.0.0', properties: {provisioningState: 'Succeeded'}})

    const context = testContext(NOW)
    const result = await createGalleryImage({
      compute: await api(context),
      resourceGroup: 'images',
      gallery: 'flatcar',
      image: 'stable',
      version: '4000.0.0',
      location: 'westus',
      regions: ['eastus'],
      blobUrl: 'https://acct.blob.core.windows.net/vhds/f.vhd',
      storageAccountId: `${RG}/providers/Microsoft.Storage/storageAccounts/acct`,
      publisher: 'kinvolk',
      offer: 'flatcar-container-linux',
      sku: 'stable',
      context,
    })
    expect(result).toEqual({
      id: `${G}/images/stable/versions/4000.0.0`,
      gallery: 'flatcar',
      image: 'stable',
      version: '4000.0.0',
      created: {gallery: false, image: true, version: true},
    })
    expect(versionBody[0]).toMatchObject({
      location: 'westus',
      properties: {
        publishingProfile: {targetRegions: [{name: 'westus'}, {name: 'eastus'}]},
        storageProfile: {
          osDiskImage: {
            source: {
              uri: 'https://acct.blob.core.windows.net/vhds/f.vhd',
              storageAccountId: `${RG}/providers/Microsoft.Storage/storageAccounts/acct`,
            },
          },
        },
      },
    })
  })

  it('replicates a version to more regions, and leaves it alone when nothing changes', async () => {
    const V = `${RG}/providers/Microsoft.Compute/galleries/flatcar/images/stable/versions/4000.0.0`
    const version = {id: V, name: '4000.0.0', location: 'westus', properties: {publishingProfile: {targetRegions: [{name: 'West US'}]}}}
    const patched: unknown[] = []
    nock(ARM).get(V).query(true).reply(200, version)
    nock(ARM)
      .patch(V, (b) => (patched.push(b), true))
      .query(true)
      .reply(200, {...version, properties: {publishingProfile: {targetRegions: [{name: 'westus'}, {name: 'eastus'}]}}})
    const context = testContext(NOW)
    const compute = await api(context)
    const args = {compute, resourceGroup: 'images', gallery: 'flatcar', image: 'stable', version: '4000.0.0', context}
    expect(await replicateGalleryImage({...args, add: ['eastus']})).toEqual({regions: ['westus', 'eastus'], changed: true})
    expect(patched[0]).toEqual({properties: {publishingProfile: {targetRegions: [{name: 'westus'}, {name: 'eastus'}]}}})

    nock(ARM).get(V).query(true).reply(200, version)
    expect(await replicateGalleryImage({...args, add: ['West US'], remove: ['westus']})).toEqual({regions: ['westus'], changed: false})
  })

  it('shares a gallery publicly (community)', async () => {
    const body: unknown[] = []
    nock(ARM)
      .post(`${RG}/providers/Microsoft.Compute/galleries/flatcar/share`, (b) => (body.push(b), true))
      .query(true)
      .reply(200, {operationType: 'EnableCommunity'})
    const context = testContext(NOW)
    expect(
      await shareGallery({compute: await api(context), resourceGroup: 'images', gallery: 'flatcar', permission: 'public', context}),
    ).toEqual({gallery: 'flatcar', operation: 'EnableCommunity'})
    expect(body[0]).toEqual({operationType: 'EnableCommunity'})
  })

  it('gc deletes only our resource groups older than the duration', async () => {
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
    nock(ARM)
      .get(`/subscriptions/${SUB}/resourcegroups`)
      .query((q) => q.$filter === "tagName eq 'created-by' and tagValue eq 'mantle'")
      .reply(200, {
        value: [
          {name: 'kola-old', location: 'westus', tags: {'created-by': 'mantle', 'created-at': hoursAgo(7)}},
          {name: 'kola-new', location: 'westus', tags: {'created-by': 'mantle', 'created-at': hoursAgo(1)}},
          {name: 'kola-undated', location: 'westus', tags: {'created-by': 'mantle'}},
          {name: 'theirs', location: 'westus', tags: {'created-by': 'someone', 'created-at': hoursAgo(99)}},
        ],
      })
    // Resources - List (ARM REST reference) by tag: kola --azure-resource-group leaves its VMs in a group not ours.
    const shared = `/subscriptions/${SUB}/resourceGroups/shared/providers`
    const deleted: string[] = []
    nock(ARM)
      .get(`/subscriptions/${SUB}/resources`)
      .query((q) => q.$filter === "tagName eq 'created-by' and tagValue eq 'mantle'")
      .reply(200, {
        value: [
          {
            id: `${shared}/Microsoft.Network/networkInterfaces/old-nic`,
            type: 'Microsoft.Network/networkInterfaces',
            tags: {'created-by': 'mantle', 'created-at': hoursAgo(7)},
          },
          {
            id: `${shared}/Microsoft.Compute/virtualMachines/old`,
            type: 'Microsoft.Compute/virtualMachines',
            tags: {'created-by': 'mantle', 'created-at': hoursAgo(7)},
          },
          {
            id: `${shared}/Microsoft.Compute/virtualMachines/new`,
            type: 'Microsoft.Compute/virtualMachines',
            tags: {'created-by': 'mantle', 'created-at': hoursAgo(1)},
          },
          {
            id: `/subscriptions/${SUB}/resourceGroups/kola-old/providers/Microsoft.Compute/virtualMachines/in-ours`,
            type: 'Microsoft.Compute/virtualMachines',
            tags: {'created-by': 'mantle', 'created-at': hoursAgo(7)},
          },
        ],
      })
    nock(ARM)
      .delete((path) => path.startsWith(`${shared}/`) && Boolean(deleted.push(path)))
      .query((q) => Boolean(deleted.push(String(q['api-version']))))
      .times(2)
      .reply(200)
    nock(ARM).delete(`/subscriptions/${SUB}/resourcegroups/kola-old`).query(true).reply(200)
    const context = testContext(NOW)
    const resources = await azureResourcesApi({credential, subscriptionId: SUB, pollIntervalMs: 0, ...context})
    expect(await gcAzure({resources, olderThanMs: 5 * 3_600_000, context})).toEqual({
      deletedResourceGroups: ['kola-old'],
      deletedResources: [`${shared}/Microsoft.Compute/virtualMachines/old`, `${shared}/Microsoft.Network/networkInterfaces/old-nic`],
    })
    // The VM before its NIC, each with its provider's api-version.
    // (nock matches a path more than once: each value counts once.)
    expect([...new Set(deleted)]).toEqual([
      `${shared}/Microsoft.Compute/virtualMachines/old`,
      '2024-07-01',
      `${shared}/Microsoft.Network/networkInterfaces/old-nic`,
      '2024-05-01',
    ])
  })

  it('says when no subscription is given (exit 2)', async () => {
    const error = await azureComputeApi({credential, subscriptionId: undefined, ...testContext()}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
  })
})
