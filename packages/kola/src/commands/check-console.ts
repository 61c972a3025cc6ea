import {Args, BaseCommand, CheckFailedError} from '@mantle/kit'

import {checkConsole, type CheckConsoleResult} from '../services/signatures.js'

export default class CheckConsole extends BaseCommand<typeof CheckConsole> {
  static override summary = 'Scan console logs for failure signatures (emergency shell, kernel panic, oops, WARNING, segfault, core dump).'
  static override description =
    'Takes console log files, or directories searched for console.txt files (default: the latest run). Exits 1 when a signature is found.'
  static override examples = [
    '<%= config.bin %> check-console',
    '<%= config.bin %> check-console _kola_temp/qemu-latest',
    '<%= config.bin %> check-console console.txt --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {path: Args.string({description: 'console log files or directories', required: false})}

  async run(): Promise<CheckConsoleResult> {
    const {argv} = this.context
    const paths = argv.length > 0 ? [...argv] : ['_kola_temp/qemu-latest']
    const result = await checkConsole({paths})
    for (const hit of result.hits) this.log(`${hit.source}: ${hit.description}: ${hit.match}`)
    this.logger.info(`scanned ${result.scanned.length} file(s)`)
    if (result.hits.length > 0) {
      if (this.jsonEnabled()) this.logJson(result)
      throw new CheckFailedError(`${result.hits.length} failure signature(s) in ${new Set(result.hits.map((h) => h.source)).size} file(s)`)
    }
    return result
  }
}
