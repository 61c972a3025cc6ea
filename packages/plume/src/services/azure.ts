import {InfraError, UsageError} from '@mantle/kit'

import type {AzureEnvironmentSpec, AzureSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
import type {StageContext} from './context.js'

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
  imageExists(resourceGroup: string, name: string): Promise<boolean>
  createImage(resourceGroup: string, name: string, location: string, blobUrl: string): Promise<void>
  galleryImageVersionExists(resourceGroup: string, gallery: string, definition: string, version: string): Promise<boolean>
  /** Creates the gallery and the image definition when absent, then the version from the blob. */
  createGalleryImageVersion(resourceGroup: string, gallery: string, definition: string, version: string, source: {location: string; blobUrl: string}): Promise<void>
  isCommunityShared(resourceGroup: string, gallery: string): Promise<boolean>
  shareWithCommunity(resourceGroup: string, gallery: string): Promise<void>
}

export interface AzureStage {
  ctx: StageContext
  spec: AzureSpec
  api: (environment: AzureEnvironmentSpec) => Promise<AzureImagesApi>
}

/** `<name>-<version>-<channel>`: the blob (with .vhd) and the image. */
export function azureImageName(spec: AzureSpec, channel: string, version: string): string {
  return `${spec.name}-${version.replace(/\+/g, '-')}-${channel}`
}

/** pre-release on Azure, per environment: upload the VHD, copy it to extra containers, create the image (and gallery version). Nothing is shared. */
export function azurePreReleaseSteps(stage: AzureStage): Step[] {
  const {ctx, spec} = stage
  const name = azureImageName(spec, ctx.release.channel, ctx.release.version)
  const blob = `${name}.vhd`
  const steps: Step[] = []
  for (const env of spec.environments) {
    const where = `azure ${env.name}`
    const location = env.location ?? 'westeurope'
    steps.push({
      id: `azure/${env.name}/blob`,
      where,
      check: async () => {
        const state = await (await stage.api(env)).blobState(spec.container, blob)
        if (state === 'complete' && !ctx.force) return []
        return [`${state === 'absent' ? 'upload' : 're-upload'} ${blob} to ${spec.storageAccount}/${spec.container}`]
      },
      run: async () => (await stage.api(env)).uploadVhd(spec.container, blob, vhd(stage)),
    })
    for (const container of env.additionalContainers ?? []) {
      steps.push({
        id: `azure/${env.name}/blob/${container}`,
        where,
        check: async () => ((await (await stage.api(env)).blobState(container, blob)) === 'complete' ? [] : [`upload ${blob} to ${spec.storageAccount}/${container}`]),
        run: async () => (await stage.api(env)).uploadVhd(container, blob, vhd(stage)),
      })
    }
    steps.push({
      id: `azure/${env.name}/image`,
      where,
      check: async () => ((await (await stage.api(env)).imageExists(spec.resourceGroup, name)) ? [] : [`create image ${name} in ${spec.resourceGroup} (${location})`]),
      run: async () => {
        const api = await stage.api(env)
        await api.createImage(spec.resourceGroup, name, location, await api.blobUrl(spec.container, blob))
      },
    })
    if (spec.gallery) {
      const gallery = spec.gallery
      const version = galleryVersion(ctx.release.version)
      steps.push({
        id: `azure/${env.name}/gallery-version`,
        where,
        check: async () =>
          (await (await stage.api(env)).galleryImageVersionExists(spec.resourceGroup, gallery, spec.name, version)) ? [] : [`create version ${version} of ${gallery}/${spec.name} from image ${name}`],
        run: async () => {
          const api = await stage.api(env)
          await api.createGalleryImageVersion(spec.resourceGroup, gallery, spec.name, version, {location, blobUrl: await api.blobUrl(spec.container, blob)})
        },
      })
    }
  }
  return steps
}

/** release on Azure: share the gallery with the community. Without a gallery there is nothing to share. */
export function azureReleaseSteps(stage: AzureStage): Step[] {
  const {spec} = stage
  if (!spec.gallery) return []
  const gallery = spec.gallery
  return spec.environments.map((env) => ({
    id: `azure/${env.name}/share`,
    where: `azure ${env.name}`,
    check: async () => ((await (await stage.api(env)).isCommunityShared(spec.resourceGroup, gallery)) ? [] : [`share gallery ${gallery} with the community`]),
    run: async () => (await stage.api(env)).shareWithCommunity(spec.resourceGroup, gallery),
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
