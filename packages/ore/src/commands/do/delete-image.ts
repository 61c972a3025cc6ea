import {doFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

export default class DoDeleteImage extends BaseCommand<typeof DoDeleteImage> {
  static override summary = 'Delete private images by id or name.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> flatcar-alpha-4000.0.0',
    '<%= config.bin %> <%= command.id %> 123456 --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {image: Args.string({required: true, description: 'Image ids or names.'})}
  static override flags = {...doFlags}

  async run(): Promise<{deleted: number[]}> {
    const {credentials} = await profileAuth('do', profileAuthInput('do', this.flags), this.context)
    const result = await digitalocean.deleteDoImages({
      api: await digitalocean.doApi({credentials, ...this.context}),
      images: [...this.context.argv],
      context: this.context,
    })
    for (const id of result.deleted) this.log(`deleted ${id}`)
    return result
  }
}
