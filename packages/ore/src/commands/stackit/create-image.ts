import {stackitAuth} from '@mantle/auth'
import {stackit} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {stackitTopicFlags} from '../../flags.js'
import {stackitApiInput, stackitCreateImageOptions} from '../../options.js'

export default class StackitCreateImage extends BaseCommand<typeof StackitCreateImage> {
  static override summary = 'Create an image record, upload the qcow2 disk to its URL and wait until it is AVAILABLE.'
  static override description = 'An AVAILABLE image of the same name is reused; an image whose upload fails is deleted.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name flatcar-stable-4000.0.0 --file flatcar_production_stackit_image.img',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackitTopicFlags,
    name: Flags.string({summary: 'Image name.', required: true}),
    file: Flags.string({summary: 'The qcow2 disk image.', default: 'flatcar_production_stackit_image.img'}),
    board: Flags.string({summary: 'Board of the image.', default: 'amd64-usr', options: ['amd64-usr', 'arm64-usr']}),
  }

  async run(): Promise<{id: string; name: string; created: boolean}> {
    const input = stackitApiInput(this.flags)
    const credentials = await stackitAuth(input.auth, this.context)
    const api = await stackit.stackitApi({credentials, ...input.endpoints, ...this.context})
    const result = await stackit.createStackitImage(stackitCreateImageOptions(this.flags, api, this.context))
    this.log(`${result.id} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
