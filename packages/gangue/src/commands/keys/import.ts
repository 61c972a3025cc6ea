import {Args, BaseCommand, Flags, formatFingerprint} from '@mantle/kit'

import {importKeysOptions} from '../../options.js'
import type {ImportedKey} from '../../services/keys.js'

export default class KeysImport extends BaseCommand<typeof KeysImport> {
  static override summary = 'Add or refresh public keys in your keyring (used with the embedded keys to verify downloads).'
  static override description = `Keys are stored one per file, as <FINGERPRINT>.asc, in $XDG_CONFIG_HOME/mantle/keyring (default ~/.config/mantle/keyring). Importing a key that is already there merges it: new subkeys, extended expiry dates and revocations take effect. Only public parts are stored.`
  static override examples = [
    '<%= config.bin %> keys import Flatcar_Image_Signing_Key.asc --fingerprint "F88C FEDE FF29 A5B4 D952  3864 E25D 9AED 0593 B34A"',
    '<%= config.bin %> keys import release-keys.gpg --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {file: Args.string({description: 'Armored or binary key file (several may be given)', required: true})}
  static override flags = {
    fingerprint: Flags.string({
      summary: 'Import only if every key has this fingerprint (repeatable): the one the publisher announced.',
      multiple: true,
    }),
  }

  async run(): Promise<{imported: ImportedKey[]}> {
    const {flags, context} = this
    const {importKeys} = await import('../../services/keys.js')
    const imported = await importKeys(importKeysOptions(flags, context.argv, context))
    for (const k of imported) this.log(`${k.status} ${formatFingerprint(k.fingerprint)}  ${k.userIds.join(', ')}`)
    return {imported}
  }
}
