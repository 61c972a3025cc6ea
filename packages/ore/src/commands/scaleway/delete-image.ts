import {profileAuth, profileAuthInput} from '@mantle/auth'
import {scaleway} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {scalewayTopicFlags} from '../../cloud-flags.js'
import {scalewayApiInput} from '../../options.js'

export default class ScalewayDeleteImage extends BaseCommand<typeof ScalewayDeleteImage> {
  static override summary = 'Delete snapshots (what kola boots) or images tagged as ours, by id or name.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> 11111111-2222-3333-4444-555555555555',
    '<%= config.bin %> <%= command.id %> flatcar-4000 --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'Snapshot or image ids or names.'})}
  static override flags = {...scalewayTopicFlags}

  async run(): Promise<{deleted: string[]}> {
    const {credentials} = await profileAuth('scaleway', profileAuthInput('scaleway', this.flags), this.context)
    const result = await scaleway.deleteScalewayImages({
      api: await scaleway.scalewayApi({credentials, ...scalewayApiInput(this.flags, this.context.env), ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(`deleted ${id}`)
    return result
  }
}
