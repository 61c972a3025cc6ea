import {azure, type ServiceContext} from '@mantle/cloud'

import type {AzureSpec} from '../config/types.js'
import type {AzureImagesApi} from './azure.js'

/** A blob beside the VHD that exists only once the upload finished: a page blob killed mid-upload exists at full size. */
export const UPLOADED_SUFFIX = '.uploaded'

/**
 * plume's Azure calls over ore's Azure module (page-blob upload, managed and
 * gallery images, gallery sharing) for one subscription and storage account.
 */
export function azureImagesApi(session: azure.AzureSession, spec: AzureSpec, _channel: string, context: ServiceContext): AzureImagesApi {
  const compute = (): Promise<azure.AzureComputeApi> => session.compute()
  const storageAccountId = (): string =>
    `/subscriptions/${session.subscriptionId ?? ''}/resourceGroups/${spec.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${spec.storageAccount}`
  const norm = (r: string) => r.toLowerCase().replace(/\s+/g, '')
  return {
    blobState: async (container, blob) => {
      if (!(await (await session.pageBlob(container, blob)).exists({abortSignal: context.signal}))) return 'absent'
      return (await (await session.pageBlob(container, blob + UPLOADED_SUFFIX)).exists({abortSignal: context.signal}))
        ? 'complete'
        : 'partial'
    },
    uploadVhd: async (container, blob, file) => {
      const marker = await session.pageBlob(container, blob + UPLOADED_SUFFIX)
      // The marker goes first and comes back last: it never stands beside a partial upload.
      if (await marker.exists({abortSignal: context.signal})) await marker.delete({abortSignal: context.signal})
      await azure.uploadVhd({blob: await session.pageBlob(container, blob), file, overwrite: true, context})
      await marker.create(0, {abortSignal: context.signal})
    },
    blobUrl: async (container, blob) => (await session.pageBlob(container, blob)).url,
    sasUrl: async (container, blob, expiresOn) => azure.readOnlySasUrl(await session.pageBlob(container, blob), expiresOn),
    listBlobs: async (container) =>
      (await session.listBlobs(container))
        .filter((b) => !b.name.endsWith(UPLOADED_SUFFIX))
        .map(({name, lastModified}) => ({name, lastModified})),
    deleteBlob: async (container, blob) => {
      for (const name of [blob + UPLOADED_SUFFIX, blob])
        await (await session.pageBlob(container, name)).deleteIfExists({abortSignal: context.signal, deleteSnapshots: 'include'})
    },
    imageExists: async (rg, name) => (await (await compute()).getImage(rg, name))?.id !== undefined,
    createImage: async (rg, name, location, blobUrl, hyperVGeneration) => {
      await azure.createImage({compute: await compute(), resourceGroup: rg, name, location, blobUrl, hyperVGeneration, context})
    },
    deleteImage: async (rg, name) => (await compute()).deleteImage(rg, name),
    galleryImageVersion: async (rg, gallery, definition, version) => {
      const v = await (await compute()).getGalleryImageVersion(rg, gallery, definition, version)
      return v?.id === undefined ? undefined : {regions: (v.publishingProfile?.targetRegions ?? []).map((t) => norm(t.name))}
    },
    createGalleryImageVersion: async (r) => {
      await azure.createGalleryImage({
        compute: await compute(),
        resourceGroup: r.resourceGroup,
        gallery: r.gallery,
        image: r.definition,
        version: r.version,
        location: r.location,
        blobUrl: r.blobUrl,
        storageAccountId: storageAccountId(),
        ...r.identifier,
        hyperVGeneration: r.hyperVGeneration,
        architecture: r.architecture,
        features: r.features,
        community: r.community,
        regions: r.regions,
        context,
      })
    },
    replicate: async (rg, gallery, definition, version, regions) => {
      await azure.replicateGalleryImage({
        compute: await compute(),
        resourceGroup: rg,
        gallery,
        image: definition,
        version,
        add: regions,
        context,
      })
    },
    deleteGalleryImageVersion: async (rg, gallery, definition, version) =>
      (await compute()).deleteGalleryImageVersion(rg, gallery, definition, version),
    gallerySharing: async (rg, gallery) => {
      const g = await (await compute()).getGallery(rg, gallery)
      if (!g) return undefined
      return {
        permissions: g.sharingProfile?.permissions,
        communityEnabled: g.sharingProfile?.communityGalleryInfo?.communityGalleryEnabled === true,
      }
    },
    shareWithCommunity: async (rg, gallery) => {
      await azure.shareGallery({compute: await compute(), resourceGroup: rg, gallery, permission: 'public', context})
    },
  }
}
