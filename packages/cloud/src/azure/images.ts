import {InfraError, UsageError} from '@mantle/kit'

import {gcManagedClusters, type ManagedClusterApi} from '../common/clusters.js'
import type {ServiceContext} from '../common/context.js'
import {isExpired, isMarked, markerTags, MARKER_KEY, MARKER_VALUE, CREATED_AT_KEY} from '../common/marker.js'
import type {AzureComputeApi, AzureResourcesApi} from './arm.js'

export interface CreateImageOptions {
  compute: AzureComputeApi
  resourceGroup: string
  name: string
  location: string
  /** The uploaded page blob (upload-blob's url). */
  blobUrl: string
  hyperVGeneration?: 'V1' | 'V2' | undefined
  /** Replace an image of the same name. */
  force?: boolean | undefined
  tags?: Record<string, string> | undefined
  context: ServiceContext
}

export interface ImageResult {
  id: string
  name: string
  /** False when an image of that name existed and was kept. */
  created: boolean
}

/** A managed image from an uploaded VHD; an existing one of the same name is kept unless forced. */
export async function createImage(options: CreateImageOptions): Promise<ImageResult> {
  const {compute, resourceGroup, name, context: ctx} = options
  const existing = await compute.getImage(resourceGroup, name)
  if (existing?.id && !options.force) {
    ctx.logger.notice(`image ${name} exists in ${resourceGroup}; keeping it (--force replaces it)`)
    return {id: existing.id, name, created: false}
  }
  if (existing) await compute.deleteImage(resourceGroup, name)
  const image = await compute.createImage(resourceGroup, name, {
    location: options.location,
    tags: {...markerTags(ctx.now?.()), ...options.tags},
    hyperVGeneration: options.hyperVGeneration ?? 'V1',
    storageProfile: {osDisk: {osType: 'Linux', osState: 'Generalized', blobUri: options.blobUrl, storageAccountType: 'Standard_LRS'}},
  })
  if (!image.id) throw new InfraError(`azure: image ${name} was created without an id`)
  ctx.logger.info(`created image ${image.id}`)
  return {id: image.id, name, created: true}
}

export interface CreateGalleryImageOptions {
  compute: AzureComputeApi
  resourceGroup: string
  gallery: string
  /** The image definition inside the gallery. */
  image: string
  /** Version of the image, e.g. 4000.0.0 (Azure wants three integers). */
  version: string
  location: string
  blobUrl: string
  /** /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name> of the blob. */
  storageAccountId: string
  publisher: string
  offer: string
  sku: string
  hyperVGeneration?: 'V1' | 'V2' | undefined
  architecture?: 'x64' | 'Arm64' | undefined
  /**
   * Features of a new image definition, e.g. SecurityType
   * TrustedLaunchAndConfidentialVMSupported, DiskControllerTypes NVMe,SCSI,
   * IsAcceleratedNetworkSupported true (Flatcar's gallery-image-template.json).
   */
  features?: {name: string; value: string}[] | undefined
  /**
   * A new gallery is made a community gallery with this information: Azure
   * shares with the community only a gallery created with
   * sharingProfile.permissions Community and its communityGalleryInfo.
   */
  community?: CommunityGalleryInfo | undefined
  /** Regions to replicate the version to (the location always). */
  regions?: string[] | undefined
  context: ServiceContext
}

/** What a community gallery shows everyone (all four are required by Azure). */
export interface CommunityGalleryInfo {
  publisherUri: string
  publisherContact: string
  eula: string
  publicNamePrefix: string
}

export interface GalleryImageResult {
  id: string
  gallery: string
  image: string
  version: string
  created: {gallery: boolean; image: boolean; version: boolean}
}

/**
 * A gallery image version from an uploaded VHD, creating the gallery and the
 * image definition when absent. A rerun finds what exists and skips it.
 */
