import {openstackFlags, profileAuth} from '@mantle/auth'
import {openstack} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {durationMs, gcFlags} from '../../flags.js'

export default class OpenstackGc extends BaseCommand<typeof OpenstackGc> {
  static override summary = 'Delete servers marked as ours that are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...openstackFlags, ...gcFlags}

  async run(): Promise<{deletedServers: string[]}> {
    const olderThanMs = durationMs(this.flags.duration)
    const {credentials} = await profileAuth('openstack', this.flags, this.context)
    const result = await openstack.gcOpenStack({api: await openstack.openStackApi({credentials, ...this.context}), olderThanMs, dryRun: this.flags['dry-run'], context: this.context})
    for (const id of result.deletedServers) this.log(id)
    return result
  }
}
