import {doFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags} from '../../flags.js'
import {gcOptions, restCloudEndpoints} from '../../options.js'

export default class DoGc extends BaseCommand<typeof DoGc> {
  static override summary = "Delete droplets tagged as ours, and kola's run SSH keys, that are older than --duration."
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...doFlags, ...gcFlags}

  async run(): Promise<{deletedDroplets: number[]; deletedKeys: number[]}> {
    const {credentials} = await profileAuth('do', profileAuthInput('do', this.flags), this.context)
    const result = await digitalocean.gcDo({
      api: await digitalocean.doApi({credentials, endpoint: restCloudEndpoints(this.context.env).digitalocean, ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of result.deletedDroplets) this.log(String(id))
    for (const id of result.deletedKeys) this.log(`key ${id}`)
    return result
  }
}
