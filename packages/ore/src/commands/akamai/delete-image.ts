import {profileAuth, profileAuthInput} from '@mantle/auth'
import {akamai} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {akamaiTopicFlags} from '../../cloud-flags.js'
import {akamaiApiInput} from '../../options.js'

export default class AkamaiDeleteImage extends BaseCommand<typeof AkamaiDeleteImage> {
  static override summary = 'Delete private images tagged as ours, by id (private/NNN) or label.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> private/12345',
    '<%= config.bin %> <%= command.id %> flatcar-kola-test --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'Image ids or labels.'})}
  static override flags = {...akamaiTopicFlags}

  async run(): Promise<{deleted: string[]}> {
    const {credentials} = await profileAuth('akamai', profileAuthInput('akamai', this.flags), this.context)
    const result = await akamai.deleteAkamaiImages({
      api: await akamai.akamaiApi({credentials, ...akamaiApiInput(this.context.env), ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(`deleted ${id}`)
    return result
  }
}
