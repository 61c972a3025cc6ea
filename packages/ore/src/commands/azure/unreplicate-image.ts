import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'

export default class AzureUnreplicateImage extends BaseCommand<typeof AzureUnreplicateImage> {
  static override summary = 'Stop replicating a gallery image version to some regions (its home location stays).'
  static override examples = ['<%= config.bin %> <%= command.id %> --gallery flatcar --image-name stable --version 4000.0.0 --region eastus --region westeurope']
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    gallery: Flags.string({summary: 'Gallery name.', required: true}),
    'image-name': Flags.string({summary: 'Image definition.', required: true}),
    version: Flags.string({summary: 'Image version.', required: true}),
    region: Flags.string({summary: 'Region to remove (repeatable).', multiple: true, required: true}),
  }

  async run(): Promise<{regions: string[]; changed: boolean}> {
    const f = this.flags
    const session = azure.connectAzure({auth: await azureAuth(f, this.context), subscriptionId: f['azure-subscription'], context: this.context})
    const result = await azure.replicateGalleryImage({compute: await session.compute(), resourceGroup: f['resource-group'], gallery: f.gallery, image: f['image-name'], version: f.version, remove: f.region, context: this.context})
    this.log(result.regions.join(' '))
    return result
  }
}
