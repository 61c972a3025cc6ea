import {Args, BaseCommand, formatFingerprint} from '@mantle/kit'

import {removeKeysOptions} from '../../options.js'

export default class KeysRemove extends BaseCommand<typeof KeysRemove> {
  static override summary = 'Remove keys from your keyring, by fingerprint or 16-digit key ID.'
  static override examples = [
    '<%= config.bin %> keys remove F88CFEDEFF29A5B4D9523864E25D9AED0593B34A',
    '<%= config.bin %> keys remove E25D9AED0593B34A --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {id: Args.string({description: 'Fingerprint or key ID (several may be given)', required: true})}

  async run(): Promise<{removed: {fingerprint: string; file: string}[]}> {
    const {removeKeys} = await import('../../services/keys.js')
    const removed = await removeKeys(removeKeysOptions(this.context.argv, this.context))
    for (const r of removed) this.log(`removed ${formatFingerprint(r.fingerprint)} (${r.file})`)
    return {removed}
  }
}
