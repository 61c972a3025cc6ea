import {InfraError, retry, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {pollUntil} from '../common/wait.js'
import type {DeprecationState, GceComputeApi, GceIamPolicy, GceImage} from './compute.js'

/** The image name the original gave a version: `<family>-<version, . and + as ->`, lowercase. */
export function imageName(family: string, version: string): string {
  return `${family}-${version}`.toLowerCase().replace(/[.+_]/g, '-')
}

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/

/** gs://bucket/object, or an https URL, as the https URL images.insert reads. */
export function storageSourceUrl(source: string): string {
  const gs = /^gs:\/\/([^/]+)\/(.+)$/.exec(source)
  if (gs) return `https://storage.googleapis.com/${gs[1]}/${gs[2]}`
  if (/^https:\/\/storage\.googleapis\.com\/[^/]+\/.+/.test(source)) return source
  throw new UsageError(`gce: "${source}" is not a gs://bucket/object URL`)
}

export interface CreateImageOptions {
  compute: GceComputeApi
  name: string
  /** The disk image tarball in storage (gs://...). */
  source: string
  family?: string | undefined
  description?: string | undefined
  licenses?: string[] | undefined
  /** e.g. VIRTIO_SCSI_MULTIQUEUE, UEFI_COMPATIBLE, GVNIC: what instances of the image may use. */
  guestOsFeatures?: string[] | undefined
  /** X86_64 or ARM64; GCE assumes X86_64 when absent. */
  architecture?: 'X86_64' | 'ARM64' | undefined
  /** Delete an image of the same name first. */
  force?: boolean | undefined
  context: ServiceContext
}

export interface CreateImageResult {
  project: string
  name: string
  /** projects/<p>/global/images/<name>, as plume writes it. */
  path: string
  status: string
  created: boolean
}

/**
 * Creates an image from a storage object and waits until it is READY. An
 * image of that name that is READY is the answer; one that is PENDING is
 * waited for; one that FAILED is an error (unless forced, which deletes and
 * creates it again).
 */
export async function createImage(options: CreateImageOptions): Promise<CreateImageResult> {
  const {compute, name, context: ctx} = options
  if (!NAME.test(name))
    throw new UsageError(`gce: invalid image name "${name}"`, {
      hint: 'lowercase letters, digits and -, starting with a letter, at most 63 characters',
    })
  const rawDisk = {source: storageSourceUrl(options.source)}
  const result = (status: string, created: boolean): CreateImageResult => ({
    project: compute.project,
    name,
    path: `projects/${compute.project}/global/images/${name}`,
    status,
    created,
  })

  const existing = await compute.getImage(name)
  if (existing && options.force) {
    ctx.logger.notice(`--force: deleting image ${name} (${existing.status})`)
    await compute.waitOperation(await compute.deleteImage(name))
  } else if (existing) {
    if (existing.status === 'FAILED')
      throw new InfraError(`gce: image ${name} exists and FAILED`, {hint: '--force deletes it and creates it again'})
    if (existing.status === 'PENDING') ctx.logger.notice(`image ${name} is PENDING; waiting for it`)
    await waitReady(compute, name, ctx)
    return result('READY', false)
  }
  const image: GceImage = {
    name,
    rawDisk,
    labels: {[MARKER_KEY]: MARKER_VALUE},
    ...(options.family ? {family: options.family} : {}),
    ...(options.description ? {description: options.description} : {}),
    ...(options.licenses?.length ? {licenses: options.licenses} : {}),
    ...(options.guestOsFeatures?.length ? {guestOsFeatures: options.guestOsFeatures.map((type) => ({type}))} : {}),
    ...(options.architecture ? {architecture: options.architecture} : {}),
  }
  ctx.logger.info(`creating image ${name} from ${options.source}`)
  await compute.waitOperation(await compute.insertImage(image))
  await waitReady(compute, name, ctx)
  return result('READY', true)
}

async function waitReady(compute: GceComputeApi, name: string, ctx: ServiceContext): Promise<void> {
  await pollUntil(
    async () => {
      const image = await compute.getImage(name)
      if (!image) throw new InfraError(`gce: image ${name} disappeared while it was being created`)
      if (image.status === 'READY') return true
      if (image.status === 'FAILED')
        throw new InfraError(`gce: image ${name} FAILED`, {
          hint: 'check that the source is a disk.raw in a .tar.gz; --force deletes it and tries again',
        })
      ctx.logger.debug(`image ${name}: ${image.status}`)
      return undefined
    },
    {what: `image ${name} to become READY`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
  )
}

/** Images whose name starts with the prefix, oldest first. */
export async function listImages(options: {compute: GceComputeApi; prefix?: string | undefined}): Promise<GceImage[]> {
  const prefix = options.prefix ?? ''
  // The filter is a regular expression on the server; check the prefix here too.
  const images = await options.compute.listImages(prefix ? `name eq "${prefix.replace(/[^a-z0-9-]/g, '')}.*"` : undefined)
  return images
    .filter((i) => i.name.startsWith(prefix))
    .sort((a, b) => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? ''))
}

/** Deletes images by name in parallel and waits; names that do not exist are reported, not fatal. */
export async function deleteImages(options: {
  compute: GceComputeApi
  names: string[]
  context: ServiceContext
}): Promise<{deleted: string[]; missing: string[]}> {
  const {compute, context: ctx} = options
  const out = {deleted: [] as string[], missing: [] as string[]}
  const results = await Promise.allSettled(
    options.names.map(async (name) => {
      if (!(await compute.getImage(name))) return void out.missing.push(name)
      await compute.waitOperation(await compute.deleteImage(name))
      ctx.logger.info(`deleted image ${name}`)
      out.deleted.push(name)
    }),
  )
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []))
  if (failed.length > 0) throw new InfraError(`gce: ${failed.length} of ${options.names.length} deletions failed: ${failed.join('; ')}`)
  return out
}

