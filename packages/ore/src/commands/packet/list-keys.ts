import {packetFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {packet} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {PACKET_DEPRECATION} from '../../cloud-flags.js'

export default class PacketListKeys extends BaseCommand<typeof PacketListKeys> {
  static override summary = 'Deprecated: list the SSH keys of the project.'
  static override description = PACKET_DEPRECATION
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = {...packetFlags}

  async run(): Promise<{keys: packet.PacketKey[]}> {
    const {credentials} = await profileAuth('packet', profileAuthInput('packet', this.flags), this.context)
    const keys = await (await packet.packetApi({credentials, ...this.context})).listKeys()
    for (const k of keys) this.log(`${k.id} ${k.label}`)
    return {keys}
  }
}
