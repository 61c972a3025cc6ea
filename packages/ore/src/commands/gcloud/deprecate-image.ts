import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'

export default class GcloudDeprecateImage extends BaseCommand<typeof GcloudDeprecateImage> {
  static override summary = "Set an image's deprecation state, pointing at its replacement."
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-alpha-3999-0-0 --state DEPRECATED --replacement flatcar-alpha-4000-0-0']
  static override enableJsonFlag = true
  static override args = {name: Args.string({required: true, description: 'Image name.'})}
  static override flags = {
    ...gcloudTopicFlags,
    state: Flags.option({options: ['DEPRECATED', 'OBSOLETE', 'DELETED', 'ACTIVE'] as const, summary: 'Deprecation state.', default: 'DEPRECATED'})(),
    replacement: Flags.string({summary: 'The image to use instead.'}),
  }

  async run(): Promise<{name: string; state: string}> {
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(this.flags, this.context), project: this.flags.project, ...this.context})
    const result = await gcloud.deprecateImage({compute, name: this.args.name, state: this.flags.state, replacement: this.flags.replacement, context: this.context})
    this.log(`${result.name} ${result.state}`)
    return result
  }
}
