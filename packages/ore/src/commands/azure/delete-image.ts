import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureDeleteImageTarget, azureSessionInput} from '../../options.js'

export default class AzureDeleteImage extends BaseCommand<typeof AzureDeleteImage> {
  static override summary = 'Delete a managed image, or a gallery image version.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --image-name flatcar-4000.0.0',
    '<%= config.bin %> <%= command.id %> --gallery flatcar --image-name stable --version 4000.0.0 --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    'image-name': Flags.string({summary: 'Image name (or image definition with --gallery).', required: true}),
    gallery: Flags.string({summary: 'Gallery of the image definition.', dependsOn: ['version']}),
    version: Flags.string({summary: 'Gallery image version.'}),
  }

  async run(): Promise<{deleted: string}> {
    const f = this.flags
    const target = azureDeleteImageTarget(f)
    const {auth, subscriptionId} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const result = await azure.deleteImage({...target, compute: await session.compute(), context: this.context})
    this.log(`deleted ${result.deleted}`)
    return result
  }
}
