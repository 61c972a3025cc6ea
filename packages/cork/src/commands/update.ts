import {BaseCommand, Flags} from '@mantle/kit'

import {creationFlags, updateFrom, updateLayoutFrom} from '../options.js'
import {updateSdk, type UpdateResult} from '../services/update.js'

export default class Update extends BaseCommand<typeof Update> {
  static override summary = "Move the checkout's SDK container to a new SDK version: a new image and container, the old ones removed."
  static override description = `The wanted versions come from version.txt, --sdk-version and --new-version (the OS version). When the container already has them, it is kept (and started). A wanted SDK older than the container's is refused unless --downgrade-in-place (keep the newer SDK) or --downgrade-replace (replace it with the older one) says what to do. --chroot NAME updates the container of that name (created by create --chroot NAME) in place and leaves the checkout's other containers alone. Afterwards, in the resulting container: with --manifest-url, repo init (and --verify-signature) and repo sync, as create does; --force-sync runs repo sync --force-sync (with or without --manifest-url); --verify checks the checkouts.`
  static override examples = [
    '<%= config.bin %> update',
    '<%= config.bin %> update --sdk-version 3066.0.0 --new-version 3066.1.0',
    '<%= config.bin %> update --sdk-version 3033.0.0 --downgrade-replace',
    '<%= config.bin %> update --create --json',
    '<%= config.bin %> update --chroot my-sdk --manifest-url https://github.com/flatcar/manifest.git --force-sync',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...creationFlags,
    'force-sync': Flags.boolean({
      summary:
        'Run repo sync --force-sync in the container afterwards (overwrites stale .git directories), with or without --manifest-url.',
    }),
    'new-version': Flags.string({summary: 'OS version to update to (same as --os-version).'}),
    create: Flags.boolean({summary: 'Create the container when the checkout has none.'}),
    'downgrade-in-place': Flags.boolean({summary: "When the wanted SDK is older than the container's, keep the newer one."}),
    'downgrade-replace': Flags.boolean({summary: "When the wanted SDK is older than the container's, replace it with the older one."}),
  }

  async run(): Promise<UpdateResult> {
    const {flags, context} = this
    const layout = await updateLayoutFrom(flags, context.cwd)
    const result = await updateSdk(await updateFrom(flags, layout, context))
    this.log(`${result.action}: ${result.container}`)
    return result
  }
}
