import {esxFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {esx, requireFile} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {esxCreateBaseOptions} from '../../options.js'

export default class EsxCreateBase extends BaseCommand<typeof EsxCreateBase> {
  static override summary = "Create the base VM from an OVA (through vCenter's content library)."
  static override examples = ['<%= config.bin %> <%= command.id %> --name flatcar-base --file flatcar_production_vmware_ova.ova']
  static override enableJsonFlag = true
  static override flags = {
    ...esxFlags,
    name: Flags.string({summary: 'Name of the base VM.', required: true}),
    file: Flags.string({summary: 'The OVA file.', required: true}),
    datastore: Flags.string({summary: 'Datastore name (default: the first).'}),
    'resource-pool': Flags.string({summary: 'Resource pool name (default: the first).'}),
    insecure: Flags.boolean({summary: "Accept the server's self-signed certificate."}),
  }

  async run(): Promise<{vm: string; name: string; created: boolean}> {
    const f = this.flags
    await requireFile(f.file)
    const {credentials} = await profileAuth('esx', profileAuthInput('esx', f), this.context)
    const result = await esx.createBaseVm(
      esxCreateBaseOptions(f, await esx.esxApi({credentials, insecure: f.insecure, ...this.context}), this.context),
    )
    this.log(`${result.vm} ${result.name}${result.created ? '' : ' (existing)'}`)
    return result
  }
}
