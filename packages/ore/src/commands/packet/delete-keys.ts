import {packetFlags, profileAuth} from '@mantle/auth'
import {packet} from '@mantle/cloud'
import {Args, BaseCommand, Flags, UsageError} from '@mantle/kit'

export default class PacketDeleteKeys extends BaseCommand<typeof PacketDeleteKeys> {
  static override summary = 'Delete SSH keys by label, or every key whose label starts with --prefix.'
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix kola-']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {label: Args.string({description: 'Key labels.'})}
  static override flags = {...packetFlags, prefix: Flags.string({summary: 'Delete keys whose label starts with this.'})}

  async run(): Promise<{deleted: packet.PacketKey[]}> {
    // Variadic: every positional argument, flags and their values left out by the parser.
    const labels = (await this.parse(PacketDeleteKeys)).argv as string[]
    if (labels.length === 0 && !this.flags.prefix) throw new UsageError('packet delete-keys: name the keys, or give --prefix')
    const {credentials} = await profileAuth('packet', this.flags, this.context)
    const result = await packet.deletePacketKeys({api: await packet.packetApi({credentials, ...this.context}), labels, prefix: this.flags.prefix, context: this.context})
    for (const k of result.deleted) this.log(`deleted ${k.label}`)
    return result
  }
}
