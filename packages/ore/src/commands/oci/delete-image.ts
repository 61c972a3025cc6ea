import {ociAuth} from '@mantle/auth'
import {oci} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {ociTopicFlags} from '../../flags.js'
import {ociApiInput} from '../../options.js'

export default class OciDeleteImage extends BaseCommand<typeof OciDeleteImage> {
  static override summary = 'Delete custom images by OCID or display name.'
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-stable-4000.0.0']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({description: 'Image OCID or display name (one or more).', required: true})}
  static override flags = {...ociTopicFlags}

  async run(): Promise<{deleted: string[]}> {
    const input = ociApiInput(this.flags)
    const credentials = await ociAuth(input.auth, this.context)
    const result = await oci.deleteOciImages({
      api: await oci.ociApi({credentials, endpoints: input.endpoints, ...this.context}),
      images: [...this.context.argv],
      compartmentId: input.compartmentId,
      context: this.context,
    })
    for (const id of result.deleted) this.log(id)
    return result
  }
}
