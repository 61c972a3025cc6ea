import {hetznerFlags, profileAuth, profileAuthInput, resolveEndpoints} from '@mantle/auth'
import {hetzner} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

export default class HetznerDeleteImage extends BaseCommand<typeof HetznerDeleteImage> {
  static override summary = 'Delete snapshot images by id or description.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> 123456',
    '<%= config.bin %> <%= command.id %> flatcar-alpha-4000.0.0 --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'Image ids or descriptions.'})}
  static override flags = {...hetznerFlags}

  async run(): Promise<{deleted: number[]}> {
    const {credentials} = await profileAuth('hetzner', profileAuthInput('hetzner', this.flags), this.context)
    const endpoint = resolveEndpoints({}, this.context.env).hetzner
    const result = await hetzner.deleteHetznerImages({
      api: await hetzner.hetznerApi({credentials, endpoint, ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(`deleted ${id}`)
    return result
  }
}
