import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {azureTopicFlags, gcFlags} from '../../flags.js'
import {aksGcInput, azureSessionInput, gcOptions} from '../../options.js'

export default class AzureGc extends BaseCommand<typeof AzureGc> {
  static override summary =
    'Delete test resource groups and AKS clusters (kola kube, in --resource-group) that carry our tag and are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...azureTopicFlags, ...gcFlags}

  async run(): Promise<azure.AzureGcResult> {
    const {auth, subscriptionId} = azureSessionInput(this.flags)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const aks = aksGcInput(this.flags)
    const result = await azure.gcAzure({
      resources: await session.resources(),
      clusters: await session.aks(aks.resourceGroup, aks.location),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const g of [...result.deletedResources, ...result.deletedResourceGroups, ...(result.deletedClusters ?? [])]) this.log(g)
    return result
  }
}
