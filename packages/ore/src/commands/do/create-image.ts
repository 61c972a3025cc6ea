import {doFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {doCreateImageOptions} from '../../options.js'

export default class DoCreateImage extends BaseCommand<typeof DoCreateImage> {
  static override summary = 'Import a custom image from a URL and wait until it is available.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name flatcar-alpha-4000.0.0 --url https://example.org/flatcar_production_digitalocean_image.bin.bz2 --region nyc3',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...doFlags,
    name: Flags.string({summary: 'Image name.', required: true}),
    url: Flags.string({summary: 'URL DigitalOcean downloads the image from.', required: true}),
    region: Flags.string({summary: 'Region slug.', default: 'nyc3'}),
    distribution: Flags.string({summary: 'Distribution label.', default: 'CoreOS'}),
    description: Flags.string({summary: 'Image description.'}),
  }

  async run(): Promise<{id: number; name: string; created: boolean}> {
    const f = this.flags
    const {credentials} = await profileAuth('do', profileAuthInput('do', f), this.context)
    const result = await digitalocean.createDoImage(
      doCreateImageOptions(f, await digitalocean.doApi({credentials, ...this.context}), this.context),
    )
    this.log(`${result.id} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
