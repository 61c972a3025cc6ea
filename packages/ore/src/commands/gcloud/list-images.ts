import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudImagesInput} from '../../options.js'

export default class GcloudListImages extends BaseCommand<typeof GcloudListImages> {
  static override summary = 'List the images of the project, oldest first.'
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix flatcar-stable-', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = {...gcloudTopicFlags, prefix: Flags.string({summary: 'Only images whose name starts with this.'})}

  async run(): Promise<{images: gcloud.GceImage[]}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const images = await gcloud.listImages({compute, ...gcloudImagesInput(this.flags)})
    for (const i of images)
      this.log(`${i.name} ${i.status ?? ''}${i.family ? ` family=${i.family}` : ''}${i.deprecated?.state ? ` ${i.deprecated.state}` : ''}`)
    return {images}
  }
}
