import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureReplicateOptions, azureSessionInput} from '../../options.js'

export default class AzureReplicateImage extends BaseCommand<typeof AzureReplicateImage> {
  static override summary = 'Replicate a gallery image version to more regions.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --gallery flatcar --image-name stable --version 4000.0.0 --region eastus --region westeurope',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    gallery: Flags.string({summary: 'Gallery name.', required: true}),
    'image-name': Flags.string({summary: 'Image definition.', required: true}),
    version: Flags.string({summary: 'Image version.', required: true}),
    region: Flags.string({summary: 'Region to add (repeatable).', multiple: true, required: true}),
  }

  async run(): Promise<{regions: string[]; changed: boolean}> {
    const f = this.flags
    const {auth, subscriptionId} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const result = await azure.replicateGalleryImage(azureReplicateOptions(f, 'add', await session.compute(), this.context))
    this.log(result.regions.join(' '))
    return result
  }
}
