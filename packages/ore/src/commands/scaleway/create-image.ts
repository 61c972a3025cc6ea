import {profileAuth, profileAuthInput} from '@mantle/auth'
import {scaleway} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {scalewayTopicFlags} from '../../cloud-flags.js'
import {scalewayApiInput, scalewayCreateImagePlan} from '../../options.js'

export default class ScalewayCreateImage extends BaseCommand<typeof ScalewayCreateImage> {
  static override summary = 'Import a qcow2 disk as a snapshot: staged in an Object Storage bucket, imported, the object deleted.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --file flatcar_production_scaleway_image.qcow2 --name flatcar-beta-4000.1.0',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...scalewayTopicFlags,
    file: Flags.string({summary: 'Local qcow2 disk image.', default: 'flatcar_production_scaleway_image.qcow2'}),
    name: Flags.string({summary: 'Snapshot name (default: the object key).'}),
    bucket: Flags.string({summary: 'Object Storage bucket the disk is staged in.', default: 'flatcar-testing'}),
    channel: Flags.string({summary: 'Channel, for the staged key <channel>/<version>/<board>/<file>.', default: 'stable'}),
    version: Flags.string({summary: 'Version, for the staged key.', default: 'current'}),
    board: Flags.string({summary: 'Board, for the staged key.', default: 'amd64-usr'}),
  }

  async run(): Promise<{id: string; name: string}> {
    const plan = scalewayCreateImagePlan(this.flags)
    const {credentials} = await profileAuth('scaleway', profileAuthInput('scaleway', this.flags), this.context)
    const input = scalewayApiInput(this.flags, this.context.env)
    const result = await scaleway.createScalewayImage({
      api: await scaleway.scalewayApi({credentials, ...input, ...this.context}),
      store: await scaleway.scalewayObjectStore({
        credentials,
        region: this.flags['scaleway-region'],
        bucket: plan.bucket,
        context: this.context,
      }),
      ...plan,
      project: credentials.project_id,
      context: this.context,
    })
    this.log(result.id)
    return result
  }
}
