import {readFile} from 'node:fs/promises'

import {packetFlags, profileAuth} from '@mantle/auth'
import {packet, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

export default class PacketCreateDevice extends BaseCommand<typeof PacketCreateDevice> {
  static override summary = 'Create a device tagged as ours and wait until it is active.'
  static override examples = ['<%= config.bin %> <%= command.id %> --hostname kola-1 --plan c3.small.x86 --metro da --ipxe-script-url https://example.org/flatcar.ipxe --user-data config.ign']
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
    const {credentials} = await profileAuth('packet', f, this.context)
    const device = await packet.createPacketDevice({
      api: await packet.packetApi({credentials, ...this.context}),
      input: {hostname: f.hostname, plan: f.plan, metro: f.metro, operating_system: f['operating-system'], ipxe_script_url: f['ipxe-script-url'], userdata, ...(f['ipxe-script-url'] ? {always_pxe: false} : {})},
      context: this.context,
    })
    this.log(`${device.id} ${device.hostname} ${device.ip_addresses?.find((a) => a.public && a.address_family === 4)?.address ?? ''}`.trim())
    return device
  }
}
