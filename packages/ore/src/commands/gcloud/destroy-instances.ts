import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudInstancesInput} from '../../options.js'

export default class GcloudDestroyInstances extends BaseCommand<typeof GcloudDestroyInstances> {
  static override summary = 'Delete our instances whose name starts with --basename.'
  static override examples = ['<%= config.bin %> <%= command.id %> --basename kola']
  static override enableJsonFlag = true
  static override flags = {...gcloudTopicFlags}

  async run(): Promise<{deleted: gcloud.InstanceSummary[]}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.destroyInstances({compute, ...gcloudInstancesInput(this.flags), context: this.context})
    for (const i of result.deleted) this.log(`deleted ${i.name}`)
    return result
  }
}
