import type * as Compute from '@azure/arm-compute'
import type {TokenCredential} from '@azure/identity'
import type * as Resources from '@azure/arm-resources'

import {UsageError} from '@mantle/kit'

import {withRetry, type CallContext} from '../common/retry.js'
import {azureError} from './errors.js'

/**
 * The Azure Resource Manager calls these modules make, narrowed from the SDK
 * clients. Each is retried with kit's backoff (the SDK's retries are off);
 * a get of something absent answers undefined.
 */
export interface AzureComputeApi {
  getImage(resourceGroup: string, name: string): Promise<Compute.Image | undefined>
  createImage(resourceGroup: string, name: string, image: Compute.Image): Promise<Compute.Image>
  deleteImage(resourceGroup: string, name: string): Promise<void>
  getGallery(resourceGroup: string, gallery: string): Promise<Compute.Gallery | undefined>
  createGallery(resourceGroup: string, gallery: string, value: Compute.Gallery): Promise<Compute.Gallery>
  getGalleryImage(resourceGroup: string, gallery: string, image: string): Promise<Compute.GalleryImage | undefined>
  createGalleryImage(resourceGroup: string, gallery: string, image: string, value: Compute.GalleryImage): Promise<Compute.GalleryImage>
  getGalleryImageVersion(
    resourceGroup: string,
    gallery: string,
    image: string,
    version: string,
  ): Promise<Compute.GalleryImageVersion | undefined>
  createGalleryImageVersion(
    resourceGroup: string,
    gallery: string,
    image: string,
    version: string,
    value: Compute.GalleryImageVersion,
  ): Promise<Compute.GalleryImageVersion>
  deleteGalleryImageVersion(resourceGroup: string, gallery: string, image: string, version: string): Promise<void>
  updateGalleryImageVersion(
    resourceGroup: string,
    gallery: string,
    image: string,
    version: string,
    update: Compute.GalleryImageVersionUpdate,
  ): Promise<Compute.GalleryImageVersion>
  updateSharing(resourceGroup: string, gallery: string, update: Compute.SharingUpdate): Promise<Compute.SharingUpdate>
}

export interface AzureResourcesApi {
  listResourceGroups(filter?: string): Promise<Resources.ResourceGroup[]>
  deleteResourceGroup(name: string): Promise<void>
  /** Resources of the whole subscription (GET /subscriptions/<s>/resources?$filter=). */
  listResources(filter: string): Promise<Resources.GenericResourceExpanded[]>
  /** Deletes one resource by its id (404: already gone), and waits. */
  deleteResourceById(id: string): Promise<void>
}

/** The api-version of a DELETE by id, per resource provider (generic deletes need one). */
const DELETE_API_VERSIONS: Record<string, string> = {
  'microsoft.compute': '2024-07-01',
  'microsoft.network': '2024-05-01',
  'microsoft.storage': '2023-05-01',
}

export interface AzureArmOptions extends CallContext {
  credential: TokenCredential
  subscriptionId: string | undefined
  /** Resource Manager endpoint (sovereign clouds, tests). */
  endpoint?: string | undefined
  /** The audience of ARM tokens there (management.core.usgovcloudapi.net, ...); default the public cloud's. */
  audience?: string | undefined
  /** Between polls of a long-running operation. */
  pollIntervalMs?: number | undefined
}

export function requireSubscription(options: AzureArmOptions): string {
  if (!options.subscriptionId) {
    throw new UsageError('azure: no subscription given', {
      hint: 'pass --azure-subscription, set AZURE_SUBSCRIPTION_ID, or put "subscription" in azureCreds.json',
    })
  }
  return options.subscriptionId
}

/** The SDK clients' options: no SDK retries (kit retries), the endpoint when given. */
export function armClientOptions(options: AzureArmOptions) {
  return {
    retryOptions: {maxRetries: 0},
    ...(options.endpoint ? {endpoint: options.endpoint} : {}),
    ...(options.audience ? {credentials: {scopes: [`${options.audience}/.default`]}} : {}),
  }
}

const notFound = (error: unknown) => (error as {statusCode?: number}).statusCode === 404