/** Sets an image's deprecation state (DEPRECATED with a replacement, OBSOLETE, DELETED, or ACTIVE again). */
export async function deprecateImage(options: {
  compute: GceComputeApi
  name: string
  state: DeprecationState
  replacement?: string | undefined
  context: ServiceContext
}): Promise<{name: string; state: DeprecationState}> {
  const {compute} = options
  if (!(await compute.getImage(options.name))) throw new UsageError(`gce: no image ${options.name} in project ${compute.project}`)
  const replacement = options.replacement
    ? options.replacement.includes('/')
      ? options.replacement
      : `projects/${compute.project}/global/images/${options.replacement}`
    : undefined
  await compute.waitOperation(await compute.deprecateImage(options.name, {state: options.state, ...(replacement ? {replacement} : {})}))
  return {name: options.name, state: options.state}
}

/** The binding that lets every Google account use an image: what "public" means for a GCE image. */
export const PUBLIC_IMAGE_BINDING = {role: 'roles/compute.imageUser', member: 'allAuthenticatedUsers'} as const

/** True when the policy grants the image to every Google account (an unconditional binding). */
export function grantsPublicUse(policy: GceIamPolicy): boolean {
  return (policy.bindings ?? []).some(
    (b) => b.role === PUBLIC_IMAGE_BINDING.role && !b.condition && b.members.includes(PUBLIC_IMAGE_BINDING.member),
  )
}

/** The policy with the public binding added; every other binding kept as it was. */
function withPublicUse(policy: GceIamPolicy): GceIamPolicy {
  const bindings = (policy.bindings ?? []).map((b) => ({...b, members: [...b.members]}))
  const role = bindings.find((b) => b.role === PUBLIC_IMAGE_BINDING.role && !b.condition)
  if (role) role.members.push(PUBLIC_IMAGE_BINDING.member)
  else bindings.push({role: PUBLIC_IMAGE_BINDING.role, members: [PUBLIC_IMAGE_BINDING.member]})
  return {...policy, bindings}
}

export async function isImagePublic(options: {compute: GceComputeApi; name: string}): Promise<boolean> {
  return grantsPublicUse(await options.compute.getImageIamPolicy(options.name))
}

/**
 * Lets every Google account use the image (roles/compute.imageUser for
 * allAuthenticatedUsers). Reads the policy first: an image that already has
 * the binding is left alone, and the policy written back keeps every other
 * binding and carries the etag read, so that a concurrent change is refused
 * (412) rather than overwritten; then it reads again and retries.
 */
export async function makeImagePublic(options: {
  compute: GceComputeApi
  name: string
  context: ServiceContext
}): Promise<{name: string; changed: boolean}> {
  const {compute, name, context: ctx} = options
  return retry(
    async () => {
      const policy = await compute.getImageIamPolicy(name)
      if (grantsPublicUse(policy)) return {name, changed: false}
      await compute.setImageIamPolicy(name, withPublicUse(policy))
      ctx.logger.info(`image ${name}: ${PUBLIC_IMAGE_BINDING.role} granted to ${PUBLIC_IMAGE_BINDING.member}`)
      return {name, changed: true}
    },
    {
      attempts: 3,
      baseDelayMs: 0,
      retryable: (error) => [409, 412].includes((error as {statusCode?: number}).statusCode ?? 0),
      onRetry: () => ctx.logger.notice(`image ${name}: its IAM policy changed while being updated; reading it again`),
    },
  )
}
