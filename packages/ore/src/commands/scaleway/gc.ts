import {profileAuth, profileAuthInput} from '@mantle/auth'
import {scaleway} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {scalewayTopicFlags} from '../../cloud-flags.js'
import {gcFlags} from '../../flags.js'
import {gcOptions, scalewayApiInput} from '../../options.js'

export default class ScalewayGc extends BaseCommand<typeof ScalewayGc> {
  static override summary =
    'Delete servers (with their volumes), images, snapshots and volumes tagged as ours that are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...scalewayTopicFlags, ...gcFlags}

  async run(): Promise<scaleway.ScalewayGcResult> {
    const {credentials} = await profileAuth('scaleway', profileAuthInput('scaleway', this.flags), this.context)
    const result = await scaleway.gcScaleway({
      api: await scaleway.scalewayApi({credentials, ...scalewayApiInput(this.flags, this.context.env), ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const [kind, ids] of Object.entries(result)) for (const id of ids as string[]) this.log(`${kind} ${id}`)
    return result
  }
}
