import {packetFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {packet} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {PACKET_DEPRECATION} from '../../cloud-flags.js'
import {keysToDelete} from '../../options.js'

export default class PacketDeleteKeys extends BaseCommand<typeof PacketDeleteKeys> {
  static override summary = 'Deprecated: delete SSH keys by label, or every key whose label starts with --prefix.'
  static override description = PACKET_DEPRECATION
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix kola-']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {label: Args.string({description: 'Key labels.'})}
  static override flags = {...packetFlags, prefix: Flags.string({summary: 'Delete keys whose label starts with this.'})}

  async run(): Promise<{deleted: packet.PacketKey[]}> {
    const {names: labels, prefix} = keysToDelete(this.flags, this.context.argv, 'packet')
    const {credentials} = await profileAuth('packet', profileAuthInput('packet', this.flags), this.context)
    const result = await packet.deletePacketKeys({
      api: await packet.packetApi({credentials, ...this.context}),
      labels,
      prefix,
      context: this.context,
    })
    for (const k of result.deleted) this.log(`deleted ${k.label}`)
    return result
  }
}
