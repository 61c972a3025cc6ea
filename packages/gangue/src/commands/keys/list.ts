import {BaseCommand, formatFingerprint, type KeyInfo} from '@mantle/kit'

import {listKeysOptions} from '../../options.js'

export default class KeysList extends BaseCommand<typeof KeysList> {
  static override summary =
    'List the keys downloads are verified against: the embedded keys and your keyring, with fingerprints and status.'
  static override examples = ['<%= config.bin %> keys list', '<%= config.bin %> keys list --json']
  static override enableJsonFlag = true

  async run(): Promise<{keys: KeyInfo[]}> {
    const {listKeys} = await import('../../services/keys.js')
    const keys = await listKeys(listKeysOptions(this.context))
    if (keys.length === 0) {
      this.logger.warn("no keys: import a publisher's public key with `gangue keys import FILE`")
    }
    for (const k of keys) {
      const expires = k.expires ? `, expires ${k.expires.toISOString().slice(0, 10)}` : ''
      this.log(`${formatFingerprint(k.fingerprint)}  ${k.status}${expires}  [${k.source}]`)
      for (const uid of k.userIds) this.log(`    ${uid}`)
      for (const s of k.subkeys) {
        const sExpires = s.expires ? `, expires ${s.expires.toISOString().slice(0, 10)}` : ''
        this.log(`    sub ${s.keyId}  ${s.status}${sExpires}${s.canSign ? ', signs' : ''}`)
      }
    }
    return {keys}
  }
}
