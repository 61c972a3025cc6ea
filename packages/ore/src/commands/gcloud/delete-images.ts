import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput} from '../../options.js'

export default class GcloudDeleteImages extends BaseCommand<typeof GcloudDeleteImages> {
  static override summary = 'Delete images by name; names that do not exist are reported.'
  static override examples = ['<%= config.bin %> <%= command.id %> flatcar-alpha-3999-0-0 flatcar-alpha-3998-0-0']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {name: Args.string({required: true, description: 'Image names.'})}
  static override flags = {...gcloudTopicFlags}

  async run(): Promise<{deleted: string[]; missing: string[]}> {
    const names = [...this.context.argv]
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.deleteImages({compute, names, context: this.context})
    for (const n of result.deleted) this.log(`deleted ${n}`)
    for (const n of result.missing) this.logger.warn(`no image ${n}`)
    return result
  }
}
