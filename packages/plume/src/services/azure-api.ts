import {azure, type ServiceContext} from '@mantle/cloud'

import type {AzureSpec} from '../config/types.js'
import type {AzureImagesApi} from './azure.js'

/** A blob beside the VHD that exists only once the upload finished: a page blob killed mid-upload exists at full size. */
export const UPLOADED_SUFFIX = '.uploaded'

/**
 * plume's Azure calls over ore's Azure module (page-blob upload, managed and
 * gallery images, gallery sharing) for one subscription and storage account.
 */
export function azureImagesApi(session: azure.AzureSession, spec: AzureSpec, channel: string, context: ServiceContext): AzureImagesApi {
  const compute = (): Promise<azure.AzureComputeApi> => session.compute()
  const storageAccountId = (): string =>
    `/subscriptions/${session.subscriptionId ?? ''}/resourceGroups/${spec.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${spec.storageAccount}`
  return {
    blobState: async (container, blob) => {
      if (!(await (await session.pageBlob(container, blob)).exists({abortSignal: context.signal}))) return 'absent'
      return (await (await session.pageBlob(container, blob + UPLOADED_SUFFIX)).exists({abortSignal: context.signal})) ? 'complete' : 'partial'
    },
    uploadVhd: async (container, blob, file) => {
      const marker = await session.pageBlob(container, blob + UPLOADED_SUFFIX)
      // The marker goes first and comes back last: it never stands beside a partial upload.
      if (await marker.exists({abortSignal: context.signal})) await marker.delete({abortSignal: context.signal})
      await azure.uploadVhd({blob: await session.pageBlob(container, blob), file, overwrite: true, context})
      await marker.create(0, {abortSignal: context.signal})
    },
    blobUrl: async (container, blob) => (await session.pageBlob(container, blob)).url,
    imageExists: async (rg, name) => (await (await compute()).getImage(rg, name))?.id !== undefined,
    createImage: async (rg, name, location, blobUrl) => {
      await azure.createImage({compute: await compute(), resourceGroup: rg, name, location, blobUrl, context})
    },
    galleryImageVersionExists: async (rg, gallery, definition, version) => (await (await compute()).getGalleryImageVersion(rg, gallery, definition, version))?.id !== undefined,
    createGalleryImageVersion: async (rg, gallery, definition, version, source) => {
      await azure.createGalleryImage({
        compute: await compute(),
        resourceGroup: rg,
        gallery,
        image: definition,
        version,
        location: source.location,
        blobUrl: source.blobUrl,
        storageAccountId: storageAccountId(),
        publisher: spec.offer ?? spec.name,
        offer: spec.offer ?? spec.name,
        sku: channel,
        context,
      })
    },
    isCommunityShared: async (rg, gallery) => (await (await compute()).getGallery(rg, gallery))?.sharingProfile?.permissions === 'Community',
    shareWithCommunity: async (rg, gallery) => {
      await azure.shareGallery({compute: await compute(), resourceGroup: rg, gallery, permission: 'public', context})
    },
  }
}
