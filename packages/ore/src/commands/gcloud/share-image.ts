import {gceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {Args, BaseCommand} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput} from '../../options.js'

export default class GcloudShareImage extends BaseCommand<typeof GcloudShareImage> {
  static override summary = 'Make an image public: let every Google account use it (roles/compute.imageUser for allAuthenticatedUsers).'
  static override description =
    "Reads the image's IAM policy and adds the binding only when it is missing; every other binding is kept, and the policy is written back with the etag read, so a concurrent change is not overwritten. An image that is already public is left alone. plume release does the same for a channel whose gce settings say `public: true`."
  static override examples = [
    '<%= config.bin %> <%= command.id %> flatcar-stable-4000-0-0-v20260501 --project my-project',
    '<%= config.bin %> <%= command.id %> flatcar-stable-4000-0-0-v20260501 --json',
  ]
  static override enableJsonFlag = true
  static override args = {name: Args.string({required: true, description: 'Image name.'})}
  static override flags = gcloudTopicFlags

  async run(): Promise<{name: string; changed: boolean}> {
    const {auth, project} = gcloudComputeInput(this.flags)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const result = await gcloud.makeImagePublic({compute, name: this.args.name, context: this.context})
    this.log(`${result.name}: ${result.changed ? 'public' : 'already public'}`)
    return result
  }
}
