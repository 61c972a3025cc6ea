import {ociAuth} from '@mantle/auth'
import {oci} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {ociTopicFlags} from '../../flags.js'
import {ociApiInput, ociCreateImageOptions} from '../../options.js'

export default class OciCreateImage extends BaseCommand<typeof OciCreateImage> {
  static override summary = 'Upload a QCOW2 or VMDK disk to Object Storage, import it as a custom image and wait until it is AVAILABLE.'
  static override description =
    'The uploaded object is deleted afterwards, also when the import fails. An image of the same name is reused.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --oci-compartment ocid1.compartment.oc1..x --bucket images --name flatcar-stable-4000.0.0 --file flatcar_production_oraclecloud_image.qcow2',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...ociTopicFlags,
    name: Flags.string({summary: 'Image display name.', required: true}),
    file: Flags.string({summary: 'The disk image (.qcow2 or .vmdk).', default: 'flatcar_production_oraclecloud_image.qcow2'}),
    bucket: Flags.string({summary: 'Object Storage bucket the disk is staged in.', required: true}),
    namespace: Flags.string({summary: "Object Storage namespace (default: the tenancy's, asked from the API)."}),
    object: Flags.string({summary: 'Object name (default: <board>/<file name>).'}),
    board: Flags.string({summary: 'Board of the image.', default: 'amd64-usr', options: ['amd64-usr', 'arm64-usr']}),
    'source-image-type': Flags.string({summary: 'Import format (default: from the file name).', options: ['QCOW2', 'VMDK']}),
  }

  async run(): Promise<{id: string; name: string; created: boolean}> {
    const input = ociApiInput(this.flags)
    const credentials = await ociAuth(input.auth, this.context)
    const api = await oci.ociApi({credentials, endpoints: input.endpoints, ...this.context})
    const result = await oci.createOciImage(ociCreateImageOptions(this.flags, api, this.context))
    this.log(`${result.id} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
