import {InfraError, UsageError} from '@mantle/kit'
import {gcloud, pollUntil} from '@mantle/cloud'

import type {GceSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
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
}

/** The GCE image calls the release makes: the narrow side of the GCE API module. */
export interface GceImagesApi {
  /** Images of the project that belong to the family (any status, deprecated ones too). */
  listFamily(project: string, family: string): Promise<GceImage[]>
  /** Starts creating an image from a gs:// tarball; returns once GCE accepted it. */
  createImage(project: string, image: {name: string; family: string; description?: string | undefined; licenses?: string[] | undefined; sourceUri: string}): Promise<void>
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

/** `<family>-<version with . and + as ->`: what every image of this version starts with. */
export function gceVersionPrefix(spec: GceSpec, version: string): string {
  return `${gcloud.imageName(spec.family, version)}-v`
}

/** `<family>-<version>-v<YYYYMMDD>`, the date of the day it is created. */
export function gceImageName(spec: GceSpec, version: string, now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '')
  return `${gceVersionPrefix(spec, version)}${day}`
}

/**
 * release on GCE: create the image (or reuse the one of this version), write
 * its name next to the source, deprecate the older images of the family,
 * delete those beyond the limit, make it public.
 */
export function gceReleaseSteps(stage: GceStage): Step[] {
  const {ctx, spec} = stage
  const {version} = ctx.release
  const where = `gce ${spec.project}`
  const current = async (): Promise<GceImage | undefined> => {
    const prefix = gceVersionPrefix(spec, version)
    const mine = (await (await stage.api()).listFamily(spec.project, spec.family)).filter((i) => i.name.startsWith(prefix))
    if (mine.length > 1) {
      throw new InfraError(`gce: ${mine.length} images of version ${version} in family ${spec.family}: ${mine.map((i) => i.name).join(', ')}`, {
        hint: 'delete all but one of them, then run again',
      })
    }
    const image = mine[0]
    if (image?.status === 'FAILED') throw new InfraError(`gce: image ${image.name} FAILED`, {hint: `delete it (ore gcloud delete-images ${image.name}) and run again`})
    return image
  }
  const older = async (): Promise<GceImage[]> => {
    const image = await current()
    const all = await (await stage.api()).listFamily(spec.project, spec.family)
    return all.filter((i) => i.name !== image?.name && i.creationTimestamp <= (image?.creationTimestamp ?? '\uffff')).sort((a, b) => b.creationTimestamp.localeCompare(a.creationTimestamp))
  }
  const sourceUri = (): string => {
    if (ctx.source.bucket.scheme !== 'gs') throw new UsageError(`gce: the channel's source must be a gs:// bucket to create images from (it is ${ctx.source.url})`)
    return ctx.source.bucket.urlOf(`${ctx.source.prefix}${spec.image}`)
  }

  const steps: Step[] = [
    {
      id: 'gce/image',
      where,
      check: async () => {
        const image = await current()
        if (!image) return [`create image ${gceImageName(spec, version, ctx.now())} in family ${spec.family} from ${sourceUri()}`]
        return image.status === 'READY' ? [] : [`wait for image ${image.name} (${image.status})`]
      },
      run: async () => {
        const api = await stage.api()
        let image = await current()
        if (!image) {
          const name = gceImageName(spec, version, ctx.now())
          await api.createImage(spec.project, {name, family: spec.family, description: spec.description, licenses: spec.licenses, sourceUri: sourceUri()})
          image = {name, status: 'PENDING', creationTimestamp: ''}
        }
        const name = image.name
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
  ]
  if (spec.publish) {
    const key = `${ctx.source.prefix}${spec.publish}`
    const content = (name: string): string => `projects/${spec.project}/global/images/${name}\n`
    steps.push({
      id: 'gce/publish-file',
      where: `source ${ctx.source.url}`,
      check: async () => {
        const image = await current()
        if (!image) return [`write ${spec.publish} with the new image's name to ${ctx.source.url}`]
        if ((await readText(ctx.source.bucket, key, ctx.signal)) === content(image.name)) return []
        return [`write ${spec.publish} (${image.name}) to ${ctx.source.url}`]
      },
      run: async () => {
        const image = await current()
        if (!image) throw new InfraError(`gce: no image of version ${version} in family ${spec.family}`)
        await ctx.source.bucket.write(key, content(image.name), {contentType: 'text/plain', signal: ctx.signal})
      },
    })
  }
  steps.push({
    id: 'gce/deprecate-older',
    where,
    check: async () => {
      const image = await current()
      const stale = (await older()).filter((i) => i.deprecated?.state !== 'DEPRECATED' || i.deprecated.replacement?.split('/').pop() !== image?.name)
      return stale.map((i) => `deprecate image ${i.name} in favour of ${image?.name ?? 'the new image'}`)
    },
    run: async () => {
      const api = await stage.api()
      const image = await current()
      if (!image) throw new InfraError(`gce: no image of version ${version} to deprecate the older ones for`)
      for (const i of await older()) {
        if (i.deprecated?.state === 'DEPRECATED' && i.deprecated.replacement?.split('/').pop() === image.name) continue
        await api.deprecate(spec.project, i.name, image.name)
      }
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
        const image = await current()
        if (!image) return ['make the new image public']
        return (await (await stage.api()).isPublic(spec.project, image.name)) ? [] : [`make image ${image.name} public`]
      },
      run: async () => {
        const image = await current()
        if (!image) throw new InfraError(`gce: no image of version ${version} to make public`)
        await (await stage.api()).makePublic(spec.project, image.name)
      },
    })
  }
  return steps
}
