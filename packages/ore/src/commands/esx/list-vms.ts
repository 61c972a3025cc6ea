import {esxFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {esx} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {esxApiInput, esxVmsInput} from '../../options.js'

export default class EsxListVms extends BaseCommand<typeof EsxListVms> {
  static override summary = 'List VMs, optionally only those whose name starts with --prefix.'
  static override examples = ['<%= config.bin %> <%= command.id %> --prefix kola-', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = {
    ...esxFlags,
    prefix: Flags.string({summary: 'Only VMs whose name starts with this.'}),
    insecure: Flags.boolean({summary: "Accept the server's self-signed certificate."}),
  }

  async run(): Promise<{vms: esx.EsxVm[]}> {
    const {prefix} = esxVmsInput(this.flags, [])
    const {credentials} = await profileAuth('esx', profileAuthInput('esx', this.flags), this.context)
    const vms = (await (await esx.esxApi({credentials, ...esxApiInput(this.flags), ...this.context})).listVms()).filter((v) =>
      v.name.startsWith(prefix ?? ''),
    )
    for (const v of vms) this.log(`${v.vm} ${v.name} ${v.power_state}`)
    return {vms}
  }
}