export async function azureComputeApi(options: AzureArmOptions): Promise<AzureComputeApi> {
  const {ComputeManagementClient} = await import('@azure/arm-compute')
  const client = new ComputeManagementClient(options.credential, requireSubscription(options), armClientOptions(options))
  const lro = {updateIntervalInMs: options.pollIntervalMs ?? 5_000, abortSignal: options.signal}
  const call = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`azure ${what}`, op, options).catch((e: unknown) => Promise.reject(azureError(`azure ${what}`, e)))
  const get = <T>(what: string, op: () => Promise<T>): Promise<T | undefined> =>
    call(what, () => op().catch((e: unknown) => (notFound(e) ? undefined : Promise.reject(e))))
  return {
    getImage: (rg, name) => get('images.get', () => client.images.get(rg, name)),
    createImage: (rg, name, image) => call('images.createOrUpdate', async () => client.images.createOrUpdate(rg, name, image, lro)),
    deleteImage: (rg, name) => call('images.delete', async () => client.images.delete(rg, name, lro)),
    getGallery: (rg, g) => get('galleries.get', () => client.galleries.get(rg, g)),
    createGallery: (rg, g, v) => call('galleries.createOrUpdate', async () => client.galleries.createOrUpdate(rg, g, v, lro)),
    getGalleryImage: (rg, g, i) => get('galleryImages.get', () => client.galleryImages.get(rg, g, i)),
    createGalleryImage: (rg, g, i, v) =>
      call('galleryImages.createOrUpdate', async () => client.galleryImages.createOrUpdate(rg, g, i, v, lro)),
    getGalleryImageVersion: (rg, g, i, ver) => get('galleryImageVersions.get', () => client.galleryImageVersions.get(rg, g, i, ver)),
    createGalleryImageVersion: (rg, g, i, ver, v) =>
      call('galleryImageVersions.createOrUpdate', async () => client.galleryImageVersions.createOrUpdate(rg, g, i, ver, v, lro)),
    deleteGalleryImageVersion: (rg, g, i, ver) =>
      call('galleryImageVersions.delete', async () => client.galleryImageVersions.delete(rg, g, i, ver, lro)),
    updateGalleryImageVersion: (rg, g, i, ver, u) =>
      call('galleryImageVersions.update', async () => client.galleryImageVersions.update(rg, g, i, ver, u, lro)),
    updateSharing: (rg, g, u) => call('gallerySharingProfile.update', async () => client.gallerySharingProfile.update(rg, g, u, lro)),
  }
}

export async function azureResourcesApi(options: AzureArmOptions): Promise<AzureResourcesApi> {
  const {ResourceManagementClient} = await import('@azure/arm-resources')
  const client = new ResourceManagementClient(options.credential, requireSubscription(options), armClientOptions(options))
  const call = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`azure ${what}`, op, options).catch((e: unknown) => Promise.reject(azureError(`azure ${what}`, e)))
  return {
    listResourceGroups: (filter) =>
      call('resourceGroups.list', async () => {
        const out: Resources.ResourceGroup[] = []
        for await (const rg of client.resourceGroups.list(filter ? {filter} : {})) out.push(rg)
        return out
      }),
    deleteResourceGroup: (name) =>
      call('resourceGroups.delete', async () =>
        client.resourceGroups.delete(name, {updateIntervalInMs: options.pollIntervalMs ?? 5_000, abortSignal: options.signal}),
      ),
    listResources: (filter) =>
      call('resources.list', async () => {
        const out: Resources.GenericResourceExpanded[] = []
        for await (const r of client.resources.list({filter})) out.push(r)
        return out
      }),
    deleteResourceById: (id) => {
      const provider = /\/providers\/([^/]+)\//i.exec(id)?.[1]?.toLowerCase() ?? ''
      const apiVersion = DELETE_API_VERSIONS[provider]
      if (!apiVersion) throw new UsageError(`azure: cannot delete ${id}: no api-version known for ${provider}`)
      return call('resources.deleteById', async () => {
        try {
          // The SDK's path is `/{resourceId}`: an id's own leading slash would make it `//subscriptions/...`.
          await client.resources.deleteById(id.replace(/^\//, ''), apiVersion, {
            updateIntervalInMs: options.pollIntervalMs ?? 5_000,
            abortSignal: options.signal,
          })
        } catch (e) {
          if (!notFound(e)) throw e
        }
      })
    },
  }
}
