import {azureAuth} from '@mantle/auth'
import {azure} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {azureTopicFlags} from '../../flags.js'
import {azureSessionInput, azureShareOptions} from '../../options.js'

export default class AzureShareImage extends BaseCommand<typeof AzureShareImage> {
  static override summary = 'Share a gallery: public (community), private (withdraw all shares), or with subscriptions.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --gallery flatcar --permission public',
    '<%= config.bin %> <%= command.id %> --gallery flatcar --subscription 0000-1111 --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...azureTopicFlags,
    gallery: Flags.string({summary: 'Gallery name.', required: true}),
    permission: Flags.option({options: ['public', 'private'] as const, summary: 'Who may use the gallery images.', default: 'public'})(),
    subscription: Flags.string({summary: 'Share with this subscription instead (repeatable).', multiple: true}),
  }

  async run(): Promise<{gallery: string; operation: string}> {
    const f = this.flags
    const {auth, subscriptionId} = azureSessionInput(f)
    const session = azure.connectAzure({auth: await azureAuth(auth, this.context), subscriptionId, context: this.context})
    const result = await azure.shareGallery(azureShareOptions(f, await session.compute(), this.context))
    this.log(`${result.gallery}: ${result.operation}`)
    return result
  }
}
