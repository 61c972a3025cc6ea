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
 * than `days`. With neither limit it refuses: deleting every image of a
 * channel is never what a prune means.
 */
export async function pruneAws(options: PruneOptions): Promise<PrunedImage[]> {
  if (options.days === undefined && options.keepLast === undefined) {
    throw new UsageError('prune needs --days or --keep-last (or both)', {hint: 'e.g. --days 90 --keep-last 3'})
  }
  const prefix = `${aws.sanitizeAmiName(`${options.spec.baseName}-${options.channel}-`)}`
  const cutoff = options.days === undefined ? undefined : new Date(options.now.getTime() - options.days * 86_400_000).toISOString()
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
        if (!options.dryRun) await aws.deleteImage({ec2, imageId: image.ImageId, context: {logger: options.logger, signal: options.signal}})
        out.push({partition: partition.name, region, imageId: image.ImageId!, name: image.Name!, created: image.CreationDate ?? '', deleted: !options.dryRun})
      }
    }
  }
  return out
}
