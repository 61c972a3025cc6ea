import {BaseCommand, Flags, UsageError} from '@mantle/kit'

import {credentialFlags, specFlags} from '../flags.js'
import type {PrunedImage} from '../services/prune.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static override summary = "Delete a channel's old AMIs and their snapshots in every region."
  static override examples = [
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --days 90 --keep-last 3 --dry-run',
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --keep-last 5 --json',
    '<%= config.bin %> prune -c channels/flatcar.yaml -C alpha --days 90 --days-last-launched 30 --dry-run',
  ]
  static override enableJsonFlag = true
  static override flags = {
    config: specFlags.config,
    channel: specFlags.channel,
    'aws-credentials': credentialFlags['aws-credentials'],
    days: Flags.integer({summary: 'Keep images created less than this many days ago.', min: 0}),
    'keep-last': Flags.integer({summary: 'Keep this many of the newest images in each region.', min: 0}),
    'days-last-launched': Flags.integer({summary: 'Keep images launched less than this many days ago (EC2 lastLaunchedTime); implies --check-last-launched.', min: 0}),
    // Flatcar spells it -c; here -c is --config, as on every plume command.
    'check-last-launched': Flags.boolean({summary: 'Keep images launched recently: within --days-last-launched days, else within --days.'}),
    'dry-run': Flags.boolean({char: 'n', summary: 'List what would be deleted; delete nothing.'}),
  }

  async run(): Promise<{pruned: PrunedImage[]}> {
    const {loadConfig, cloudDeps} = await import('../setup.js')
    const {channelOf} = await import('../config/load.js')
    const {pruneAws} = await import('../services/prune.js')
    const config = await loadConfig(this.flags, this.context.cwd)
    const spec = channelOf(config, this.flags.channel)
    if (!spec.aws) throw new UsageError(`channel "${this.flags.channel}" in ${config.file} has no aws settings: nothing to prune`)
    const pruned = await pruneAws({
      channel: this.flags.channel,
      spec: spec.aws,
      clients: cloudDeps(this.flags, this.context).aws!,
      days: this.flags.days,
      keepLast: this.flags['keep-last'],
      daysLastLaunched: this.flags['days-last-launched'],
      checkLastLaunched: this.flags['check-last-launched'],
      dryRun: this.flags['dry-run'],
      now: new Date(),
      logger: this.logger,
      signal: this.context.signal,
    })
    for (const p of pruned) this.log(`${p.deleted ? 'deleted' : 'would delete'}  ${p.partition} ${p.region} ${p.imageId} ${p.name} (${p.created})`)
    if (pruned.length === 0) this.log('nothing to prune')
    return {pruned}
  }
}
