import type * as EC2 from '@aws-sdk/client-ec2'

import {forEachLimit, InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {pollUntil} from '../common/wait.js'
import type {Ec2Api} from './clients.js'
import {awsCode} from './errors.js'

export function toTags(map: Record<string, string>): EC2.Tag[] {
  return Object.entries(map).map(([Key, Value]) => ({Key, Value}))
}

export function fromTags(tags: EC2.Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']))
}

/**
 * Our AMI of that name in the client's region, if any. Two of one name are
 * an error that names them: CopyImage does not refuse a name in use, so a
 * copy racing an earlier run's can leave a duplicate, and picking one of
 * them would publish an AMI list that the other region's users never see
 * (Flatcar's FindImage, platform/api/aws/images.go, refuses them too).
 */
export async function findImageByName(ec2: Ec2Api, name: string): Promise<EC2.Image | undefined> {
  const images = await findImagesByName(ec2, name)
  if (images.length > 1) {
    throw new InfraError(`aws: ${images.length} AMIs named ${name} in ${ec2.region}: ${images.map((i) => i.ImageId).join(', ')}`, {
      hint: `deregister all but one (ore aws delete --region ${ec2.region} --image ID), or replace them with plume pre-release --force`,
    })
  }
  return images[0]
}

/** Every AMI of ours with that name in the client's region (normally none or one). */
export async function findImagesByName(ec2: Ec2Api, name: string): Promise<EC2.Image[]> {
  const out = await ec2.describeImages({Owners: ['self'], Filters: [{Name: 'name', Values: [name]}]})
  return (out.Images ?? []).filter((i) => i.ImageId)
}

/** The EBS snapshot an AMI boots from (the EBS mapping is not always listed first). */
export function snapshotOfImage(image: EC2.Image): string | undefined {
  return image.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId
}

async function getImage(ec2: Ec2Api, imageId: string): Promise<EC2.Image> {
  try {
    const out = await ec2.describeImages({ImageIds: [imageId]})
    const image = out.Images?.[0]
    if (image) return image
  } catch (error) {
    if (awsCode(error) !== 'InvalidAMIID.NotFound' && awsCode(error) !== 'InvalidAMIID.Malformed') throw error
  }
  throw new UsageError(`aws: no image ${imageId} in ${ec2.region}`, {hint: 'check --image and --region'})
}

export interface RegionInfo {
  name: string
  endpoint?: string | undefined
  optInStatus?: string | undefined
}

/** Regions enabled for the account, or all of them (including those not opted in). */
export async function listRegions(ec2: Ec2Api, options: {all?: boolean} = {}): Promise<RegionInfo[]> {
  const out = await ec2.describeRegions({AllRegions: options.all ?? false})
  return (out.Regions ?? [])
    .filter((r) => r.RegionName)
    .map((r) => ({name: r.RegionName!, endpoint: r.Endpoint, optInStatus: r.OptInStatus}))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export interface CopyImageOptions {
  /** A client of the source region. */
  ec2: Ec2Api
  imageId: string
  regions: string[]
  /** A client per target region (the command builds them from the same credentials). */
  clientFor: (region: string) => Promise<Ec2Api>
  /**
   * Wait until every copy is available, then tag its snapshot like the
   * source's (a copy's snapshot exists only once the copy is done).
   */
  wait?: boolean | undefined
  /** How long to wait for one copy (default 30 minutes, Flatcar's 60 polls of 30 s). */
  waitTimeoutMs?: number | undefined
  /** How many regions are copied to at once (default 4). */
  concurrency?: number | undefined
  context: ServiceContext
}

export interface CopiedImage {
  region: string
  imageId: string
  /** False when the region already had an image of that name. */
  copied: boolean
}

/** Tags a copy should carry: the source's, without AWS's reserved aws: ones (which cannot be set). */
function ownTags(tags: EC2.Tag[] | undefined): EC2.Tag[] {
  return (tags ?? []).filter((t) => t.Key && !t.Key.startsWith('aws:'))
}

/** The tags of `wanted` that `current` lacks or holds with another value. */
function missingTags(wanted: EC2.Tag[], current: EC2.Tag[] | undefined): EC2.Tag[] {
  const have = fromTags(current)
  return wanted.filter((t) => have[t.Key!] !== (t.Value ?? ''))
}

/**
 * Copies an AMI to other regions in parallel (at most `concurrency` at once).
 * A region that already has an image of the same name is not copied to
 * again, so a rerun completes what is missing. With `wait`, each copy is
 * waited for (bounded) and then given the source image's tags and its
 * snapshot the source snapshot's tags, as Flatcar's copyImageIn does
 * (platform/api/aws/images.go); only missing tags are written. Finally each
 * region is looked up again: a second AMI of the name is reported.
 */
export async function copyImage(options: CopyImageOptions): Promise<CopiedImage[]> {
  const {ec2, context: ctx} = options
  const known = new Set((await listRegions(ec2, {all: true})).map((r) => r.name))
  const unknown = options.regions.filter((r) => !known.has(r))
  if (unknown.length > 0)
    throw new UsageError(`aws: unknown region ${unknown.join(', ')}`, {hint: '`ore aws list-regions --all` lists them'})
  const source = await getImage(ec2, options.imageId)
  const name = source.Name
  if (!name) throw new InfraError(`aws: image ${options.imageId} has no name`)
  const imageTags = ownTags(source.Tags)
  const sourceSnapshot = snapshotOfImage(source)
  const snapshotTags =
    options.wait && sourceSnapshot ? ownTags((await ec2.describeSnapshots({SnapshotIds: [sourceSnapshot]}))?.Snapshots?.[0]?.Tags) : []
  const targets = [...new Set(options.regions)].filter((r) => r !== ec2.region)
  const bar = ctx.progress?.(`copy ${name} to ${targets.length} regions`, targets.length)

  // Each region is find-then-copy on its own: a run killed between two regions, or a
  // concurrent one, finds what was copied and copies only what is missing.
  const copyTo = async (region: string): Promise<CopiedImage> => {
    const target = await options.clientFor(region)
    const existing = await findImageByName(target, name)
    let imageId = existing?.ImageId
    let copied = false
    if (imageId) {
      ctx.logger.info(`${region}: ${name} exists as ${imageId}; not copying`)
    } else {
      try {
        const out = await target.copyImage({
          Name: name,
          Description: source.Description,
          SourceImageId: options.imageId,
          SourceRegion: ec2.region,
        })
        if (!out.ImageId) throw new InfraError(`aws: CopyImage to ${region} returned no image id`)
        imageId = out.ImageId
        copied = true
        ctx.logger.info(`${region}: copying ${options.imageId} as ${imageId}`)
      } catch (error) {
        if (awsCode(error) !== 'InvalidAMIName.Duplicate') throw error
        const again = await findImageByName(target, name)
        if (!again?.ImageId) throw error
        imageId = again.ImageId
      }
    }
    const image = options.wait ? await waitAvailable(target, imageId, ctx, options.waitTimeoutMs) : existing
    if (options.wait) ctx.logger.info(`${region}: ${imageId} (${name}) is available`)
    const tags = missingTags(imageTags, image?.Tags)
    if (tags.length > 0) await target.createTags({Resources: [imageId], Tags: tags})
    const snapshotId = image && snapshotOfImage(image)
    if (snapshotId && snapshotTags.length > 0) {
      const current = (await target.describeSnapshots({SnapshotIds: [snapshotId]}))?.Snapshots?.[0]?.Tags
      const missing = missingTags(snapshotTags, current)
      if (missing.length > 0) await target.createTags({Resources: [snapshotId], Tags: missing})
    }
    // CopyImage does not refuse a name in use: a copy racing another run's leaves two.
    await findImageByName(target, name)
    return {region, imageId, copied}
  }
  const results = new Map<string, CopiedImage>()
  const failed: string[] = []
  try {
    // Every region is tried even when one fails (the worker never throws): one error reports them all.
    await forEachLimit(
      targets,
      options.concurrency ?? 4,
      async (region) => {
        try {
          results.set(region, await copyTo(region))
        } catch (error) {
          failed.push(`${region}: ${(error as Error).message}`)
        }
        bar?.advance(1)
      },
      ctx.signal,
    )
  } finally {
    bar?.finish()
  }
  if (failed.length > 0)
    throw new InfraError(`aws: copy failed in ${failed.length} of ${targets.length} regions: ${failed.join('; ')}`, {
      hint: 'run the command again: regions that have the image are skipped',
    })
  return targets.map((region) => results.get(region)!)
}

/** Waits until the image is available (30 minutes by default); returns it as described then. */
export async function waitAvailable(ec2: Ec2Api, imageId: string, ctx: ServiceContext, timeoutMs?: number): Promise<EC2.Image> {
  return pollUntil(
    async () => {
      const image = (await ec2.describeImages({ImageIds: [imageId]})).Images?.[0]
      if (image?.State === 'available') return image
      if (image?.State === 'failed' || image?.State === 'invalid' || image?.State === 'error' || image?.State === 'deregistered') {
        throw new InfraError(`aws: image ${imageId} in ${ec2.region} is ${image.State}: ${image.StateReason?.Message ?? ''}`, {
          hint: 'deregister it and run again',
        })
      }
      ctx.logger.debug(`image ${imageId} in ${ec2.region}: ${image?.State ?? 'not visible yet'}`)
      return undefined
    },
    {
      what: `image ${imageId} in ${ec2.region} to become available`,
      intervalMs: ctx.pollIntervalMs,
      timeoutMs: timeoutMs ?? 1_800_000,
      signal: ctx.signal,
    },
  )
}

export interface DeletedImage {
  region: string
  imageId: string
  snapshotIds: string[]
}

/** Deregisters an AMI (by id or name) and deletes its snapshots unless told to keep them. */
export async function deleteImage(options: {
  ec2: Ec2Api
  imageId?: string | undefined
  name?: string | undefined
  keepSnapshots?: boolean
  context: ServiceContext
}): Promise<DeletedImage> {
  const {ec2, context: ctx} = options
  const image = options.imageId ? await getImage(ec2, options.imageId) : options.name ? await findImageByName(ec2, options.name) : undefined
  if (!image?.ImageId) throw new UsageError(`aws: no image named ${options.name ?? options.imageId} in ${ec2.region}`)
  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.SnapshotId ? [b.Ebs.SnapshotId] : []))
  await ec2.deregisterImage({ImageId: image.ImageId})
  ctx.logger.info(`deregistered ${image.ImageId} in ${ec2.region}`)
  if (options.keepSnapshots) return {region: ec2.region, imageId: image.ImageId, snapshotIds: []}
  for (const SnapshotId of snapshotIds) {
    await ec2.deleteSnapshot({SnapshotId})
    ctx.logger.info(`deleted snapshot ${SnapshotId}`)
  }
  return {region: ec2.region, imageId: image.ImageId, snapshotIds}
}
export * from './marketplace.js'
