import {stackitAuth} from '@mantle/auth'
import {stackit} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {stackitTopicFlags} from '../../flags.js'
import {stackitApiInput} from '../../options.js'

export default class StackitDeleteImage extends BaseCommand<typeof StackitDeleteImage> {
  static override summary = 'Delete images by id or name.'
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-stable-4000.0.0']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({description: 'Image ids or names.', required: true})}
  static override flags = {...stackitTopicFlags}

  async run(): Promise<{deleted: string[]}> {
    const input = stackitApiInput(this.flags)
    const credentials = await stackitAuth(input.auth, this.context)
    const result = await stackit.deleteStackitImages({
      api: await stackit.stackitApi({credentials, ...input.endpoints, ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(id)
    return result
  }
}
