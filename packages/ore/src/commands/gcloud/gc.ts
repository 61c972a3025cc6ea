import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags, gcloudTopicFlags} from '../../flags.js'
import {GKE_GC_LOCATION, gcloudComputeInput, gcloudInstancesInput, gcOptions, restCloudEndpoints} from '../../options.js'

export default class GcloudGc extends BaseCommand<typeof GcloudGc> {
  static override summary = 'Delete our instances and GKE clusters (kola kube) older than --duration.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-project',
    '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...gcloudTopicFlags, ...gcFlags}

  async run(): Promise<{deleted: gcloud.InstanceSummary[]; deletedClusters?: string[]}> {
    const {auth: authInput, project} = gcloudComputeInput(this.flags)
    const auth = await gceAuth(authInput, this.context)
    const endpoints = restCloudEndpoints(this.context.env)
    const compute = await gcloud.gceComputeApi({auth, project, endpoint: endpoints.gceCompute, ...this.context})
    const clusters = await gcloud.gkeClusters({auth, project, location: GKE_GC_LOCATION, endpoint: endpoints.gkeContainer, ...this.context})
    const result = await gcloud.gcGcloud({
      compute,
      clusters,
      ...gcloudInstancesInput(this.flags),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const i of result.deleted) this.log(i.name)
    for (const c of result.deletedClusters ?? []) this.log(c)
    return result
  }
}
