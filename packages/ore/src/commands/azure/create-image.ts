import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureCreateImageOptions, azureSessionInput} from '../../options.js'

export default class AzureCreateImage extends BaseCommand<typeof AzureCreateImage> {
  static override summary = 'Create a managed image from an uploaded VHD blob.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --image-name flatcar-4000.0.0 --blob-url https://acct.blob.core.windows.net/vhds/flatcar.vhd --resource-group images',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    'image-name': Flags.string({summary: 'Name of the image.', required: true}),
    'blob-url': Flags.string({summary: 'URL of the page blob (upload-blob prints it).', required: true}),
    'hyper-v-generation': Flags.option({options: ['V1', 'V2'] as const, summary: 'Hyper-V generation.', default: 'V1'})(),
    force: Flags.boolean({summary: 'Replace an image of the same name.'}),
  }

  async run(): Promise<azure.ImageResult> {
    const f = this.flags
    const {auth, subscriptionId} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const result = await azure.createImage(azureCreateImageOptions(f, await session.compute(), this.context))
    this.log(`${result.id}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
