import {BaseCommand, Flags} from '@mantle/kit'

import {platformFlags, platformSettingsFrom} from '../options.js'
import {type BootchartResult, bootchart} from '../services/bootchart.js'
import {availablePlatforms} from '../services/platforms.js'
import {readUserData} from '../services/read-limited.js'

export default class Bootchart extends BaseCommand<typeof Bootchart> {
  static override summary = "Boot one machine and save systemd-analyze's plot of its boot as SVG."
  static override examples = ['<%= config.bin %> bootchart', '<%= config.bin %> bootchart -o boot.svg -u config.ign --json']
  static override enableJsonFlag = true
  static override flags = {
    ...platformFlags,
    output: Flags.string({char: 'o', default: 'bootchart.svg', summary: 'Where to write the SVG.'}),
    userdata: Flags.string({char: 'u', summary: 'File with an Ignition config (JSON) for the machine.'}),
    'output-dir': Flags.string({summary: "Where the machine's console and journal go."}),
  }

  async run(): Promise<BootchartResult> {
    const {logger, signal, env} = this.context
    const path = this.flags.userdata
    const userData = path ? await readUserData(path) : undefined
    const settings = platformSettingsFrom(this.flags, env, {...this.context})
    const registry = await availablePlatforms(settings.modules)
    const platform = registry.get(settings.platform).name
    const result = await bootchart({
      platform,
      createFlight: () => registry.flightFor(platform, settings.options, settings.common),
      userData,
      output: this.flags.output,
      outputDir: this.flags['output-dir'],
      cwd: this.context.cwd,
      logger,
      signal,
    })
    this.log(`${result.svg}: ${result.startup}`)
    return result
  }
}
