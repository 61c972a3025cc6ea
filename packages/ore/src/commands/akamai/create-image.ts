import {profileAuth, profileAuthInput} from '@mantle/auth'
import {akamai} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {akamaiTopicFlags} from '../../cloud-flags.js'
import {akamaiApiInput, akamaiCreateImageInput} from '../../options.js'

export default class AkamaiCreateImage extends BaseCommand<typeof AkamaiCreateImage> {
  static override summary = 'Upload a disk image (raw, or gzipped .bin.gz) as a private image and wait until it is available.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name flatcar-beta-4000.1.0 --file flatcar_production_akamai_image.bin.gz',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...akamaiTopicFlags,
    file: Flags.string({summary: 'Local disk image: raw (gzipped on the way) or .gz.', default: 'flatcar_production_akamai_image.bin.gz'}),
    name: Flags.string({summary: 'Image label.', default: 'flatcar-kola-test'}),
  }

  async run(): Promise<{id: string; name: string}> {
    const input = akamaiCreateImageInput(this.flags)
    const {credentials} = await profileAuth('akamai', profileAuthInput('akamai', this.flags), this.context)
    const result = await akamai.createAkamaiImage({
      api: await akamai.akamaiApi({credentials, ...akamaiApiInput(this.context.env), ...this.context}),
      ...input,
      context: this.context,
    })
    this.log(result.id)
    return result
  }
}
