import {openstackFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {openstack, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {openstackCreateImageOptions} from '../../options.js'

export default class OpenstackCreateImage extends BaseCommand<typeof OpenstackCreateImage> {
  static override summary = 'Create a Glance image from a disk file and wait until it is active.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name flatcar-alpha-4000.0.0 --file flatcar_production_openstack_image.img',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...openstackFlags,
    name: Flags.string({summary: 'Image name.', required: true}),
    file: Flags.string({summary: 'Disk image file.', required: true}),
    'disk-format': Flags.option({options: ['qcow2', 'raw'] as const, summary: 'Format of the file.', default: 'qcow2'})(),
    force: Flags.boolean({summary: 'Replace an active image of the same name.'}),
  }

  async run(): Promise<{id: string; name: string; created: boolean}> {
    const f = this.flags
    await requireFile(f.file)
    const {credentials} = await profileAuth('openstack', profileAuthInput('openstack', f), this.context)
    const result = await openstack.createOpenStackImage(
      openstackCreateImageOptions(f, await openstack.openStackApi({credentials, ...this.context}), this.context),
    )
    this.log(`${result.id} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
