import {doFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {keysToDelete} from '../../options.js'

export default class DoDeleteKeys extends BaseCommand<typeof DoDeleteKeys> {
  static override summary = 'Delete SSH keys by name, or every key whose name starts with --prefix.'
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix kola-', '<%= config.bin %> <%= command.id %> old-key --json']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {name: Args.string({description: 'Key names.'})}
  static override flags = {...doFlags, prefix: Flags.string({summary: 'Delete keys whose name starts with this.'})}

  async run(): Promise<{deleted: digitalocean.DoKey[]}> {
    const keys = keysToDelete(this.flags, this.context.argv, 'do')
    const {credentials} = await profileAuth('do', profileAuthInput('do', this.flags), this.context)
    const result = await digitalocean.deleteDoKeys({
      api: await digitalocean.doApi({credentials, ...this.context}),
      ...keys,
      context: this.context,
    })
    for (const k of result.deleted) this.log(`deleted ${k.name}`)
    return result
  }
}