export async function createGalleryImage(options: CreateGalleryImageOptions): Promise<GalleryImageResult> {
  const {compute, resourceGroup: rg, gallery, image, version, context: ctx} = options
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new UsageError(`azure: gallery image version "${version}" must be three integers, e.g. 4000.0.0`)
  const tags = markerTags(ctx.now?.())
  const created = {gallery: false, image: false, version: false}
  if (!(await compute.getGallery(rg, gallery))) {
    await compute.createGallery(rg, gallery, {
      location: options.location,
      tags,
      ...(options.community ? {sharingProfile: {permissions: 'Community', communityGalleryInfo: {...options.community}}} : {}),
    })
    created.gallery = true
  }
  if (!(await compute.getGalleryImage(rg, gallery, image))) {
    await compute.createGalleryImage(rg, gallery, image, {
      location: options.location,
      tags,
      osType: 'Linux',
      osState: 'Generalized',
      hyperVGeneration: options.hyperVGeneration ?? 'V2',
      architecture: options.architecture ?? 'x64',
      identifier: {publisher: options.publisher, offer: options.offer, sku: options.sku},
      ...(options.features?.length ? {features: options.features.map((f) => ({...f}))} : {}),
    })
    created.image = true
  }
  const existing = await compute.getGalleryImageVersion(rg, gallery, image, version)
  if (existing?.id) {
    ctx.logger.notice(`gallery image version ${gallery}/${image}/${version} exists; keeping it`)
    return {id: existing.id, gallery, image, version, created}
  }
  const regions = [...new Set([options.location, ...(options.regions ?? [])])]
  const out = await compute.createGalleryImageVersion(rg, gallery, image, version, {
    location: options.location,
    tags,
    publishingProfile: {targetRegions: regions.map((name) => ({name}))},
    storageProfile: {osDiskImage: {source: {uri: options.blobUrl, storageAccountId: options.storageAccountId}}},
  })
  if (!out.id) throw new InfraError(`azure: gallery image version ${version} was created without an id`)
  created.version = true
  ctx.logger.info(`created ${out.id}`)
  return {id: out.id, gallery, image, version, created}
}

/**
 * Adds regions to, or removes them from, the replication of a gallery image
 * version. The version's own location always stays; a region already in
 * the wanted state is not touched, so a rerun makes no call.
 */
export async function replicateGalleryImage(options: {
  compute: AzureComputeApi
  resourceGroup: string
  gallery: string
  image: string
  version: string
  add?: string[] | undefined
  remove?: string[] | undefined
  context: ServiceContext
}): Promise<{regions: string[]; changed: boolean}> {
  const {compute, resourceGroup: rg, gallery, image, version, context: ctx} = options
  const current = await compute.getGalleryImageVersion(rg, gallery, image, version)
  if (!current) throw new UsageError(`azure: no gallery image version ${gallery}/${image}/${version} in ${rg}`)
  const norm = (r: string) => r.toLowerCase().replace(/\s+/g, '')
  const home = norm(current.location ?? '')
  const before = (current.publishingProfile?.targetRegions ?? []).map((t) => norm(t.name))
  const removing = new Set((options.remove ?? []).map(norm).filter((r) => r !== home))
  const after = [...new Set([...before, ...(options.add ?? []).map(norm)])].filter((r) => !removing.has(r))
  if (after.length === before.length && after.every((r) => before.includes(r))) {
    ctx.logger.notice(`${gallery}/${image}/${version} already replicates to ${before.join(', ')}`)
    return {regions: before, changed: false}
  }
  await compute.updateGalleryImageVersion(rg, gallery, image, version, {publishingProfile: {targetRegions: after.map((name) => ({name}))}})
  return {regions: after, changed: true}
}

/**
 * Shares a gallery: `public` opens it to everyone (a community gallery),
 * `private` withdraws every share, subscriptions add those subscriptions.
 */
export async function shareGallery(options: {
  compute: AzureComputeApi
  resourceGroup: string
  gallery: string
  permission: 'public' | 'private'
  subscriptions?: string[] | undefined
  context: ServiceContext
}): Promise<{gallery: string; operation: string}> {
  const {compute, resourceGroup, gallery} = options
  const subs = options.subscriptions ?? []
  const update =
    subs.length > 0
      ? {operationType: 'Add', groups: [{type: 'Subscriptions', ids: subs}]}
      : options.permission === 'public'
        ? {operationType: 'EnableCommunity'}
        : {operationType: 'Reset'}
  await compute.updateSharing(resourceGroup, gallery, update)
  options.context.logger.info(`gallery ${gallery}: sharing ${update.operationType}`)
  return {gallery, operation: update.operationType}
}

