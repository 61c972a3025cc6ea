import {BaseCommand, Flags} from '@mantle/kit'

import {availableTests} from '../services/catalog.js'
import {availablePlatforms} from '../services/platforms.js'
import {formatTestTable, type ListedTest, listTests} from '../services/list.js'

export default class List extends BaseCommand<typeof List> {
  static override summary = 'List the tests kola knows, with the platforms and distributions they run on.'
  static override examples = [
    '<%= config.bin %> list',
    "<%= config.bin %> list --filter 'coreos.*'",
    '<%= config.bin %> list -E packages/kola/examples/demo',
    '<%= config.bin %> list --json --tests-dir ./my-tests',
  ]
  static override enableJsonFlag = true
  static override flags = {
    filter: Flags.string({summary: 'Only tests whose names match this glob (filepath.Match syntax).'}),
    'tests-dir': Flags.string({multiple: true, summary: 'Also load test modules (*.js, *.mjs exporting `tests`) from this directory.'}),
    exttest: Flags.string({
      char: 'E',
      multiple: true,
      summary: "Also load external tests: a project directory holding tests/kola (coreos-assembler's layout).",
    }),
    platform: Flags.string({char: 'p', summary: 'Only tests that run on this platform.'}),
    'platform-module': Flags.string({
      multiple: true,
      summary: 'Also load platforms from this module (exporting `platform` or `platforms`).',
    }),
  }

  async run(): Promise<{tests: ListedTest[]}> {
    const platform =
      this.flags.platform === undefined
        ? undefined
        : (await availablePlatforms(this.flags['platform-module'])).get(this.flags.platform).name
    const tests = listTests({tests: await availableTests(this.flags['tests-dir'], this.flags.exttest), filter: this.flags.filter, platform})
    this.log(formatTestTable(tests))
    return {tests}
  }
}
