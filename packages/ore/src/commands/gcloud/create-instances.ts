import {readFile} from 'node:fs/promises'

import {gceAuth} from '@mantle/auth'
import {gcloud, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {gcloudTopicFlags} from '../../flags.js'
import {gcloudComputeInput, gcloudCreateInstancesInput} from '../../options.js'

export default class GcloudCreateInstances extends BaseCommand<typeof GcloudCreateInstances> {
  static override summary = 'Create instances labelled as ours (gc and destroy-instances find them).'
  static override examples = ['<%= config.bin %> <%= command.id %> --image flatcar-alpha-4000-0-0 --count 2 --user-data config.ign']
  static override enableJsonFlag = true
  static override flags = {
    ...gcloudTopicFlags,
    count: Flags.integer({summary: 'How many instances.', default: 1, min: 1, max: 50}),
    'user-data': Flags.string({summary: 'File with an Ignition config or cloud-config for the instances.'}),
    'ssh-key': Flags.string({summary: 'Public SSH key for the core user (repeatable).', multiple: true}),
  }

  async run(): Promise<{instances: gcloud.InstanceSummary[]}> {
    const f = this.flags
    const input = gcloudCreateInstancesInput(f)
    const userData = f['user-data'] ? (await requireFile(f['user-data'], '--user-data'), await readFile(f['user-data'], 'utf8')) : undefined
    const {auth, project} = gcloudComputeInput(f)
    const compute = await gcloud.gceComputeApi({auth: await gceAuth(auth, this.context), project, ...this.context})
    const instances = await gcloud.createInstances({...input, compute, userData, context: this.context})
    for (const i of instances) this.log(`${i.name} ${i.zone} ${i.ip ?? ''}`.trim())
    return {instances}
  }
}
