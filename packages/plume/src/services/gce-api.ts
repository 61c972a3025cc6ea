import {gcloud, type ServiceContext} from '@mantle/cloud'

import type {GceImagesApi} from './gce.js'

/** plume's GCE calls over ore's GCE module (Compute Engine REST v1) for one project. */
export function gceImagesApi(compute: () => Promise<gcloud.GceComputeApi>, context: ServiceContext): GceImagesApi {
  const strip = (i: gcloud.GceImage) => ({
    name: i.name,
    status: i.status ?? 'PENDING',
    family: i.family,
    creationTimestamp: i.creationTimestamp ?? '',
    deprecated: i.deprecated?.state ? {state: i.deprecated.state, replacement: i.deprecated.replacement} : undefined,
    architecture: i.architecture,
  })
  return {
    listFamily: async (_project, family) =>
      (await gcloud.listImages({compute: await compute(), prefix: `${family}-`})).filter((i) => i.family === family).map(strip),
    getImage: async (_project, name) => {
      const image = await (await compute()).getImage(name)
      return image && strip(image)
    },
    createImage: async (_project, image) => {
      await gcloud.createImage({
        compute: await compute(),
        name: image.name,
        source: image.sourceUri,
        family: image.family,
        description: image.description,
        licenses: image.licenses,
        guestOsFeatures: image.guestOsFeatures,
        architecture: image.architecture,
        context,
      })
    },
    deprecate: async (_project, name, replacement) => {
      await gcloud.deprecateImage({compute: await compute(), name, state: 'DEPRECATED', replacement, context})
    },
    deleteImage: async (_project, name) => {
      await gcloud.deleteImages({compute: await compute(), names: [name], context})
    },
    isPublic: async (_project, name) => gcloud.isImagePublic({compute: await compute(), name}),
    makePublic: async (_project, name) => {
      await gcloud.makeImagePublic({compute: await compute(), name, context})
    },
  }
}
