import {InfraError, UsageError} from '@mantle/kit'

import type {AzureEnvironmentSpec, AzureSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
import {releaseArch, type BoardArch} from './boards.js'
import type {StageContext} from './context.js'

/** The gallery image definition and version plume asks for (ARM field names). */
export interface GalleryImageRequest {
  resourceGroup: string
  gallery: string
  definition: string
  version: string
  location: string
  blobUrl: string
  /** Regions the version is replicated to; the location among them. */
  regions: string[]
  architecture: 'x64' | 'Arm64'
  hyperVGeneration: 'V1' | 'V2'
  identifier: {publisher: string; offer: string; sku: string}
  features: {name: string; value: string}[]
  /** A gallery created now is created shareable with the community with this. */
  community?: AzureSpec['community'] | undefined
}

/** A gallery's sharing, as far as the release needs it. */
export interface GallerySharing {
  /** The sharing profile's permissions: Community only for a gallery created with community information. */
  permissions?: string | undefined
  communityEnabled: boolean
}

/**
 * The Azure calls the release makes, per environment: the narrow side of the
 * Azure API module (page-blob upload to the storage account, managed images,
 * gallery image versions, community sharing).
 */
export interface AzureImagesApi {
  /** `complete` only once an upload finished: a page blob killed mid-upload exists at full size. */
  blobState(container: string, blob: string): Promise<'absent' | 'partial' | 'complete'>
  /** Validates the VHD and uploads it as a page blob (replacing a partial one), marking it complete at the end. */
  uploadVhd(container: string, blob: string, file: string): Promise<void>
  /** The blob's URL, which image creation reads. */
  blobUrl(container: string, blob: string): Promise<string>
  /** A read-only SAS URL of the blob, valid until `expiresOn`. */
  sasUrl(container: string, blob: string, expiresOn: Date): Promise<string>
  /** The VHD blobs of a container (their upload markers left out), for prune. */
  listBlobs(container: string): Promise<{name: string; lastModified: Date}[]>
  /** Deletes a blob and its upload marker. */
  deleteBlob(container: string, blob: string): Promise<void>
  imageExists(resourceGroup: string, name: string): Promise<boolean>
  createImage(resourceGroup: string, name: string, location: string, blobUrl: string, hyperVGeneration: 'V1' | 'V2'): Promise<void>
  deleteImage(resourceGroup: string, name: string): Promise<void>
  /** The version's replication regions, or undefined when it does not exist. */
  galleryImageVersion(resourceGroup: string, gallery: string, definition: string, version: string): Promise<{regions: string[]} | undefined>
  /** Creates the gallery and the image definition when absent, then the version from the blob. */
  createGalleryImageVersion(request: GalleryImageRequest): Promise<void>
  /** Adds regions to the version's replication. */
  replicate(resourceGroup: string, gallery: string, definition: string, version: string, regions: string[]): Promise<void>
  deleteGalleryImageVersion(resourceGroup: string, gallery: string, definition: string, version: string): Promise<void>
  /** The gallery's sharing, or undefined when there is no gallery. */
  gallerySharing(resourceGroup: string, gallery: string): Promise<GallerySharing | undefined>
  shareWithCommunity(resourceGroup: string, gallery: string): Promise<void>
}

export interface AzureStage {
  ctx: StageContext
  spec: AzureSpec
  api: (environment: AzureEnvironmentSpec) => Promise<AzureImagesApi>
}

/** The blob: Flatcar's `<name>-<version>-<channel>-<arch>.vhd` (AzureBlobName in cmd/plume/containerlinux.go). */
export function azureBlobName(spec: AzureSpec, channel: string, version: string, arch: BoardArch): string {
  return `${spec.name}-${version}-${channel}-${arch.arch}.vhd`
}

/** The managed image: the blob's name without .vhd ('+' is not allowed in an image name). */
export function azureImageName(spec: AzureSpec, channel: string, version: string, arch: BoardArch): string {
  return `${spec.name}-${version.replace(/\+/g, '-')}-${channel}-${arch.arch}`
}

/** A gallery definition has one architecture: `<name>` for amd64, `<name>-arm64` for arm64, each with its own SKU. */
export function galleryDefinition(
  spec: AzureSpec,
  channel: string,
  arch: BoardArch,
): {name: string; identifier: {publisher: string; offer: string; sku: string}} {
  return {
    name: `${spec.name}${arch.nameTag}`,
    identifier: {publisher: spec.offer ?? spec.name, offer: spec.offer ?? spec.name, sku: `${channel}${arch.nameTag}`},
  }
}

/**
 * The features of a gallery definition: Flatcar's gallery-image-template.json
 * (platform/api/azure) unless the channel says otherwise. TrustedLaunch needs
 * Hyper-V generation 2, as the template's `if(equals(hyperVGeneration, 'V2'))`.
 */
export function galleryFeatures(spec: AzureSpec): {name: string; value: string}[] {
  const generation = spec.hyperVGeneration ?? 'V2'
  return [
    {name: 'DiskControllerTypes', value: spec.diskControllerTypes ?? 'NVMe,SCSI'},
    {name: 'SecurityType', value: generation === 'V2' ? (spec.securityType ?? 'TrustedLaunchAndConfidentialVMSupported') : 'Standard'},
    {name: 'IsAcceleratedNetworkSupported', value: String(spec.acceleratedNetworking ?? true)},
  ]
}

function locationOf(env: AzureEnvironmentSpec): string {
  return env.location ?? 'westeurope'
}

function regionsOf(spec: AzureSpec, env: AzureEnvironmentSpec): string[] {
  const norm = (r: string) => r.toLowerCase().replace(/\s+/g, '')
  return [...new Set([locationOf(env), ...(spec.replicationRegions ?? [])].map(norm))]
}

/** pre-release on Azure, per environment: upload the VHD, copy it to extra containers, create the image and gallery version. Nothing is shared. */
export function azurePreReleaseSteps(stage: AzureStage): Step[] {
  const {ctx, spec} = stage
  const {channel, version: release} = ctx.release
  const arch = releaseArch(ctx.release)
  const name = azureImageName(spec, channel, release, arch)
  const blob = azureBlobName(spec, channel, release, arch)
  const generation = spec.hyperVGeneration ?? 'V2'
  const steps: Step[] = []
  for (const env of spec.environments) {
    const where = `azure ${env.name}`
    const location = locationOf(env)
    const definition = galleryDefinition(spec, channel, arch)
    const version = spec.gallery ? galleryVersion(release) : ''
    if (ctx.force) {
      steps.push({
        // --force: the image and gallery version made from the old blob go, so that they are made again from the new one.
        id: `azure/${env.name}/replace`,
        where,
        check: async () => {
          const api = await stage.api(env)
          const actions: string[] = []
          if (spec.gallery && (await api.galleryImageVersion(spec.resourceGroup, spec.gallery, definition.name, version)))
            actions.push(`--force: delete gallery image version ${spec.gallery}/${definition.name}/${version}`)
          if (await api.imageExists(spec.resourceGroup, name)) actions.push(`--force: delete image ${name}`)
          return actions
        },
        run: async () => {
          const api = await stage.api(env)
          if (spec.gallery && (await api.galleryImageVersion(spec.resourceGroup, spec.gallery, definition.name, version))) {
            await api.deleteGalleryImageVersion(spec.resourceGroup, spec.gallery, definition.name, version)
          }
          if (await api.imageExists(spec.resourceGroup, name)) await api.deleteImage(spec.resourceGroup, name)
        },
      })
    }
    for (const container of [spec.container, ...(env.additionalContainers ?? [])]) {
      steps.push({
        id: container === spec.container ? `azure/${env.name}/blob` : `azure/${env.name}/blob/${container}`,
        where,
        check: async () => {
          const state = await (await stage.api(env)).blobState(container, blob)
          if (state === 'complete' && !ctx.force) return []
          return [`${state === 'absent' ? 'upload' : 're-upload'} ${blob} to ${spec.storageAccount}/${container}`]
        },
        run: async () => (await stage.api(env)).uploadVhd(container, blob, vhd(stage)),
      })
    }
    steps.push({
      id: `azure/${env.name}/image`,
      where,
      check: async () =>
        (await (await stage.api(env)).imageExists(spec.resourceGroup, name))
          ? []
          : [`create image ${name} (${generation}) in ${spec.resourceGroup} (${location})`],
      run: async () => {
        const api = await stage.api(env)
        await api.createImage(spec.resourceGroup, name, location, await api.blobUrl(spec.container, blob), generation)
      },
    })
    if (spec.gallery) {
      const gallery = spec.gallery
      const regions = regionsOf(spec, env)
      steps.push({
        id: `azure/${env.name}/gallery-version`,
        where,
        check: async () => {
          const existing = await (await stage.api(env)).galleryImageVersion(spec.resourceGroup, gallery, definition.name, version)
          if (!existing)
            return [
              `create version ${version} of ${gallery}/${definition.name} (${arch.azure}, ${generation}, ${galleryFeatures(spec)
                .map((f) => `${f.name} ${f.value}`)
                .join(', ')}) from ${blob}, replicated to ${regions.join(', ')}`,
            ]
          const missing = regions.filter((r) => !existing.regions.includes(r))
          return missing.length === 0 ? [] : [`replicate ${gallery}/${definition.name}/${version} to ${missing.join(', ')}`]
        },
        run: async () => {
          const api = await stage.api(env)
          const existing = await api.galleryImageVersion(spec.resourceGroup, gallery, definition.name, version)
          if (existing) return api.replicate(spec.resourceGroup, gallery, definition.name, version, regions)
          await api.createGalleryImageVersion({
            resourceGroup: spec.resourceGroup,
            gallery,
            definition: definition.name,
            version,
            location,
            blobUrl: await api.blobUrl(spec.container, blob),
            regions,
            architecture: arch.azure,
            hyperVGeneration: generation,
            identifier: definition.identifier,
            features: galleryFeatures(spec),
            community: spec.community,
          })
        },
      })
    }
  }
  return steps
}

/**
 * release on Azure: share the gallery with the community. Azure shares only
 * a gallery created with a Community sharing profile (its publisher, contact,
 * EULA and public name prefix), so without `community` in the channel there
 * is nothing to share, and a gallery made without it is an error to fix by
 * hand rather than a failed call.
 */
export function azureReleaseSteps(stage: AzureStage): Step[] {
  const {spec} = stage
  if (!spec.gallery) return []
  if (!spec.community) {
    stage.ctx.logger.notice(`azure: gallery ${spec.gallery} stays private: the channel has no azure.community settings to share it with`)
    return []
  }
  const gallery = spec.gallery
  return spec.environments.map((env) => ({
    id: `azure/${env.name}/share`,
    where: `azure ${env.name}`,
    check: async () =>
      (await (await stage.api(env)).gallerySharing(spec.resourceGroup, gallery))?.communityEnabled
        ? []
        : [`share gallery ${gallery} with the community`],
    run: async () => {
      const api = await stage.api(env)
      const sharing = await api.gallerySharing(spec.resourceGroup, gallery)
      if (!sharing) throw new UsageError(`azure: no gallery ${gallery} in ${spec.resourceGroup}`, {hint: 'run plume pre-release first'})
      if (sharing.permissions !== 'Community') {
        throw new UsageError(
          `azure: gallery ${gallery} was created without a community sharing profile (permissions ${sharing.permissions ?? 'Private'}), and Azure shares only such a gallery with the community`,
          {
            hint: "create the gallery again with the channel's azure.community settings (delete it, then run plume pre-release)",
          },
        )
      }
      await api.shareWithCommunity(spec.resourceGroup, gallery)
    },
  }))
}

function vhd(stage: AzureStage): string {
  const image = stage.ctx.images.get(stage.spec.image)
  if (!image) throw new InfraError(`azure: ${stage.spec.image} did not pass the signature gate`)
  return image.raw ?? image.path
}

/** Gallery versions must be MAJOR.MINOR.PATCH with 32-bit numbers. */
export function galleryVersion(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (!m) throw new UsageError(`azure: version ${version} is not MAJOR.MINOR.PATCH, which gallery image versions need`)
  return `${m[1]}.${m[2]}.${m[3]}`
}
