import {profileAuth, profileAuthInput} from '@mantle/auth'
import {akamai} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {akamaiTopicFlags} from '../../cloud-flags.js'
import {gcFlags} from '../../flags.js'
import {akamaiApiInput, gcOptions} from '../../options.js'

export default class AkamaiGc extends BaseCommand<typeof AkamaiGc> {
  static override summary = 'Delete instances, private images and volumes tagged as ours that are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...akamaiTopicFlags, ...gcFlags}

  async run(): Promise<akamai.AkamaiGcResult> {
    const {credentials} = await profileAuth('akamai', profileAuthInput('akamai', this.flags), this.context)
    const result = await akamai.gcAkamai({
      api: await akamai.akamaiApi({credentials, ...akamaiApiInput(this.context.env), ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const [kind, ids] of Object.entries(result)) for (const id of ids as Array<string | number>) this.log(`${kind} ${id}`)
    return result
  }
}
