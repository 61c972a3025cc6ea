import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'

import {fixPrefix, InfraError, md5Of, openLocation, UsageError, type Bucket} from '@mantle/kit'
import {gcloud, pollUntil} from '@mantle/cloud'

import type {GceSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
import {releaseArch, type BoardArch} from './boards.js'
import type {StageContext} from './context.js'
import {readText} from './text.js'

export type GceImageStatus = 'PENDING' | 'READY' | 'FAILED' | 'DELETING'

export interface GceImage {
  name: string
  status: GceImageStatus
  family?: string | undefined
  /** RFC 3339, as GCE reports it. */
  creationTimestamp: string
  deprecated?: {state: string; replacement?: string | undefined} | undefined
  /** X86_64 or ARM64; an image made without one is X86_64. */
  architecture?: string | undefined
}

/** The images.insert request plume makes (Compute Engine v1 field names). */
export interface GceImageRequest {
  name: string
  family: string
  description?: string | undefined
  licenses?: string[] | undefined
  /** gs:// URL of the tarball. */
  sourceUri: string
  guestOsFeatures: string[]
  architecture: 'X86_64' | 'ARM64'
}

/** The GCE image calls the release makes: the narrow side of the GCE API module. */
export interface GceImagesApi {
  /** Images of the project that belong to the family (any status, deprecated ones too). */
  listFamily(project: string, family: string): Promise<GceImage[]>
  /** Starts creating an image from a gs:// tarball; returns once GCE accepted it. */
  createImage(project: string, image: GceImageRequest): Promise<void>
  getImage(project: string, name: string): Promise<GceImage | undefined>
  deprecate(project: string, name: string, replacement: string): Promise<void>
  deleteImage(project: string, name: string): Promise<void>
  /** True when allAuthenticatedUsers may use the image. */
  isPublic(project: string, name: string): Promise<boolean>
  makePublic(project: string, name: string): Promise<void>
}

export interface GceStage {
  ctx: StageContext
  spec: GceSpec
  api: () => Promise<GceImagesApi>
}

/** Flatcar's guest OS features (CreateImage in platform/api/gcloud/image.go): gVNIC for C3/C4/N4, UEFI for Shielded VMs. */
export const FLATCAR_GUEST_OS_FEATURES = ['VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE', 'GVNIC']

/**
 * `<family>-<version, . and + as ->[-arm64]`, Flatcar's name (doGCE in
 * cmd/plume/release.go): one name per version and board, so that a rerun
 * finds its image by name on any day.
 */
export function gceImageName(spec: GceSpec, version: string, arch: BoardArch): string {
  return `${gcloud.imageName(spec.family, version)}${arch.nameTag}`
}

/** `<description>, <version>, <board> published on <YYYY-MM-DD>`, as Flatcar describes its images. */
export function gceDescription(spec: GceSpec, version: string, board: string, now: Date): string {
  return `${spec.description ?? spec.family}, ${version}, ${board} published on ${now.toISOString().slice(0, 10)}`
}

/** Where the verified tarball goes for images.insert: the channel's gce.staging, else gce-staging/ in the source's bucket. */
export function gceStagingUrl(ctx: StageContext, spec: GceSpec): string {
  if (spec.staging) return spec.staging
  if (ctx.source.bucket.scheme !== 'gs') {
    throw new UsageError(`gce: images are made from a gs:// object, and the channel's source is ${ctx.source.url}`, {
      hint: 'set gce.staging to a gs:// location in the channel config',
    })
  }
  return ctx.source.bucket.urlOf('gce-staging/')
}

async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}

/**
 * release on GCE. The image is made from the bytes that passed the
 * signature gate, not from the source object: the verified tarball in the
 * cache is uploaded to a staging object (GCS checks its MD5 on the way in),
 * images.insert reads that object, and the object goes once the image is
 * READY. A source object replaced between verification and images.insert
 * cannot slip in, and the source need not be on GCS at all (Flatcar too
 * uploads the downloaded, verified file to a bucket first: doGCE in
 * cmd/plume/release.go). Then: the image's name next to the source, older
 * images of the family and architecture deprecated (not OBSOLETE or DELETED
 * ones: deprecating them again would make them usable), those beyond the
 * limit deleted, the image made public.
 */
