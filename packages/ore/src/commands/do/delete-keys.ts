import {doFlags, profileAuth} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {Args, BaseCommand, Flags, UsageError} from '@mantle/kit'

export default class DoDeleteKeys extends BaseCommand<typeof DoDeleteKeys> {
  static override summary = 'Delete SSH keys by name, or every key whose name starts with --prefix.'
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix kola-', '<%= config.bin %> <%= command.id %> old-key --json']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {name: Args.string({description: 'Key names.'})}
  static override flags = {...doFlags, prefix: Flags.string({summary: 'Delete keys whose name starts with this.'})}

  async run(): Promise<{deleted: digitalocean.DoKey[]}> {
    // Variadic: every positional argument, flags and their values left out by the parser.
    const names = (await this.parse(DoDeleteKeys)).argv as string[]
    if (names.length === 0 && !this.flags.prefix) throw new UsageError('do delete-keys: name the keys, or give --prefix')
    const {credentials} = await profileAuth('do', this.flags, this.context)
    const result = await digitalocean.deleteDoKeys({api: await digitalocean.doApi({credentials, ...this.context}), names, prefix: this.flags.prefix, context: this.context})
    for (const k of result.deleted) this.log(`deleted ${k.name}`)
    return result
  }
}
