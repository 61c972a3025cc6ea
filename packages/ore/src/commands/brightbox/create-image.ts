import {profileAuth, profileAuthInput} from '@mantle/auth'
import {brightbox} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {brightboxTopicFlags} from '../../flags.js'
import {brightboxCreateImageOptions, brightboxEndpoint} from '../../options.js'

export default class BrightboxCreateImage extends BaseCommand<typeof BrightboxCreateImage> {
  static override summary = 'Register an image from a URL (an Orbit object) and wait until it is available.'
  static override description = 'The image is registered with user "core" and our marker in its description; one that fails is deleted.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name flatcar-stable-4000.0.0 --url https://orbit.brightbox.com/v1/acc-xxxxx/images/flatcar_production_brightbox_image.img',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...brightboxTopicFlags,
    name: Flags.string({summary: 'Image name.', required: true}),
    url: Flags.string({summary: 'URL Brightbox fetches the raw image from.', required: true}),
    board: Flags.string({summary: 'Board of the image.', default: 'amd64-usr', options: ['amd64-usr', 'arm64-usr']}),
  }

  async run(): Promise<{id: string; name: string; created: boolean}> {
    const {credentials} = await profileAuth('brightbox', profileAuthInput('brightbox', this.flags), this.context)
    const api = await brightbox.brightboxApi({credentials, endpoint: brightboxEndpoint(this.flags), ...this.context})
    const result = await brightbox.createBrightboxImage(brightboxCreateImageOptions(this.flags, api, this.context))
    this.log(`${result.id} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
