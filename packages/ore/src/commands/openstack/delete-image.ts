import {openstackFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {openstack} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

export default class OpenstackDeleteImage extends BaseCommand<typeof OpenstackDeleteImage> {
  static override summary = 'Delete a Glance image by id, or every image of a name.'
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-alpha-4000.0.0']
  static override enableJsonFlag = true
  static override args = {image: Args.string({required: true, description: 'Image id or name.'})}
  static override flags = {...openstackFlags}

  async run(): Promise<{deleted: string[]}> {
    const {credentials} = await profileAuth('openstack', profileAuthInput('openstack', this.flags), this.context)
    const result = await openstack.deleteOpenStackImage({
      api: await openstack.openStackApi({credentials, ...this.context}),
      image: this.args.image,
      context: this.context,
    })
    for (const id of result.deleted) this.log(`deleted ${id}`)
    return result
  }
}
