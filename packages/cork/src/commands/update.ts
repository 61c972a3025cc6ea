import {BaseCommand, Flags} from '@mantle/kit'

import {containerFlags, endpointFrom, engineFlags, layoutFrom, layoutFlags, mountsFrom, sourceFrom, sourceFlags} from '../flags.js'
import {updateSdk, type UpdateResult} from '../services/update.js'

export default class Update extends BaseCommand<typeof Update> {
  static override summary = 'Move the checkout\'s SDK container to a new SDK version: a new image and container, the old ones removed.'
  static override description = `The wanted versions come from version.txt, --sdk-version and --new-version (the OS version). When the container already has them, it is kept (and started). A wanted SDK older than the container's is refused unless --downgrade-in-place (keep the newer SDK) or --downgrade-replace (replace it with the older one) says what to do.`
  static override examples = [
    '<%= config.bin %> update',
    '<%= config.bin %> update --sdk-version 3066.0.0 --new-version 3066.1.0',
    '<%= config.bin %> update --sdk-version 3033.0.0 --downgrade-replace',
    '<%= config.bin %> update --create --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...engineFlags,
    ...layoutFlags,
    ...sourceFlags,
    ...containerFlags,
    'new-version': Flags.string({summary: 'OS version to update to (same as --os-version).', exclusive: ['os-version']}),
    create: Flags.boolean({summary: 'Create the container when the checkout has none.'}),
    'downgrade-in-place': Flags.boolean({summary: 'When the wanted SDK is older than the container\'s, keep the newer one.', exclusive: ['downgrade-replace']}),
    'downgrade-replace': Flags.boolean({summary: 'When the wanted SDK is older than the container\'s, replace it with the older one.'}),
  }

  async run(): Promise<UpdateResult> {
    const {flags, context} = this
    const result = await updateSdk({
      layout: await layoutFrom({...flags, 'os-version': flags['new-version'] ?? flags['os-version']}, process.cwd()),
      endpoint: endpointFrom(flags, context),
      source: await sourceFrom(flags, context),
      mounts: mountsFrom(flags, context),
      replace: flags.replace,
      create: flags.create,
      downgradeInPlace: flags['downgrade-in-place'],
      downgradeReplace: flags['downgrade-replace'],
      logger: this.logger,
      signal: context.signal,
    })
    this.log(`${result.action}: ${result.container}`)
    return result
  }
}
