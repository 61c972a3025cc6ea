import {aws} from '@mantle/cloud'
import {UsageError, type Logger} from '@mantle/kit'

import type {AwsSpec} from '../config/types.js'
import type {AwsClients} from './aws.js'

export interface PruneOptions {
  channel: string
  spec: AwsSpec
  clients: AwsClients
  /** Keep images created less than this many days ago. */
  days?: number | undefined
  /** Keep this many of the newest images in each region whatever their age. */
  keepLast?: number | undefined
  /** Keep images launched less than this many days ago (EC2's lastLaunchedTime); turns the check on. */
  daysLastLaunched?: number | undefined
  /** Keep images launched recently: within daysLastLaunched days, else within `days`. */
  checkLastLaunched?: boolean | undefined
  dryRun: boolean
  now: Date
  logger: Logger
  signal: AbortSignal
}

export interface PrunedImage {
  partition: string
  region: string
  imageId: string
  name: string
  created: string
  /** False with dryRun. */
  deleted: boolean
}

/**
 * Deletes a channel's old AMIs (and their snapshots) in every region of every
 * partition: all but the `keepLast` newest, and of those only the ones older
 * than `days`; with the launch check, not those launched within
 * `daysLastLaunched` days either. With neither limit it refuses: deleting every image of a
 * channel is never what a prune means.
 */
export async function pruneAws(options: PruneOptions): Promise<PrunedImage[]> {
  if (options.days === undefined && options.keepLast === undefined) {
    throw new UsageError('prune needs --days or --keep-last (or both)', {hint: 'e.g. --days 90 --keep-last 3'})
  }
  const prefix = `${aws.sanitizeAmiName(`${options.spec.baseName}-${options.channel}-`)}`
  const daysAgo = (days: number): string => new Date(options.now.getTime() - days * 86_400_000).toISOString()
  const cutoff = options.days === undefined ? undefined : daysAgo(options.days)
  const checkLaunch = options.checkLastLaunched === true || options.daysLastLaunched !== undefined
  const launchDays = options.daysLastLaunched ?? options.days
  if (checkLaunch && launchDays === undefined) {
    throw new UsageError('--check-last-launched needs --days-last-launched or --days: launched within how many days keeps an image', {hint: 'e.g. --check-last-launched --days-last-launched 30'})
  }
  const launchCutoff = checkLaunch && launchDays !== undefined ? daysAgo(launchDays) : undefined
  const out: PrunedImage[] = []
  for (const partition of options.spec.partitions) {
    for (const region of partition.regions) {
      options.signal.throwIfAborted()
      const ec2 = await options.clients.ec2(partition, region)
      const images = ((await ec2.describeImages({Owners: ['self'], Filters: [{Name: 'name', Values: [`${prefix}*`]}]})).Images ?? [])
        .filter((i) => i.ImageId && i.Name?.startsWith(prefix))
        .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))
      const candidates = images.slice(options.keepLast ?? 0).filter((i) => cutoff === undefined || (i.CreationDate ?? '') < cutoff)
      for (const image of candidates) {
        if (launchCutoff !== undefined) {
          const launched = await lastLaunched(ec2, image.ImageId!)
          if (launched !== undefined && launched >= launchCutoff) {
            options.logger.notice(`keeping ${image.ImageId} (${image.Name}) in ${region}: launched ${launched}`)
            continue
          }
        }
        if (!options.dryRun) await aws.deleteImage({ec2, imageId: image.ImageId, context: {logger: options.logger, signal: options.signal}})
        out.push({partition: partition.name, region, imageId: image.ImageId!, name: image.Name!, created: image.CreationDate ?? '', deleted: !options.dryRun})
      }
    }
  }
  return out
}

/** When the AMI was last launched (ISO 8601), as EC2 records it (DescribeImageAttribute lastLaunchedTime); undefined if never. */
async function lastLaunched(ec2: aws.Ec2Api, imageId: string): Promise<string | undefined> {
  const out = await ec2.describeImageAttribute({ImageId: imageId, Attribute: 'lastLaunchedTime'})
  const value = out.LastLaunchedTime?.Value
  return value ? new Date(value).toISOString() : undefined
}
