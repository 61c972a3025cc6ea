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

/** Our AMI of that name in the client's region, if any. */
export async function findImageByName(ec2: Ec2Api, name: string): Promise<EC2.Image | undefined> {
  const out = await ec2.describeImages({Owners: ['self'], Filters: [{Name: 'name', Values: [name]}]})
  return out.Images?.[0]
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
  /** Wait until every copy is available. */
  wait?: boolean | undefined
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

/**
 * Copies an AMI to other regions in parallel (at most `concurrency` at once).
 * A region that already has an image of the same name is skipped, so a rerun
 * completes what is missing.
 */
export async function copyImage(options: CopyImageOptions): Promise<CopiedImage[]> {
  const {ec2, context: ctx} = options
  const known = new Set((await listRegions(ec2, {all: true})).map((r) => r.name))
  const unknown = options.regions.filter((r) => !known.has(r))
  if (unknown.length > 0) throw new UsageError(`aws: unknown region ${unknown.join(', ')}`, {hint: '`ore aws list-regions --all` lists them'})
  const source = await getImage(ec2, options.imageId)
  const name = source.Name
  if (!name) throw new InfraError(`aws: image ${options.imageId} has no name`)
  const tags = (source.Tags ?? []).filter((t) => !t.Key?.startsWith('aws:'))
  const targets = [...new Set(options.regions)].filter((r) => r !== ec2.region)

  // Each region is find-then-copy on its own: a run killed between two regions, or a
  // concurrent one, finds what was copied and copies only what is missing.
  const copyTo = async (region: string): Promise<CopiedImage> => {
    const target = await options.clientFor(region)
    const existing = await findImageByName(target, name)
    if (existing?.ImageId) {
      ctx.logger.info(`${region}: ${name} exists as ${existing.ImageId}; skipping`)
      return {region, imageId: existing.ImageId, copied: false}
    }
    let imageId: string
    try {
      const out = await target.copyImage({Name: name, Description: source.Description, SourceImageId: options.imageId, SourceRegion: ec2.region})
      if (!out.ImageId) throw new InfraError(`aws: CopyImage to ${region} returned no image id`)
      imageId = out.ImageId
    } catch (error) {
      if (awsCode(error) !== 'InvalidAMIName.Duplicate') throw error
      const again = await findImageByName(target, name)
      if (!again?.ImageId) throw error
      return {region, imageId: again.ImageId, copied: false}
    }
    ctx.logger.info(`${region}: copying ${options.imageId} as ${imageId}`)
    if (tags.length > 0) await target.createTags({Resources: [imageId], Tags: tags})
    if (options.wait) await waitAvailable(target, imageId, ctx)
    return {region, imageId, copied: true}
  }
  const results = new Map<string, CopiedImage>()
  const failed: string[] = []
  // Every region is tried even when one fails (the worker never throws): one error reports them all.
  await forEachLimit(targets, options.concurrency ?? 4, async (region) => {
    try {
      results.set(region, await copyTo(region))
    } catch (error) {
      failed.push(`${region}: ${(error as Error).message}`)
    }
  }, ctx.signal)
  if (failed.length > 0) throw new InfraError(`aws: copy failed in ${failed.length} of ${targets.length} regions: ${failed.join('; ')}`, {hint: 'run the command again: regions that have the image are skipped'})
  return targets.map((region) => results.get(region)!)
}

async function waitAvailable(ec2: Ec2Api, imageId: string, ctx: ServiceContext): Promise<void> {
  await pollUntil(
    async () => {
      const image = (await ec2.describeImages({ImageIds: [imageId]})).Images?.[0]
      if (image?.State === 'available') return true
      if (image?.State === 'failed' || image?.State === 'invalid' || image?.State === 'error') {
        throw new InfraError(`aws: image ${imageId} in ${ec2.region} is ${image.State}: ${image.StateReason?.Message ?? ''}`)
      }
      return undefined
    },
    {what: `image ${imageId} in ${ec2.region}`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
  )
}

export interface DeletedImage {
  region: string
  imageId: string
  snapshotIds: string[]
}

/** Deregisters an AMI (by id or name) and deletes its snapshots unless told to keep them. */
export async function deleteImage(options: {ec2: Ec2Api; imageId?: string | undefined; name?: string | undefined; keepSnapshots?: boolean; context: ServiceContext}): Promise<DeletedImage> {
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
