import {BaseCommand} from '@mantle/kit'

import {stageFlags} from '../flags.js'
import type {StageResult} from '../services/stages.js'

export default class Release extends BaseCommand<typeof Release> {
  static override summary = 'Publish a prepared release: make the cloud images public and sync the storage destinations.'
  static override description =
    'GCE images are created, deprecated and pruned; Azure galleries shared; AWS images and snapshots made public in every region; then each destination receives <board>/<version>/ and the named path, and its index pages are regenerated. Safe to run again after any failure.'
  static override examples = [
    '<%= config.bin %> release --config channels/local.yaml -B amd64-usr -V 1.2.3',
    '<%= config.bin %> release -c channels/flatcar.yaml -C stable -V 3815.2.0 --dry-run',
  ]
  static override enableJsonFlag = true
  static override flags = stageFlags

  async run(): Promise<StageResult> {
    const {stageOptions} = await import('../setup.js')
    const {runStage} = await import('../services/stages.js')
    const {stageLines} = await import('../report.js')
    const result = await runStage('release', await stageOptions(this.flags, this.context))
    for (const line of stageLines(result)) this.log(line)
    return result
  }
}
