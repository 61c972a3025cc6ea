import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {azureTopicFlags, durationMs, gcFlags} from '../../flags.js'

export default class AzureGc extends BaseCommand<typeof AzureGc> {
  static override summary = 'Delete test resource groups that carry our tag and are older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {...azureTopicFlags, ...gcFlags}

  async run(): Promise<azure.AzureGcResult> {
    const olderThanMs = durationMs(this.flags.duration)
    const session = azure.connectAzure({auth: await azureAuth(this.flags, this.context), subscriptionId: this.flags['azure-subscription'], context: this.context})
    const result = await azure.gcAzure({resources: await session.resources(), olderThanMs, dryRun: this.flags['dry-run'], context: this.context})
    for (const g of result.deletedResourceGroups) this.log(g)
    return result
  }
}
