import {BaseCommand, Flags} from '@mantle/kit'

import {chrootFlags, deleteFrom, engineFlags} from '../options.js'
import {deleteSdk, type DeleteResult} from '../services/delete.js'

export default class Delete extends BaseCommand<typeof Delete> {
  static override summary = "Remove the checkout's SDK containers, and their images unless another container uses them."
  static override description =
    'Without --chroot, every SDK container of the checkout; with --chroot NAME, only the container create --chroot NAME made.'
  static override examples = [
    '<%= config.bin %> delete',
    '<%= config.bin %> delete --keep-images',
    '<%= config.bin %> delete --root ~/flatcar --json',
    '<%= config.bin %> delete --chroot my-sdk',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...engineFlags,
    root: Flags.string({
      summary: 'The checkout (default: the nearest directory at or above the current one with .repo/manifests/version.txt).',
    }),
    'keep-images': Flags.boolean({summary: 'Keep the SDK images, so that a later create needs no download.'}),
    ...chrootFlags,
  }

  async run(): Promise<DeleteResult> {
    const {flags, context} = this
    const result = await deleteSdk(deleteFrom(flags, context))
    for (const c of result.containers) this.log(`removed container ${c}`)
    for (const i of result.images) this.log(`removed image ${i}`)
    return result
  }
}
