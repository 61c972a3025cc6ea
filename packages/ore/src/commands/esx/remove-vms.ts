import {esxFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {esx} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {esxApiInput, esxVmsInput} from '../../options.js'

export default class EsxRemoveVms extends BaseCommand<typeof EsxRemoveVms> {
  static override summary = 'Power off and delete VMs by name, or every VM whose name starts with --prefix.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --prefix kola-',
    '<%= config.bin %> <%= command.id %> kola-1 kola-2 --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {name: Args.string({description: 'VM names.'})}
  static override flags = {
    ...esxFlags,
    prefix: Flags.string({summary: 'Remove VMs whose name starts with this.'}),
    insecure: Flags.boolean({summary: "Accept the server's self-signed certificate."}),
  }

  async run(): Promise<{removed: esx.EsxVm[]}> {
    const {credentials} = await profileAuth('esx', profileAuthInput('esx', this.flags), this.context)
    const result = await esx.removeVms({
      api: await esx.esxApi({credentials, ...esxApiInput(this.flags), ...this.context}),
      ...esxVmsInput(this.flags, this.context.argv),
      context: this.context,
    })
    for (const v of result.removed) this.log(`removed ${v.name}`)
    return result
  }
}
