import {aws} from '@mantle/cloud'
import {UsageError, type Logger} from '@mantle/kit'

import type {AwsSpec, AzureEnvironmentSpec, AzureSpec, ChannelSpec} from '../config/types.js'
import type {AwsClients} from './aws.js'
import type {AzureImagesApi} from './azure.js'
import type {CloudDeps} from './stages.js'

export interface PruneOptions {
  channel: string
  spec: AwsSpec
  clients: AwsClients
  /** Keep images created less than this many days ago. */
  days?: number | undefined
  /** Keep this many of the newest images of each architecture in each region whatever their age. */
  keepLast?: number | undefined
  /** Keep images launched less than this many days ago (EC2's lastLaunchedTime); turns the check on. */
  daysLastLaunched?: number | undefined
  /** Keep images launched recently: within daysLastLaunched days, else within `days`. */
  checkLastLaunched?: boolean | undefined
  /**
   * Soft delete first: an image due for deletion is made private and tagged
   * SoftDeleteDate; only a prune this many days later deletes it (Flatcar's
   * --days-soft-deleted). 0 or undefined: delete at once.
   */
  daysSoftDeleted?: number | undefined
  dryRun: boolean
  now: Date
  logger: Logger
  signal: AbortSignal
}

export type PruneAction = 'deleted' | 'soft-deleted' | 'would delete' | 'would soft-delete'

export interface PrunedImage {
  partition: string
  region: string
  imageId: string
  name: string
  created: string
  action: PruneAction
  /** False with dryRun, and for a soft delete. */
  deleted: boolean
  /** Snapshots that could not be deleted (another AMI uses them, say): warned about, not fatal. */
  snapshotErrors?: string[] | undefined
}

/** The tag that marks a soft-deleted image, with the time it was soft-deleted (RFC 3339), as Flatcar's prune sets it. */
export const SOFT_DELETE_TAG = 'SoftDeleteDate'

const DAY = 86_400_000

/**
 * Deletes a channel's old AMIs (and their snapshots) in every region of every
 * partition. The channel's images are the ones tagged Channel=<channel>
 * (Flatcar's GetImagesByTag in cmd/plume/prune.go), not a name prefix, which
 * another channel's names may share. Per region and architecture, all but
 * the `keepLast` newest, and of those only the ones older than `days`; with
 * the launch check, not those launched within `daysLastLaunched` days
 * either. With a soft-delete window an image is first made private and
 * tagged, and deleted by a prune after the window. A snapshot that cannot be
 * deleted is a warning, and the prune goes on. With neither limit it refuses:
 * deleting every image of a channel is never what a prune means.
 */
export async function pruneAws(options: PruneOptions): Promise<PrunedImage[]> {
  if (options.days === undefined && options.keepLast === undefined) {
    throw new UsageError('prune needs --days or --keep-last (or both)', {hint: 'e.g. --days 90 --keep-last 3'})
  }
  const daysAgo = (days: number): string => new Date(options.now.getTime() - days * DAY).toISOString()
  const cutoff = options.days === undefined ? undefined : daysAgo(options.days)
  const checkLaunch = options.checkLastLaunched === true || options.daysLastLaunched !== undefined
  const launchDays = options.daysLastLaunched ?? options.days
  if (checkLaunch && launchDays === undefined) {
    throw new UsageError('--check-last-launched needs --days-last-launched or --days: launched within how many days keeps an image', {
      hint: 'e.g. --check-last-launched --days-last-launched 30',
    })
  }
  const launchCutoff = checkLaunch && launchDays !== undefined ? daysAgo(launchDays) : undefined
  const softDays = options.daysSoftDeleted ?? 0
  const context = {logger: options.logger, signal: options.signal}
  const out: PrunedImage[] = []
  for (const partition of options.spec.partitions) {
    for (const region of partition.regions) {
      options.signal.throwIfAborted()
      const ec2 = await options.clients.ec2(partition, region)
      const tagged = (
        (await ec2.describeImages({Owners: ['self'], Filters: [{Name: 'tag:Channel', Values: [options.channel]}]})).Images ?? []
      ).filter((i) => i.ImageId)
      // keep-last counts per architecture: a channel publishes each board's AMI, and the newest arm64 AMI must not push out the newest amd64 one.
      const byArch = new Map<string, typeof tagged>()
      for (const i of tagged) byArch.set(i.Architecture ?? '', [...(byArch.get(i.Architecture ?? '') ?? []), i])
      for (const images of byArch.values()) {
        images.sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))
        const candidates = images.slice(options.keepLast ?? 0).filter((i) => cutoff === undefined || (i.CreationDate ?? '') < cutoff)
        for (const image of candidates) {
          const id = image.ImageId!
          const name = image.Name ?? id
          if (launchCutoff !== undefined) {
            const launched = await lastLaunched(ec2, id)
            if (launched !== undefined && launched >= launchCutoff) {
              options.logger.notice(`keeping ${id} (${name}) in ${region}: launched ${launched}`)
              continue
            }
          }
          const entry = {partition: partition.name, region, imageId: id, name, created: image.CreationDate ?? ''}
          const softDeleted = aws.fromTags(image.Tags)[SOFT_DELETE_TAG]
          if (softDays > 0 && !softDeleted) {
            if (!options.dryRun) {
              // Private first, then the tag: a run killed between the two soft-deletes it again, which changes nothing.
              await ec2.modifyImageAttribute({ImageId: id, LaunchPermission: {Remove: [{Group: 'all'}]}})
              await ec2.createTags({Resources: [id], Tags: [{Key: SOFT_DELETE_TAG, Value: options.now.toISOString()}]})
              options.logger.info(`soft-deleted ${id} (${name}) in ${region}`)
            }
            out.push({...entry, action: options.dryRun ? 'would soft-delete' : 'soft-deleted', deleted: false})
            continue
          }
          if (softDays > 0 && softDeleted && new Date(softDeleted).getTime() > options.now.getTime() - softDays * DAY) {
            options.logger.info(`keeping ${id} (${name}) in ${region}: soft-deleted ${softDeleted}, within ${softDays} days`)
            continue
          }
          if (options.dryRun) {
            out.push({...entry, action: 'would delete', deleted: false})
            continue
          }
          const snapshotErrors = await deleteAmi(ec2, image, context)
          out.push({...entry, action: 'deleted', deleted: true, ...(snapshotErrors.length > 0 ? {snapshotErrors} : {})})
        }
      }
    }
  }
  return out
}

