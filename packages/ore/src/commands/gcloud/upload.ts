import {gceAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {gcloud, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags, openLocation} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudUploadKey} from '../../options.js'

export default class GcloudUpload extends BaseCommand<typeof GcloudUpload> {
  static override summary = 'Upload a GCE disk image tarball to Cloud Storage for create-image.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --bucket gs://my-builds/boards --board amd64-usr --file flatcar_production_gce.tar.gz',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...gcloudTopicFlags,
    bucket: Flags.string({summary: 'Destination, gs://bucket[/prefix].', required: true}),
    board: Flags.string({summary: 'Board; the object goes under <prefix>/<board>/.', default: 'amd64-usr'}),
    name: Flags.string({summary: 'Object name (default: the file name).'}),
    file: Flags.string({summary: 'The disk image tarball.', required: true}),
    force: Flags.boolean({summary: 'Replace an object that exists.'}),
    'gcs-endpoint': storageFlags['gcs-endpoint'],
  }

  async run(): Promise<gcloud.UploadObjectResult> {
    const f = this.flags
    await requireFile(f.file)
    const location = await openLocation(
      f.bucket,
      await storageOptions(f.bucket, {gce: gceAuthInput(f), endpoints: {gcs: f['gcs-endpoint']}}, this.context),
    )
    const result = await gcloud.uploadObject({
      bucket: location.bucket,
      key: gcloudUploadKey(f, location.key),
      file: f.file,
      force: f.force,
      context: this.context,
    })
    this.log(`${result.url}${result.uploaded ? '' : ' (existing)'}`)
    return result
  }
}
