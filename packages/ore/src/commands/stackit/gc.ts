import {stackitAuth} from '@mantle/auth'
import {stackit} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags, stackitTopicFlags} from '../../flags.js'
import {gcOptions, stackitApiInput} from '../../options.js'

export default class StackitGc extends BaseCommand<typeof StackitGc> {
  static override summary = 'Delete servers, images, volumes and key pairs labelled as ours that are older than --duration.'
  static override description = 'Finds both our created-by label and the managed-by label of the original mantle.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...stackitTopicFlags, ...gcFlags}

  async run(): Promise<stackit.StackitGcResult> {
    const input = stackitApiInput(this.flags)
    const credentials = await stackitAuth(input.auth, this.context)
    const result = await stackit.gcStackit({
      api: await stackit.stackitApi({credentials, ...input.endpoints, ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of [...result.servers, ...result.images, ...result.volumes, ...result.keypairs]) this.log(id)
    return result
  }
}
