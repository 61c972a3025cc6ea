import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureCreateGalleryImageOptions, azureSessionInput} from '../../options.js'

export default class AzureCreateGalleryImage extends BaseCommand<typeof AzureCreateGalleryImage> {
  static override summary = 'Create a gallery image version from an uploaded VHD blob, with its gallery and image definition.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --gallery flatcar --image-name stable --version 4000.0.0 --blob-url https://acct.blob.core.windows.net/vhds/f.vhd --storage-account-id /subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/acct --publisher kinvolk --offer flatcar --sku stable',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    gallery: Flags.string({summary: 'Gallery name.', required: true}),
    'image-name': Flags.string({summary: 'Image definition in the gallery.', required: true}),
    version: Flags.string({summary: 'Image version (three integers).', required: true}),
    'blob-url': Flags.string({summary: 'URL of the page blob.', required: true}),
    'storage-account-id': Flags.string({summary: 'Resource id of the storage account holding the blob.', required: true}),
    publisher: Flags.string({summary: 'Image identifier: publisher.', required: true}),
    offer: Flags.string({summary: 'Image identifier: offer.', required: true}),
    sku: Flags.string({summary: 'Image identifier: SKU.', required: true}),
    'hyper-v-generation': Flags.option({options: ['V1', 'V2'] as const, summary: 'Hyper-V generation.', default: 'V2'})(),
    architecture: Flags.option({options: ['x64', 'Arm64'] as const, summary: 'CPU architecture.', default: 'x64'})(),
    feature: Flags.string({
      summary:
        "Feature of a new image definition, name=value (repeatable; default Flatcar's: DiskControllerTypes=NVMe,SCSI SecurityType=TrustedLaunchAndConfidentialVMSupported IsAcceleratedNetworkSupported=true).",
      multiple: true,
      default: [
        'DiskControllerTypes=NVMe,SCSI',
        'SecurityType=TrustedLaunchAndConfidentialVMSupported',
        'IsAcceleratedNetworkSupported=true',
      ],
    }),
    region: Flags.string({summary: 'Replicate the version to this region too (repeatable).', multiple: true}),
  }

  async run(): Promise<azure.GalleryImageResult> {
    const f = this.flags
    const {auth, subscriptionId} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const result = await azure.createGalleryImage(azureCreateGalleryImageOptions(f, await session.compute(), this.context))
    this.log(`${result.id}${result.created.version ? '' : ' (existing)'}`)
    return result
  }
}
