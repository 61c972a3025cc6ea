import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureBlobName, azureSessionInput, azureUploadBlobOptions} from '../../options.js'

export default class AzureUploadBlob extends BaseCommand<typeof AzureUploadBlob> {
  static override summary = 'Upload a fixed VHD as a page blob, sending only the pages that hold data.'
  static override description =
    'Validates the VHD first (fixed, whole MiB, footer checksum). An existing blob is left alone unless --overwrite.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --azure-storage-account acct --container vhds --file flatcar_production_azure_image.vhd',
    'AZURE_STORAGE_CONNECTION_STRING=... <%= config.bin %> <%= command.id %> --file disk.vhd --blob-name flatcar-4000.0.0.vhd --overwrite --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    file: Flags.string({summary: 'The VHD to upload.', required: true}),
    'storage-account': Flags.string({summary: 'Storage account (default: the one of the credentials).'}),
    container: Flags.string({summary: 'Blob container.', default: 'vhds'}),
    'blob-name': Flags.string({summary: 'Blob name (default: the file name).'}),
    overwrite: Flags.boolean({summary: 'Replace an existing blob.'}),
    validate: Flags.boolean({summary: 'Check the VHD before uploading.', default: true, allowNo: true}),
    'blob-endpoint': Flags.string({summary: 'Blob service endpoint (Azurite, sovereign clouds).', hidden: true}),
  }

  async run(): Promise<azure.UploadVhdResult> {
    const f = this.flags
    if (f.validate) await azure.validateVhd(f.file)
    const {auth, storageAccount, blobEndpoint} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), storageAccount, blobEndpoint, context: this.context})
    const {container, blob} = azureBlobName(f)
    const result = await azure.uploadVhd(azureUploadBlobOptions(f, await session.pageBlob(container, blob), this.context))
    this.log(`${result.url}${result.existed ? ' (existing, left alone)' : ''}`)
    return result
  }
}
