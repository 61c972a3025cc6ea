import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudDeprecateOptions} from '../../options.js'

export default class GcloudDeprecateImage extends BaseCommand<typeof GcloudDeprecateImage> {
  static override summary = "Set an image's deprecation state, pointing at its replacement."
  static override examples = [
    '<%= config.bin %> <%= command.id %> flatcar-alpha-3999-0-0 --state DEPRECATED --replacement flatcar-alpha-4000-0-0',
  ]
  static override enableJsonFlag = true
  static override args = {name: Args.string({required: true, description: 'Image name.'})}
  static override flags = {
    ...gcloudTopicFlags,
    state: Flags.option({
      options: ['DEPRECATED', 'OBSOLETE', 'DELETED', 'ACTIVE'] as const,
      summary: 'Deprecation state.',
      default: 'DEPRECATED',
    })(),
    replacement: Flags.string({summary: 'The image to use instead.'}),
  }

  async run(): Promise<{name: string; state: string}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.deprecateImage(gcloudDeprecateOptions(this.flags, this.args.name, compute, this.context))
    this.log(`${result.name} ${result.state}`)
    return result
  }
}
