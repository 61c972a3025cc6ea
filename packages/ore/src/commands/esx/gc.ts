import {esxFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {esx} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {gcFlags} from '../../flags.js'
import {esxApiInput, gcOptions} from '../../options.js'

export default class EsxGc extends BaseCommand<typeof EsxGc> {
  static override summary =
    'Power off and delete the VMs kola runs made (named kola-<run>-...-t<time>) and the images they uploaded (library items named kola-<run>) older than --duration.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json']
  static override enableJsonFlag = true
  static override flags = {
    ...esxFlags,
    ...gcFlags,
    insecure: Flags.boolean({summary: "Accept the server's self-signed certificate."}),
  }

  async run(): Promise<{removedVms: string[]; removedLibraryItems: string[]}> {
    const {credentials} = await profileAuth('esx', profileAuthInput('esx', this.flags), this.context)
    const result = await esx.gcEsx({
      api: await esx.esxApi({credentials, ...esxApiInput(this.flags), ...this.context}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const name of [...result.removedVms, ...result.removedLibraryItems]) this.log(name)
    return result
  }
}
