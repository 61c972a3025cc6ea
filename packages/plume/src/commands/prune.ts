import {BaseCommand, Flags} from '@mantle/kit'

import {credentialFlags, specFlags} from '../flags.js'
import type {PrunedBlob, PrunedImage} from '../services/prune.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static override summary = "Delete a channel's old AMIs (with their snapshots, in every region) and its old Azure VHD blobs."
  static override description =
    "AMIs are the channel's by their Channel tag. With --days-soft-deleted an AMI due for deletion is first made private and tagged SoftDeleteDate, and a prune run after that many days deletes it. A snapshot that cannot be deleted is a warning. Blobs are deleted by age (--days) alone."
  static override examples = [
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --days 90 --keep-last 3 --dry-run',
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --days 90 --keep-last 5 --days-soft-deleted 14 --json',
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --days 90 --days-last-launched 30 --dry-run',
  ]
  static override enableJsonFlag = true
  static override flags = {
    config: specFlags.config,
    channel: specFlags.channel,
    'aws-credentials': credentialFlags['aws-credentials'],
    'azure-credentials': credentialFlags['azure-credentials'],
    'azure-profile': credentialFlags['azure-profile'],
    days: Flags.integer({summary: 'Keep images and blobs created less than this many days ago.', min: 0}),
    'keep-last': Flags.integer({summary: 'Keep this many of the newest AMIs of each architecture in each region.', min: 0}),
    'days-last-launched': Flags.integer({
      summary: 'Keep images launched less than this many days ago (EC2 lastLaunchedTime); implies --check-last-launched.',
      min: 0,
    }),
    // Flatcar spells it -c; here -c is --config, as on every plume command.
    'check-last-launched': Flags.boolean({summary: 'Keep images launched recently: within --days-last-launched days, else within --days.'}),
    'days-soft-deleted': Flags.integer({
      summary: 'Soft-delete first (private, tagged SoftDeleteDate); delete only what was soft-deleted at least this many days ago.',
      min: 0,
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'List what would be deleted; delete nothing.'}),
  }

  async run(): Promise<{pruned: PrunedImage[]; blobs: PrunedBlob[]}> {
    const {loadConfig, cloudDeps} = await import('../setup.js')
    const {channelOf} = await import('../config/load.js')
    const {pruneChannel} = await import('../services/prune.js')
    const {pruneLimits} = await import('../options.js')
    const config = await loadConfig(this.flags, this.context.cwd)
    const {images, blobs} = await pruneChannel({
      channel: this.flags.channel,
      spec: channelOf(config, this.flags.channel),
      clouds: cloudDeps(this.flags, this.context),
      ...pruneLimits(this.flags),
      now: new Date(),
      logger: this.logger,
      signal: this.context.signal,
    })
    for (const p of images) this.log(`${p.action}  ${p.partition} ${p.region} ${p.imageId} ${p.name} (${p.created})`)
    for (const b of blobs) this.log(`${b.action}  azure ${b.environment} ${b.container}/${b.blob} (${b.lastModified})`)
    if (images.length === 0 && blobs.length === 0) this.log('nothing to prune')
    return {pruned: images, blobs}
  }
}
