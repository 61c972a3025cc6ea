import {ociAuth} from '@mantle/auth'
import {oci} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags, ociTopicFlags} from '../../flags.js'
import {gcOptions, ociApiInput} from '../../options.js'

export default class OciGc extends BaseCommand<typeof OciGc> {
  static override summary = 'Delete instances, images, volumes and boot volumes tagged as ours that are older than --duration.'
  static override description =
    'OCI has no SSH key resource (keys travel in instance metadata), so there are no keys to collect. Finds both our created-by tag and the managed-by tag of the original mantle.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --oci-compartment ocid1.compartment.oc1..x',
    '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...ociTopicFlags, ...gcFlags}

  async run(): Promise<oci.OciGcResult> {
    const input = ociApiInput(this.flags)
    const credentials = await ociAuth(input.auth, this.context)
    const result = await oci.gcOci({
      api: await oci.ociApi({credentials, endpoints: input.endpoints, ...this.context}),
      compartmentId: input.compartmentId,
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of [...result.instances, ...result.images, ...result.volumes, ...result.bootVolumes]) this.log(id)
    return result
  }
}
