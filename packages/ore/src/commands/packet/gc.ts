import {packetFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {packet} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {PACKET_DEPRECATION} from '../../cloud-flags.js'
import {gcFlags} from '../../flags.js'
import {gcOptions} from '../../options.js'

export default class PacketGc extends BaseCommand<typeof PacketGc> {
  static override summary = 'Deprecated: delete devices tagged as ours that are older than --duration.'
  static override description = PACKET_DEPRECATION
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...packetFlags, ...gcFlags}

  async run(): Promise<{deletedDevices: string[]}> {
    const {credentials} = await profileAuth('packet', profileAuthInput('packet', this.flags), this.context)
    const result = await packet.gcPacket({
      api: await packet.packetApi({credentials, ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of result.deletedDevices) this.log(id)
    return result
  }
}
