import {profileAuth, profileAuthInput} from '@mantle/auth'
import {brightbox} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {brightboxTopicFlags, gcFlags} from '../../flags.js'
import {brightboxEndpoint, gcOptions} from '../../options.js'

export default class BrightboxGc extends BaseCommand<typeof BrightboxGc> {
  static override summary = 'Delete our servers, images and volumes older than --duration, and our unmapped cloud IPs.'
  static override description =
    'Brightbox has no tags: servers and cloud IPs are ours by their kola- names, images and volumes by "created-by=mantle" in their description. Cloud IPs have no creation time. SSH keys belong to the user, not to resources.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...brightboxTopicFlags, ...gcFlags}

  async run(): Promise<brightbox.BrightboxGcResult> {
    const {credentials} = await profileAuth('brightbox', profileAuthInput('brightbox', this.flags), this.context)
    const result = await brightbox.gcBrightbox({
      api: await brightbox.brightboxApi({credentials, endpoint: brightboxEndpoint(this.flags), ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of [...result.servers, ...result.images, ...result.volumes, ...result.cloudIps]) this.log(id)
    return result
  }
}
