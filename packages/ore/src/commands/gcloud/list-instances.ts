import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudInstancesInput} from '../../options.js'

export default class GcloudListInstances extends BaseCommand<typeof GcloudListInstances> {
  static override summary = 'List instances whose name starts with --basename.'
  static override examples = ['<%= config.bin %> <%= command.id %> --basename kola', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = {...gcloudTopicFlags}

  async run(): Promise<{instances: gcloud.InstanceSummary[]}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const instances = await gcloud.listInstances({compute, ...gcloudInstancesInput(this.flags)})
    for (const i of instances) this.log(`${i.name} ${i.zone} ${i.status} ${i.ip ?? ''}`.trim())
    return {instances}
  }
}