export function gceReleaseSteps(stage: GceStage): Step[] {
  const {ctx, spec} = stage
  const {version, channel, board} = ctx.release
  const arch = releaseArch(ctx.release)
  const name = gceImageName(spec, version, arch)
  const where = `gce ${spec.project}`
  const features = spec.guestOsFeatures ?? FLATCAR_GUEST_OS_FEATURES
  let staging: {bucket: Bucket; key: string; url: string} | undefined
  const staged = async () => {
    if (!staging) {
      const location = await openLocation(gceStagingUrl(ctx, spec), ctx.storage)
      const key = `${fixPrefix(location.key)}${channel}/${board}/${version}/${spec.image}`
      staging = {bucket: location.bucket, key, url: location.bucket.urlOf(key)}
    }
    return staging
  }
  const verified = () => {
    const image = ctx.images.get(spec.image)
    if (!image) throw new InfraError(`gce: ${spec.image} did not pass the signature gate`)
    return image
  }
  let localMd5: string | undefined
  const md5 = async () => (localMd5 ??= await md5OfFile(verified().path))
  /** True when the staging object holds the verified bytes. */
  const stagedIsVerified = async (): Promise<boolean> => {
    const s = await staged()
    const info = await s.bucket.stat(s.key, {signal: ctx.signal})
    return info !== undefined && (await md5Of(s.bucket, info, ctx.signal)) === (await md5())
  }
  const current = async (): Promise<GceImage | undefined> => {
    const image = await (await stage.api()).getImage(spec.project, name)
    if (image?.status === 'FAILED')
      throw new InfraError(`gce: image ${image.name} FAILED`, {
        hint: `delete it (ore gcloud delete-images ${image.name}) or run release --force`,
      })
    return image
  }
  const sameArch = (i: GceImage): boolean => (i.architecture ?? 'X86_64') === arch.gce
  const older = async (): Promise<GceImage[]> => {
    const image = await current()
    const all = await (await stage.api()).listFamily(spec.project, spec.family)
    return all
      .filter((i) => i.name !== name && sameArch(i) && i.creationTimestamp <= (image?.creationTimestamp ?? '\uffff'))
      .sort((a, b) => b.creationTimestamp.localeCompare(a.creationTimestamp))
  }

  const steps: Step[] = []
  if (ctx.force) {
    steps.push({
      id: 'gce/replace',
      where,
      check: async () =>
        (await (await stage.api()).getImage(spec.project, name)) ? [`--force: delete image ${name} to make it again`] : [],
      run: async () => {
        await (await stage.api()).deleteImage(spec.project, name)
        ctx.logger.notice(`--force: deleted GCE image ${name}`)
      },
    })
  }
  steps.push(
    {
      id: 'gce/staged-image',
      where,
      check: async () => {
        if (await current()) return []
        if (await stagedIsVerified()) return []
        return [`upload the verified ${spec.image} to ${(await staged()).url}`]
      },
      run: async (c) => {
        const s = await staged()
        const file = verified().path
        const size = (await stat(file)).size
        let sent = 0
        await s.bucket.write(s.key, createReadStream(file), {
          size,
          md5: await md5(),
          signal: c.signal,
          onProgress: (total: number) => {
            c.advance(total - sent)
            sent = total
          },
        })
      },
    },
    {
      id: 'gce/image',
      where,
      check: async () => {
        const image = await current()
        if (!image)
          return [`create image ${name} (${arch.gce}, ${features.join(', ')}) in family ${spec.family} from ${(await staged()).url}`]
        return image.status === 'READY' ? [] : [`wait for image ${image.name} (${image.status})`]
      },
      run: async () => {
        const api = await stage.api()
        if (!(await current())) {
          // Checked again right before: images.insert reads exactly the bytes that verified.
          if (!(await stagedIsVerified()))
            throw new InfraError(`gce: ${(await staged()).url} does not hold the verified ${spec.image}`, {hint: 'run plume release again'})
          await api.createImage(spec.project, {
            name,
            family: spec.family,
            description: gceDescription(spec, version, board, ctx.now()),
            licenses: spec.licenses,
            sourceUri: (await staged()).url,
            guestOsFeatures: features,
            architecture: arch.gce,
          })
        }
        await pollUntil(
          async () => {
            const now = await api.getImage(spec.project, name)
            if (now?.status === 'FAILED') throw new InfraError(`gce: image ${name} FAILED`)
            return now?.status === 'READY' ? true : undefined
          },
          {what: `image ${name} to become READY`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
        )
      },
    },
    {
      // The staged tarball is only a means: once the image is READY it goes (also after a kill between the two).
      id: 'gce/staged-object',
      where,
      check: async () => {
        const s = await staged()
        if (!(await s.bucket.stat(s.key, {signal: ctx.signal}))) return []
        return (await current())?.status === 'READY' ? [`delete the staged ${s.url}`] : []
      },
      run: async () => {
        const s = await staged()
        await s.bucket.delete(s.key, {signal: ctx.signal})
      },
    },
  )
  if (spec.publish) {
    const key = `${ctx.source.prefix}${spec.publish}`
    const content = `projects/${spec.project}/global/images/${name}\n`
    steps.push({
      id: 'gce/publish-file',
      where: `source ${ctx.source.url}`,
      check: async () =>
        (await readText(ctx.source.bucket, key, ctx.signal)) === content ? [] : [`write ${spec.publish} (${name}) to ${ctx.source.url}`],
      run: async () => {
        await ctx.source.bucket.write(key, content, {contentType: 'text/plain', signal: ctx.signal})
      },
    })
  }
  const toDeprecate = async (): Promise<GceImage[]> =>
    (await older()).filter((i) => {
      const state = i.deprecated?.state
      // OBSOLETE and DELETED are further along than DEPRECATED: setting DEPRECATED again would revive them.
      if (state === 'OBSOLETE' || state === 'DELETED') return false
      return state !== 'DEPRECATED' || i.deprecated?.replacement?.split('/').pop() !== name
    })
  steps.push({
    id: 'gce/deprecate-older',
    where,
    check: async () => (await toDeprecate()).map((i) => `deprecate image ${i.name} in favour of ${name}`),
    run: async () => {
      const api = await stage.api()
      if (!(await current())) throw new InfraError(`gce: no image ${name} to deprecate the older ones for`)
      for (const i of await toDeprecate()) await api.deprecate(spec.project, i.name, name)
    },
  })
  if (spec.limit) {
    const limit = spec.limit
    steps.push({
      id: 'gce/limit',
      where,
      check: async () => (await older()).slice(limit).map((i) => `delete image ${i.name} (beyond the limit of ${limit} older images)`),
      run: async () => {
        const api = await stage.api()
        for (const i of (await older()).slice(limit)) await api.deleteImage(spec.project, i.name)
      },
    })
  }
  if (spec.public) {
    steps.push({
      id: 'gce/public',
      where,
      check: async () => {
        if (!(await current())) return [`make image ${name} public`]
        return (await (await stage.api()).isPublic(spec.project, name)) ? [] : [`make image ${name} public`]
      },
      run: async () => {
        if (!(await current())) throw new InfraError(`gce: no image ${name} to make public`)
        await (await stage.api()).makePublic(spec.project, name)
      },
    })
  }
  return steps
}
