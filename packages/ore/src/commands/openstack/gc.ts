import {openstackFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {openstack} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags} from '../../flags.js'
import {gcOptions} from '../../options.js'

export default class OpenstackGc extends BaseCommand<typeof OpenstackGc> {
  static override summary =
    "Delete servers marked as ours that are older than --duration (with their floating IPs), and kola runs' unused key pairs and marked security groups."
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...openstackFlags, ...gcFlags}

  async run(): Promise<{deletedServers: string[]; deletedKeyPairs?: string[]; deletedSecurityGroups?: string[]}> {
    const {credentials} = await profileAuth('openstack', profileAuthInput('openstack', this.flags), this.context)
    const result = await openstack.gcOpenStack({
      api: await openstack.openStackApi({credentials, ...this.context}),
      ...gcOptions(this.flags),
      runResources: true,
      context: this.context,
    })
    for (const id of [...result.deletedServers, ...(result.deletedKeyPairs ?? []), ...(result.deletedSecurityGroups ?? [])]) this.log(id)
    return result
  }
}