/** Deletes a managed image, or a gallery image version when gallery/image/version are given. */
export async function deleteImage(options: {
  compute: AzureComputeApi
  resourceGroup: string
  name?: string | undefined
  gallery?: {gallery: string; image: string; version: string} | undefined
  context: ServiceContext
}): Promise<{deleted: string}> {
  const {compute, resourceGroup: rg} = options
  if (options.gallery) {
    const {gallery, image, version} = options.gallery
    if (!(await compute.getGalleryImageVersion(rg, gallery, image, version)))
      throw new UsageError(`azure: no gallery image version ${gallery}/${image}/${version} in ${rg}`)
    await compute.deleteGalleryImageVersion(rg, gallery, image, version)
    return {deleted: `${gallery}/${image}/${version}`}
  }
  if (!options.name) throw new UsageError('azure: give an image name, or gallery, image and version')
  if (!(await compute.getImage(rg, options.name))) throw new UsageError(`azure: no image ${options.name} in ${rg}`)
  await compute.deleteImage(rg, options.name)
  return {deleted: options.name}
}

export interface AzureGcResult {
  deletedResourceGroups: string[]
  /** Our resources in groups that are not ours (kola --azure-resource-group), by id. */
  deletedResources: string[]
  /** AKS managedClusters, when gc was given the AKS module. */
  deletedClusters?: string[]
}

/**
 * Deletes resource groups that tests created (our tag) before the cutoff.
 * Azure keeps no creation time on a resource group: ours carry it as a tag.
 * Given `clusters`, also our expired AKS clusters (their created-at tag).
 */
export async function gcAzure(options: {
  resources: AzureResourcesApi
  clusters?: ManagedClusterApi | undefined
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<AzureGcResult> {
  const {resources, context: ctx} = options
  const now = ctx.now?.() ?? new Date()
  const cutoff = new Date(now.getTime() - options.olderThanMs)
  const groups = await resources.listResourceGroups(`tagName eq '${MARKER_KEY}' and tagValue eq '${MARKER_VALUE}'`)
  const expired = groups.filter((g) => {
    const created = g.tags?.[CREATED_AT_KEY]
    return g.name && isExpired({marked: isMarked(g.tags), created: created ? new Date(created) : undefined}, cutoff)
  })
  const result: AzureGcResult = {deletedResourceGroups: [], deletedResources: []}
  // First what runs left in groups not ours (kola --azure-resource-group puts its VMs there): a VM
  // holds its NIC, so VMs go before NICs, NICs before IPs, and all before our groups.
  const ours = new Set(groups.filter((g) => isMarked(g.tags)).map((g) => g.name?.toLowerCase()))
  const order = (type = '') =>
    ['Microsoft.Compute/virtualMachines', 'Microsoft.Network/networkInterfaces', 'Microsoft.Network/publicIPAddresses'].indexOf(type) >>> 0
  const strays = (await resources.listResources(`tagName eq '${MARKER_KEY}' and tagValue eq '${MARKER_VALUE}'`))
    .filter((r) => {
      const group = /\/resourceGroups\/([^/]+)\//i.exec(r.id ?? '')?.[1]?.toLowerCase()
      const created = r.tags?.[CREATED_AT_KEY]
      return (
        r.id && group && !ours.has(group) && isExpired({marked: isMarked(r.tags), created: created ? new Date(created) : undefined}, cutoff)
      )
    })
    .sort((a, b) => order(a.type) - order(b.type))
  for (const r of strays) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} ${r.type ?? 'resource'} ${r.id}`)
    if (!options.dryRun) await resources.deleteResourceById(r.id!)
    result.deletedResources.push(r.id!)
  }
  for (const g of expired) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} resource group ${g.name}`)
    if (!options.dryRun) await resources.deleteResourceGroup(g.name!)
    result.deletedResourceGroups.push(g.name!)
  }
  if (options.clusters)
    result.deletedClusters = await gcManagedClusters({
      clusters: options.clusters,
      olderThanMs: options.olderThanMs,
      dryRun: options.dryRun,
      context: ctx,
    })
  return result
}
