import {createHash} from 'node:crypto'
import {readFile, stat} from 'node:fs/promises'

import type {aws} from '@mantle/cloud'

import type {AzureImagesApi, GalleryImageRequest} from '../services/azure.js'
import type {GceImage, GceImageRequest, GceImagesApi} from '../services/gce.js'
import {StateFile} from './state-file.js'

export interface FakeGceState {
  images: (GceImage & {project: string; sourceUri: string; public: boolean; request: GceImageRequest; sourceMd5?: string | undefined})[]
  writes: string[]
  /** A clock for creation timestamps, so that order is stable. */
  tick: number
}

export interface FakeGceOptions {
  /** What images.insert reads: the MD5 of the gs:// object (undefined when it does not exist, which GCE refuses). */
  objectMd5?: ((url: string) => Promise<string | undefined>) | undefined
}

/**
 * The GCE image API behind the narrow interface, backed by a state file:
 * images are PENDING when created and READY on the next read. Each image
 * keeps the whole images.insert request and the MD5 of the object it read.
 */
export function fakeGce(path: string, options: FakeGceOptions = {}): {api: GceImagesApi; state: StateFile<FakeGceState>} {
  const state = new StateFile<FakeGceState>(path, () => ({images: [], writes: [], tick: 0}))
  const strip = ({name, status, family, creationTimestamp, deprecated, architecture}: FakeGceState['images'][number]): GceImage => ({
    name,
    status,
    family,
    creationTimestamp,
    deprecated,
    architecture,
  })
  const find = (s: FakeGceState, project: string, name: string) => s.images.find((i) => i.project === project && i.name === name)
  const api: GceImagesApi = {
    listFamily: async (project, family) =>
      state.update((s) => {
        const out = s.images.filter((i) => i.project === project && i.family === family).map(strip)
        for (const i of s.images) if (i.status === 'PENDING') i.status = 'READY'
        return out
      }),
    getImage: async (project, name) =>
      state.update((s) => {
        const i = find(s, project, name)
        const out = i && strip(i)
        if (i?.status === 'PENDING') i.status = 'READY'
        return out
      }),
    createImage: async (project, image) => {
      const sourceMd5 = options.objectMd5 ? await options.objectMd5(image.sourceUri) : undefined
      if (options.objectMd5 && !sourceMd5) throw Object.assign(new Error(`images.insert: ${image.sourceUri} does not exist`), {code: 400})
      state.update((s) => {
        if (find(s, project, image.name)) throw Object.assign(new Error(`image ${image.name} already exists`), {code: 409})
        s.tick++
        const creationTimestamp = new Date(Date.UTC(2026, 0, 1) + s.tick * 60_000).toISOString()
        s.images.push({
          project,
          name: image.name,
          family: image.family,
          architecture: image.architecture,
          status: 'PENDING',
          creationTimestamp,
          sourceUri: image.sourceUri,
          public: false,
          request: image,
          sourceMd5,
        })
      }, `createImage ${project} ${image.name}`)
    },
    deprecate: async (project, name, replacement) =>
      state.update((s) => {
        const i = find(s, project, name)
        if (!i) throw new Error(`no image ${name}`)
        i.deprecated = {state: 'DEPRECATED', replacement: `projects/${project}/global/images/${replacement}`}
      }, `deprecate ${project} ${name}`),
    deleteImage: async (project, name) =>
      state.update(
        (s) => void (s.images = s.images.filter((i) => !(i.project === project && i.name === name))),
        `deleteImage ${project} ${name}`,
      ),
    isPublic: async (project, name) => find(state.read(), project, name)?.public ?? false,
    makePublic: async (project, name) =>
      state.update((s) => {
        const i = find(s, project, name)
        if (!i) throw new Error(`no image ${name}`)
        i.public = true
      }, `makePublic ${project} ${name}`),
  }
  return {api, state}
}

export interface FakeAzureState {
  blobs: {container: string; blob: string; size: number; md5: string; complete: boolean; lastModified: string}[]
  images: {resourceGroup: string; name: string; location: string; blobUrl: string; hyperVGeneration: string}[]
  galleries: {
    resourceGroup: string
    name: string
    location: string
    permissions: string
    communityEnabled: boolean
    community?: GalleryImageRequest['community']
  }[]
  definitions: {
    resourceGroup: string
    gallery: string
    name: string
    architecture: string
    hyperVGeneration: string
    identifier: GalleryImageRequest['identifier']
    features: GalleryImageRequest['features']
  }[]
  galleryVersions: {resourceGroup: string; gallery: string; definition: string; version: string; blobUrl: string; regions: string[]}[]
  writes: string[]
}

/**
 * Azure's storage account and compute calls behind the narrow interface,
 * backed by a state file. Like Resource Manager: a gallery is created with
 * the sharing profile it is given and shares with the community only when
 * that profile is Community; a definition's architecture is fixed.
 */