/** Deregisters an AMI, then deletes its snapshots; a snapshot that cannot go is a warning (Flatcar's RemoveImage). */
async function deleteAmi(
  ec2: aws.Ec2Api,
  image: {
    ImageId?: string | undefined
    Name?: string | undefined
    BlockDeviceMappings?: {Ebs?: {SnapshotId?: string | undefined} | undefined}[] | undefined
  },
  ctx: {logger: Logger},
): Promise<string[]> {
  await ec2.deregisterImage({ImageId: image.ImageId!})
  ctx.logger.info(`deregistered ${image.ImageId} (${image.Name}) in ${ec2.region}`)
  const errors: string[] = []
  for (const snapshotId of (image.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.SnapshotId ? [b.Ebs.SnapshotId] : []))) {
    try {
      await ec2.deleteSnapshot({SnapshotId: snapshotId})
    } catch (error) {
      const message = `${snapshotId}: ${(error as Error).message}`
      ctx.logger.warn(`could not delete snapshot ${message} in ${ec2.region}; going on`)
      errors.push(message)
    }
  }
  return errors
}

/** When the AMI was last launched (ISO 8601), as EC2 records it (DescribeImageAttribute lastLaunchedTime); undefined if never. */
async function lastLaunched(ec2: aws.Ec2Api, imageId: string): Promise<string | undefined> {
  const out = await ec2.describeImageAttribute({ImageId: imageId, Attribute: 'lastLaunchedTime'})
  const value = out.LastLaunchedTime?.Value
  return value ? new Date(value).toISOString() : undefined
}

export interface PrunedBlob {
  environment: string
  container: string
  blob: string
  lastModified: string
  action: 'deleted' | 'would delete'
}

/**
 * Deletes a channel's old VHD blobs from the Azure storage account of each
 * environment (Flatcar's pruneAzure in cmd/plume/prune.go): the blobs named
 * as plume names this channel's (`<name>-<version>-<channel>-<arch>.vhd`),
 * last modified more than `days` ago. Without --days there is nothing to go
 * by: blobs carry no launch history and keep-last alone would delete fresh
 * ones of a channel that releases often.
 */
export async function pruneAzureBlobs(options: {
  channel: string
  spec: AzureSpec
  api: (environment: AzureEnvironmentSpec) => Promise<AzureImagesApi>
  days?: number | undefined
  dryRun: boolean
  now: Date
  logger: Logger
}): Promise<PrunedBlob[]> {
  if (options.days === undefined) return []
  const cutoff = options.now.getTime() - options.days * DAY
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const ours = new RegExp(`^${escape(options.spec.name)}-[0-9][0-9A-Za-z._+-]*-${escape(options.channel)}-(amd64|arm64)\\.vhd$`)
  const out: PrunedBlob[] = []
  for (const env of options.spec.environments) {
    const api = await options.api(env)
    for (const container of [options.spec.container, ...(env.additionalContainers ?? [])]) {
      for (const blob of await api.listBlobs(container)) {
        if (!ours.test(blob.name) || blob.lastModified.getTime() >= cutoff) continue
        if (!options.dryRun) {
          await api.deleteBlob(container, blob.name)
          options.logger.info(`deleted blob ${container}/${blob.name}`)
        }
        out.push({
          environment: env.name,
          container,
          blob: blob.name,
          lastModified: blob.lastModified.toISOString(),
          action: options.dryRun ? 'would delete' : 'deleted',
        })
      }
    }
  }
  return out
}

export interface PruneChannelOptions extends Omit<PruneOptions, 'spec' | 'clients'> {
  spec: ChannelSpec
  clouds: CloudDeps
}

/**
 * `plume prune`: the channel's old AMIs in every region (when it has AWS
 * settings), then its old VHD blobs (when it has Azure settings), as
 * Flatcar's prune does both.
 */
export async function pruneChannel(options: PruneChannelOptions): Promise<{images: PrunedImage[]; blobs: PrunedBlob[]}> {
  const {spec, clouds} = options
  if (!spec.aws && !spec.azure) throw new UsageError(`channel "${options.channel}" has no aws or azure settings: nothing to prune`)
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new UsageError(`no ${what} credentials to prune with`)
    return value
  }
  const images = spec.aws ? await pruneAws({...options, spec: spec.aws, clients: need(clouds.aws, 'aws')}) : []
  const azure = spec.azure
  const blobs = azure
    ? await pruneAzureBlobs({...options, spec: azure, api: (env) => need(clouds.azure, 'azure')(env, azure, options.channel)})
    : []
  return {images, blobs}
}
