import {Flags, type BaseFlags} from '@mantle/kit'

import type {RunResult} from '../services/run.js'
import {failedTestsOf} from '../services/rerun.js'
import Run from './run.js'

export default class Rerun extends Run {
  static override summary = 'Run again the tests that failed in the last run (its reports/report.json).'
  static override description = `Reads the report of the last run (_kola_temp/<platform>-latest, or --from) and runs its failed tests,
with the same flags as kola run (pass the same -E/--tests-dir/--tag as the run had).`
  static override examples = [
    '<%= config.bin %> rerun',
    '<%= config.bin %> rerun --from _kola_temp/qemu-2026-12-06-0912-4242 -E ./my-project',
  ]
  static override strict = true
  static override flags = {
    ...Run.flags,
    from: Flags.string({
      summary: 'The run to take the failures from: its output directory or its report.json. Default: _kola_temp/<platform>-latest.',
    }),
  }

  override async run(): Promise<RunResult> {
    // The base command parsed Rerun's own flags; Run's type parameter just does not name --from.
    const flags = this.flags as BaseFlags<typeof Rerun>
    const {logger, cwd} = this.context
    const failed = await failedTestsOf({from: flags.from, platform: flags.platform, cwd})
    logger.notice(`rerunning ${failed.tests.length} failed test(s) of ${failed.report}: ${failed.tests.join(' ')}`)
    return this.runPatterns(failed.tests)
  }
}