export function fakeAzure(
  path: string,
  account: string,
  clock: () => Date = () => new Date(),
): {api: AzureImagesApi; state: StateFile<FakeAzureState>} {
  const state = new StateFile<FakeAzureState>(path, () => ({
    blobs: [],
    images: [],
    galleries: [],
    definitions: [],
    galleryVersions: [],
    writes: [],
  }))
  const blobOf = (s: FakeAzureState, container: string, blob: string) => s.blobs.find((b) => b.container === container && b.blob === blob)
  const versionOf = (s: FakeAzureState, rg: string, gallery: string, definition: string, version: string) =>
    s.galleryVersions.find((v) => v.resourceGroup === rg && v.gallery === gallery && v.definition === definition && v.version === version)
  const api: AzureImagesApi = {
    blobState: async (container, blob) => {
      const b = blobOf(state.read(), container, blob)
      return !b ? 'absent' : b.complete ? 'complete' : 'partial'
    },
    uploadVhd: async (container, blob, file) => {
      const size = (await stat(file)).size
      const md5 = createHash('md5')
        .update(await readFile(file))
        .digest('hex')
      // Like a page blob: created at full size first, complete only at the end.
      state.update((s) => {
        s.blobs = s.blobs.filter((b) => !(b.container === container && b.blob === blob))
        s.blobs.push({container, blob, size, md5, complete: false, lastModified: clock().toISOString()})
      }, `createPageBlob ${container}/${blob}`)
      state.update((s) => void (blobOf(s, container, blob)!.complete = true), `uploadPages ${container}/${blob}`)
    },
    blobUrl: async (container, blob) => `https://${account}.blob.core.windows.net/${container}/${blob}`,
    sasUrl: async (container, blob, expiresOn) =>
      `https://${account}.blob.core.windows.net/${container}/${blob}?sp=r&se=${expiresOn.toISOString()}&sig=fake`,
    listBlobs: async (container) =>
      state
        .read()
        .blobs.filter((b) => b.container === container)
        .map((b) => ({name: b.blob, lastModified: new Date(b.lastModified)})),
    deleteBlob: async (container, blob) =>
      state.update(
        (s) => void (s.blobs = s.blobs.filter((b) => !(b.container === container && b.blob === blob))),
        `deleteBlob ${container}/${blob}`,
      ),
    imageExists: async (rg, name) => state.read().images.some((i) => i.resourceGroup === rg && i.name === name),
    createImage: async (rg, name, location, blobUrl, hyperVGeneration) =>
      state.update((s) => {
        if (s.images.some((i) => i.resourceGroup === rg && i.name === name)) return
        s.images.push({resourceGroup: rg, name, location, blobUrl, hyperVGeneration})
      }, `createImage ${rg} ${name}`),
    deleteImage: async (rg, name) =>
      state.update(
        (s) => void (s.images = s.images.filter((i) => !(i.resourceGroup === rg && i.name === name))),
        `deleteImage ${rg} ${name}`,
      ),
    galleryImageVersion: async (rg, gallery, definition, version) => {
      const v = versionOf(state.read(), rg, gallery, definition, version)
      return v && {regions: v.regions}
    },
    createGalleryImageVersion: async (r) =>
      state.update((s) => {
        if (!s.galleries.some((g) => g.resourceGroup === r.resourceGroup && g.name === r.gallery)) {
          s.galleries.push({
            resourceGroup: r.resourceGroup,
            name: r.gallery,
            location: r.location,
            permissions: r.community ? 'Community' : 'Private',
            communityEnabled: false,
            ...(r.community ? {community: r.community} : {}),
          })
        }
        const definition = s.definitions.find(
          (d) => d.resourceGroup === r.resourceGroup && d.gallery === r.gallery && d.name === r.definition,
        )
        if (!definition) {
          if (
            s.definitions.some(
              (d) =>
                d.resourceGroup === r.resourceGroup &&
                d.gallery === r.gallery &&
                JSON.stringify(d.identifier) === JSON.stringify(r.identifier),
            )
          ) {
            throw new Error(`gallery ${r.gallery}: another definition has the identifier ${JSON.stringify(r.identifier)}`)
          }
          s.definitions.push({
            resourceGroup: r.resourceGroup,
            gallery: r.gallery,
            name: r.definition,
            architecture: r.architecture,
            hyperVGeneration: r.hyperVGeneration,
            identifier: r.identifier,
            features: r.features,
          })
        } else if (definition.architecture !== r.architecture) {
          throw new Error(`gallery definition ${r.definition} is ${definition.architecture}, not ${r.architecture}`)
        }
        if (versionOf(s, r.resourceGroup, r.gallery, r.definition, r.version)) return
        s.galleryVersions.push({
          resourceGroup: r.resourceGroup,
          gallery: r.gallery,
          definition: r.definition,
          version: r.version,
          blobUrl: r.blobUrl,
          regions: r.regions,
        })
      }, `createGalleryImageVersion ${r.gallery}/${r.definition}/${r.version}`),
    replicate: async (rg, gallery, definition, version, regions) =>
      state.update((s) => {
        const v = versionOf(s, rg, gallery, definition, version)
        if (!v) throw new Error(`no version ${gallery}/${definition}/${version}`)
        v.regions = [...new Set([...v.regions, ...regions])]
      }, `replicate ${gallery}/${definition}/${version}`),
    deleteGalleryImageVersion: async (rg, gallery, definition, version) =>
      state.update(
        (s) => void (s.galleryVersions = s.galleryVersions.filter((v) => v !== versionOf(s, rg, gallery, definition, version))),
        `deleteGalleryImageVersion ${gallery}/${definition}/${version}`,
      ),
    gallerySharing: async (rg, gallery) => {
      const g = state.read().galleries.find((x) => x.resourceGroup === rg && x.name === gallery)
      return g && {permissions: g.permissions, communityEnabled: g.communityEnabled}
    },
    shareWithCommunity: async (rg, gallery) =>
      state.update((s) => {
        const g = s.galleries.find((x) => x.resourceGroup === rg && x.name === gallery)
        if (!g) throw new Error(`no gallery ${gallery}`)
        // Azure refuses EnableCommunity on a gallery created without a Community sharing profile.
        if (g.permissions !== 'Community')
          throw Object.assign(new Error(`gallery ${gallery} is not a community gallery`), {statusCode: 400})
        g.communityEnabled = true
      }, `share ${rg}/${gallery}`),
  }
  return {api, state}
}

