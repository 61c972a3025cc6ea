import {writeFile} from 'node:fs/promises'
import {resolve} from 'node:path'

import {BaseCommand, Flags} from '@mantle/kit'

import {stageFlags} from '../flags.js'
import type {ImageList, StageResult} from '../services/stages.js'

export default class PreRelease extends BaseCommand<typeof PreRelease> {
  static override summary =
    'Prepare a release without making anything public: verify the images, upload them to the clouds, write the image lists.'
  static override description =
    'Every step checks whether it is already done, so running again after any failure completes the release with the same end state. Nothing is made public: that is `plume release`.'
  static override examples = [
    '<%= config.bin %> pre-release --config channels/local.yaml -B amd64-usr -V 1.2.3',
    '<%= config.bin %> pre-release -c channels/flatcar.yaml -C beta -V 3815.2.0 --platform aws --write-image-list images.json',
    '<%= config.bin %> pre-release -C beta -V 3815.2.0 --dry-run',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stageFlags,
    'write-image-list': Flags.string({
      summary: 'Write the images made ({"aws": {"amis": [{name, hvm}]}, "azure": {"image"}}) to this JSON file.',
    }),
  }

  async run(): Promise<StageResult & {imageList?: ImageList}> {
    const {stageOptions} = await import('../setup.js')
    const {runStage, imageList} = await import('../services/stages.js')
    const {stageLines} = await import('../report.js')
    const options = await stageOptions(this.flags, this.context)
    const result: StageResult & {imageList?: ImageList} = await runStage('pre-release', options)
    const target = this.flags['write-image-list']
    if (target && !result.dryRun) {
      const list = await imageList(options)
      await writeFile(resolve(target), JSON.stringify(list, null, 2) + '\n')
      // A SAS URL is a credential: in the file asked for, never on stdout, in --json or in a log.
      for (const url of Object.values(list.azure?.sasUrls ?? {})) this.context.redactor.add(new URL(url).search.slice(1))
      result.imageList = list.azure?.sasUrls
        ? {
            ...list,
            azure: {...list.azure, sasUrls: Object.fromEntries(Object.keys(list.azure.sasUrls).map((env) => [env, `(in ${target})`]))},
          }
        : list
    }
    for (const line of stageLines(result)) this.log(line)
    return result
  }
}
