import {doFlags, profileAuth} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {durationMs, gcFlags} from '../../flags.js'

export default class DoGc extends BaseCommand<typeof DoGc> {
  static override summary = 'Delete droplets tagged as ours that are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...doFlags, ...gcFlags}

  async run(): Promise<{deletedDroplets: number[]}> {
    const olderThanMs = durationMs(this.flags.duration)
    const {credentials} = await profileAuth('do', this.flags, this.context)
    const result = await digitalocean.gcDo({api: await digitalocean.doApi({credentials, ...this.context}), olderThanMs, dryRun: this.flags['dry-run'], context: this.context})
    for (const id of result.deletedDroplets) this.log(String(id))
    return result
  }
}