export interface FakeMarketplaceState {
  /** Per product: the versions it offers, each with the AMI it was made from. */
  products: Record<string, {type: string; versions: {title: string; amiId: string}[]}>
  changeSets: {name: string; token: string; status: string; request: aws.MarketplaceChangeSet}[]
  writes: string[]
}

/**
 * The AWS Marketplace Catalog behind the narrow interface, backed by a state
 * file: a change set applies at once; an AmiProduct's entity lists its
 * versions with their AMI sources, as DescribeEntity's details do.
 */
export function fakeMarketplace(
  path: string,
  products: Record<string, string>,
): {api: aws.MarketplaceApi; state: StateFile<FakeMarketplaceState>} {
  const state = new StateFile<FakeMarketplaceState>(path, () => ({
    products: Object.fromEntries(Object.entries(products).map(([id, type]) => [id, {type, versions: []}])),
    changeSets: [],
    writes: [],
  }))
  const api: aws.MarketplaceApi = {
    describeEntity: async (input) => {
      const product = state.read().products[input.EntityId]
      if (!product) throw Object.assign(new Error(`no entity ${input.EntityId}`), {name: 'ResourceNotFoundException'})
      return {
        Details: JSON.stringify({
          Versions: product.versions.map((v) => ({VersionTitle: v.title, Sources: [{Type: 'AmazonMachineImage', Image: v.amiId}]})),
        }),
      }
    },
    listChangeSets: async (input) => {
      const ids = input.FilterList?.find((f) => f.Name === 'EntityId')?.ValueList ?? []
      const sets = state
        .read()
        .changeSets.filter((c) => ids.length === 0 || c.request.ChangeSet.some((x) => ids.includes(x.Entity.Identifier)))
      return {ChangeSetSummaryList: sets.map((c) => ({ChangeSetName: c.name, Status: c.status}))}
    },
    startChangeSet: async (input) =>
      state.update((s) => {
        const again = s.changeSets.find((c) => c.token === input.ClientRequestToken)
        if (again) return {ChangeSetId: `cs-${again.token.slice(0, 8)}`}
        for (const change of input.ChangeSet) {
          const product = s.products[change.Entity.Identifier]
          if (!product || product.type !== change.Entity.Type)
            throw Object.assign(new Error(`no ${change.Entity.Type} ${change.Entity.Identifier}`), {name: 'ResourceNotFoundException'})
          const details = JSON.parse(change.Details) as {
            Version: {VersionTitle: string}
            DeliveryOptions: {Details: {AmiDeliveryOptionDetails: {AmiSource: {AmiId: string}}}}[]
          }
          for (const option of details.DeliveryOptions)
            product.versions.push({title: details.Version.VersionTitle, amiId: option.Details.AmiDeliveryOptionDetails.AmiSource.AmiId})
        }
        s.changeSets.push({name: input.ChangeSetName, token: input.ClientRequestToken, status: 'SUCCEEDED', request: input})
        return {ChangeSetId: `cs-${input.ClientRequestToken.slice(0, 8)}`}
      }, `StartChangeSet ${input.ChangeSetName}`),
  }
  return {api, state}
}
