import {doFlags, profileAuth, profileAuthInput} from '@mantle/auth'
import {digitalocean} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

export default class DoListKeys extends BaseCommand<typeof DoListKeys> {
  static override summary = 'List the SSH keys of the account.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true
  static override flags = {...doFlags}

  async run(): Promise<{keys: digitalocean.DoKey[]}> {
    const {credentials} = await profileAuth('do', profileAuthInput('do', this.flags), this.context)
    const keys = await (await digitalocean.doApi({credentials, ...this.context})).listKeys()
    for (const k of keys) this.log(`${k.id} ${k.name} ${k.fingerprint}`)
    return {keys}
  }
}
