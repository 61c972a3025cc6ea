import {BaseCommand, CheckFailedError, Flags} from '@mantle/kit'

import {verifyFrom} from '../options.js'
import {verifyCheckouts, type VerifyResult} from '../services/verify.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Check that every git checkout a manifest names is at its pinned commit and clean.'
  static override description =
    'Reads a repo manifest (default: .repo/manifest.xml, else .repo/manifests/<manifest-name>), follows its <include>s, and checks each <project>: HEAD equals the pinned revision (a full SHA, or a tag or branch the checkout knows), and git status shows nothing modified or untracked. Exits 1 naming each project that fails.'
  static override examples = [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify --manifest-name release.xml',
    '<%= config.bin %> verify --manifest build.xml --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    root: Flags.string({
      summary: 'The checkout (default: the nearest directory at or above the current one with .repo/manifests/version.txt).',
    }),
    manifest: Flags.string({
      summary: 'The manifest file (default: <root>/.repo/manifest.xml, else .repo/manifests/<manifest-name>).',
      exclusive: ['manifest-name'],
    }),
    'manifest-name': Flags.string({summary: 'Manifest file name in .repo/manifests/.'}),
  }

  async run(): Promise<VerifyResult> {
    const {flags, context} = this
    const options = verifyFrom(flags, context)
    const manifest = options.manifest
    const result = await verifyCheckouts(options)
    for (const p of result.projects) this.log(`${p.ok ? 'ok  ' : 'FAIL'} ${p.path}${p.ok ? '' : `: ${p.problems.join('; ')}`}`)
    const failed = result.projects.filter((p) => !p.ok)
    if (failed.length > 0) {
      throw new CheckFailedError(
        `${failed.length} of ${result.projects.length} checkouts do not match ${manifest}: ${failed[0]!.path}: ${failed[0]!.problems[0]}`,
        {
          hint: 'check out the pinned commits and commit, stash or remove local changes',
        },
      )
    }
    return result
  }
}
