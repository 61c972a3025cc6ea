import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags, UsageError} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'

export default class AzureDeleteImage extends BaseCommand<typeof AzureDeleteImage> {
  static override summary = 'Delete a managed image, or a gallery image version.'
  static override examples = ['<%= config.bin %> <%= command.id %> --image-name flatcar-4000.0.0', '<%= config.bin %> <%= command.id %> --gallery flatcar --image-name stable --version 4000.0.0 --json']
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    'image-name': Flags.string({summary: 'Image name (or image definition with --gallery).', required: true}),
    gallery: Flags.string({summary: 'Gallery of the image definition.', dependsOn: ['version']}),
    version: Flags.string({summary: 'Gallery image version.'}),
  }

  async run(): Promise<{deleted: string}> {
    const f = this.flags
    if (f.version && !f.gallery) throw new UsageError('azure delete-image: --version needs --gallery')
    const session = azure.connectAzure({auth: await azureAuth(f, this.context), subscriptionId: f['azure-subscription'], context: this.context})
    const result = await azure.deleteImage({
      compute: await session.compute(),
      resourceGroup: f['resource-group'],
      ...(f.gallery ? {gallery: {gallery: f.gallery, image: f['image-name'], version: f.version!}} : {name: f['image-name']}),
      context: this.context,
    })
    this.log(`deleted ${result.deleted}`)
    return result
  }
}
