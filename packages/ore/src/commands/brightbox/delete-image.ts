import {profileAuth, profileAuthInput} from '@mantle/auth'
import {brightbox} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {brightboxTopicFlags} from '../../flags.js'
import {brightboxEndpoint} from '../../options.js'

export default class BrightboxDeleteImage extends BaseCommand<typeof BrightboxDeleteImage> {
  static override summary = 'Delete private images by id (img-xxxxx) or name.'
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-stable-4000.0.0']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({description: 'Image ids or names.', required: true})}
  static override flags = {...brightboxTopicFlags}

  async run(): Promise<{deleted: string[]}> {
    const {credentials} = await profileAuth('brightbox', profileAuthInput('brightbox', this.flags), this.context)
    const result = await brightbox.deleteBrightboxImages({
      api: await brightbox.brightboxApi({credentials, endpoint: brightboxEndpoint(this.flags), ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(id)
    return result
  }
}
