import {BaseCommand} from '@mantle/kit'

import {layoutFrom, layoutFlags, sourceFrom, sourceFlags} from '../options.js'
import {downloadSdk, type DownloadedSdk} from '../services/sdk/download.js'

export default class Download extends BaseCommand<typeof Download> {
  static override summary = 'Download the SDK tarball into <root>/.cache/sdks/ and verify its signature; nothing else.'
  static override examples = [
    '<%= config.bin %> download',
    '<%= config.bin %> download --sdk-version 3033.0.0 --verify-key flatcar.asc',
    '<%= config.bin %> download --sdk-url gs://my-mirror --json-key key.json --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...layoutFlags, ...sourceFlags}

  async run(): Promise<DownloadedSdk> {
    const {flags, context} = this
    const result = await downloadSdk(await layoutFrom(flags, context.cwd), await sourceFrom(flags, context), context.signal)
    this.log(result.path)
    return result
  }
}
