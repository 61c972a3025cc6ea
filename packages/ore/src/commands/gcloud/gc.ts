import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags, gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudInstancesInput, gcOptions} from '../../options.js'

export default class GcloudGc extends BaseCommand<typeof GcloudGc> {
  static override summary = 'Delete our instances older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %> --project my-project', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...gcloudTopicFlags, ...gcFlags}

  async run(): Promise<{deleted: gcloud.InstanceSummary[]}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.destroyInstances({compute, ...gcloudInstancesInput(this.flags), ...gcOptions(this.flags), context: this.context})
    for (const i of result.deleted) this.log(i.name)
    return result
  }
}
