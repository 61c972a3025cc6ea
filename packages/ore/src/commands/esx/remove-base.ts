import {esxFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {esx} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {esxApiInput} from '../../options.js'

export default class EsxRemoveBase extends BaseCommand<typeof EsxRemoveBase> {
  static override summary = 'Remove the base VM and its content library item.'
  static override examples = ['<%= config.bin %> <%= command.id %> --name flatcar-base']
  static override enableJsonFlag = true
  static override flags = {
    ...esxFlags,
    name: Flags.string({summary: 'Name of the base VM.', required: true}),
    insecure: Flags.boolean({summary: "Accept the server's self-signed certificate."}),
  }

  async run(): Promise<{removed: esx.EsxVm[]; libraryItem?: string | undefined}> {
    const {credentials} = await profileAuth('esx', profileAuthInput('esx', this.flags), this.context)
    const result = await esx.removeBaseVm({
      api: await esx.esxApi({credentials, ...esxApiInput(this.flags), ...this.context}),
      name: this.flags.name,
      context: this.context,
    })
    for (const v of result.removed) this.log(`removed ${v.name} (${v.vm})`)
    return result
  }
}
