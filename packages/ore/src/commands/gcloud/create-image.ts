import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudCreateImageOptions} from '../../options.js'

export default class GcloudCreateImage extends BaseCommand<typeof GcloudCreateImage> {
  static override summary = 'Create a GCE image from a disk image in storage and wait until it is READY.'
  static override description =
    'Reads <source-root>/<board>/<version>/<source-name> and names the image <family>-<version> (dots and plus signs become dashes). An existing READY image is kept, a PENDING one is waited for, a FAILED one is an error unless --force.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-project --family flatcar-alpha --version 4000.0.0 --source-root gs://my-builds/boards',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...gcloudTopicFlags,
    family: Flags.string({summary: 'Image family; also the start of the image name.', default: 'flatcar-developer'}),
    board: Flags.string({summary: 'Board.', default: 'amd64-usr'}),
    version: Flags.string({summary: 'OS version.', required: true}),
    'source-root': Flags.string({summary: 'Storage URL holding <board>/<version>/ directories.', required: true}),
    'source-name': Flags.string({summary: 'File name of the GCE disk image tarball.', default: 'flatcar_production_gce.tar.gz'}),
    description: Flags.string({summary: 'Image description.'}),
    'guest-os-feature': Flags.string({
      summary:
        "Guest OS feature of the image (repeatable; default Flatcar's VIRTIO_SCSI_MULTIQUEUE, UEFI_COMPATIBLE, GVNIC). The architecture follows --board.",
      multiple: true,
      default: ['VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE', 'GVNIC'],
    }),
    force: Flags.boolean({summary: 'Delete an image of the same name first.'}),
  }

  async run(): Promise<gcloud.CreateImageResult> {
    const f = this.flags
    const {auth, project} = gcloudComputeInput(f)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.createImage(gcloudCreateImageOptions(f, compute, this.context))
    this.log(`${result.path} ${result.status}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
