import {storageAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {Args, BaseCommand, Flags, formatFingerprint} from '@mantle/kit'

import {getOptions} from '../options.js'
import type {GetResult} from '../services/get.js'

export default class Get extends BaseCommand<typeof Get> {
  static override summary = 'Download a file from any storage URL and verify its detached OpenPGP signature (<url>.sig) while it downloads.'
  static override description = `The signature is fetched first and checked against the keyring: the keys given with --verify-key, else the embedded keys plus your keyring (gangue keys import). On a fresh download the data starts flowing while the signature is checked: a signature refused stops the download and leaves nothing behind. The data goes to <path>.part, is hashed and verified as it arrives, and is renamed onto <path> only when it verifies: a file that fails verification never appears there, and an existing file is left untouched. An interrupted download resumes from the part file. An existing file that already verifies is not downloaded again.

Exit codes: 0 done, 1 verification failed (bad signature, unknown/expired/revoked key, missing/empty/malformed .sig), 2 usage (bad URL, flag or key file), 3 network or storage failure.`
  static override examples = [
    '<%= config.bin %> get https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_image.bin.bz2',
    '<%= config.bin %> get gs://my-bucket/builds/image.bin ./images/ --json-key key.json',
    '<%= config.bin %> get s3://releases/sdk.tar.bz2 --verify-key releases.asc --keep-sig --json',
    '<%= config.bin %> get file:///srv/mirror/image.bin --no-verify',
  ]
  static override enableJsonFlag = true
  static override args = {
    url: Args.string({description: 'gs://, s3://, az://, https:// or file:// URL (or a local path) of the file', required: true}),
    path: Args.string({description: 'Destination file, or directory to put it in (default: the current directory)'}),
  }
  static override flags = {
    verify: Flags.boolean({summary: 'Verify the detached signature <url>.sig (--no-verify to skip).', default: true, allowNo: true}),
    'verify-key': Flags.string({
      summary: 'Armored or binary public key (or keyring) file to verify with, instead of the default keyring (repeatable).',
      multiple: true,
    }),
    'keep-sig': Flags.boolean({summary: 'Keep the signature as <path>.sig.'}),
    sha256: Flags.boolean({
      summary:
        "Also compute the file's SHA-256 while it downloads, and print it (a second digest over every byte, beside the signature's).",
    }),
    ...storageFlags,
  }

  async run(): Promise<GetResult> {
    const {flags, args, context} = this
    const storage = await storageOptions(args.url, storageAuthInput(flags), context)
    const {get} = await import('../services/get.js')
    const result = await get(getOptions(flags, args, storage, context))
    const what = result.action === 'up-to-date' ? 'already up to date' : result.action === 'unchanged' ? 'unchanged' : result.action
    const who = result.signerFingerprint
      ? `verified, signed by ${result.signerUserId ? `${result.signerUserId} ` : ''}[${formatFingerprint(result.signerFingerprint)}]`
      : 'NOT verified'
    this.log(`${result.path}: ${what}, ${result.bytes} bytes, ${who}${result.sha256 ? `, sha256 ${result.sha256}` : ''}`)
    return result
  }
}
