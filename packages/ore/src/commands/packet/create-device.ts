import {readFile} from 'node:fs/promises'

import {packetFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {packet, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {PACKET_DEPRECATION} from '../../cloud-flags.js'
import {packetCreateDeviceOptions} from '../../options.js'

export default class PacketCreateDevice extends BaseCommand<typeof PacketCreateDevice> {
  static override summary = 'Deprecated: create a device tagged as ours and wait until it is active.'
  static override description = PACKET_DEPRECATION
  static override examples = [
    '<%= config.bin %> <%= command.id %> --hostname kola-1 --plan c3.small.x86 --metro da --ipxe-script-url https://example.org/flatcar.ipxe --user-data config.ign',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...packetFlags,
    hostname: Flags.string({summary: 'Device hostname.', required: true}),
    plan: Flags.string({summary: 'Plan (server type).', default: 'c3.small.x86'}),
    metro: Flags.string({summary: 'Metro code.', default: 'da'}),
    'operating-system': Flags.string({summary: 'Operating system slug.', default: 'custom_ipxe'}),
    'ipxe-script-url': Flags.string({summary: 'iPXE script URL (with custom_ipxe).'}),
    'user-data': Flags.string({summary: 'File with an Ignition config or cloud-config.'}),
  }

  async run(): Promise<packet.PacketDevice> {
    const f = this.flags
    const userdata = f['user-data'] ? (await requireFile(f['user-data'], '--user-data'), await readFile(f['user-data'], 'utf8')) : undefined
    const {credentials} = await profileAuth('packet', profileAuthInput('packet', f), this.context)
    const device = await packet.createPacketDevice(
      packetCreateDeviceOptions(f, userdata, await packet.packetApi({credentials, ...this.context}), this.context),
    )
    this.log(
      `${device.id} ${device.hostname} ${device.ip_addresses?.find((a) => a.public && a.address_family === 4)?.address ?? ''}`.trim(),
    )
    return device
  }
}
