import {hetznerFlags, profileAuth, profileAuthInput, resolveEndpoints} from '@mantle/auth'
import {hetzner} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags} from '../../flags.js'
import {gcOptions} from '../../options.js'

export default class HetznerGc extends BaseCommand<typeof HetznerGc> {
  static override summary = 'Delete servers, snapshot images, SSH keys and volumes labelled as ours that are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...hetznerFlags, ...gcFlags}

  async run(): Promise<hetzner.HetznerGcResult> {
    const {credentials} = await profileAuth('hetzner', profileAuthInput('hetzner', this.flags), this.context)
    const endpoint = resolveEndpoints({}, this.context.env).hetzner
    const result = await hetzner.gcHetzner({
      api: await hetzner.hetznerApi({credentials, endpoint, ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const [kind, ids] of Object.entries(result)) for (const id of ids as number[]) this.log(`${kind} ${id}`)
    return result
  }
}
