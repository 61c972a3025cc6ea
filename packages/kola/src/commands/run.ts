import {BaseCommand, CheckFailedError, InfraError} from '@mantle/kit'
import {Flags} from '@oclif/core'

import {platformFlags, qemuOptionsFrom} from '../cli/platform-flags.js'
import {QemuFlight} from '../platform/qemu/flight.js'
import {availableTests} from '../services/catalog.js'
import {type RunResult, runTests} from '../services/run.js'

export default class Run extends BaseCommand<typeof Run> {
  static override summary = 'Run the tests whose names match the globs (all tests when none is given).'
  static override description = `Boots a cluster of machines for each test on the platform, runs the test over SSH and tears the cluster down.
Writes test.tap, reports/report.json and reports/junit.xml, plus console.txt and journal.txt for every machine, under
_kola_temp/<platform>-<stamp>-<pid> (linked from _kola_temp/<platform>-latest) or --output-dir.
Exit codes: 0 every test passed, 1 a test failed, 2 usage, 3 a machine never came up or the run was interrupted.`
  static override examples = [
    '<%= config.bin %> run',
    "<%= config.bin %> run 'coreos.*' --parallel 2",
    '<%= config.bin %> run coreos.basic --qemu-image disk.img --qemu-kernel vmlinux --qemu-initrd initrd.img',
    "<%= config.bin %> run --denylist-test 'coreos.network.*' --output-dir _ci_temp --json",
  ]
  static override strict = false
  static override enableJsonFlag = true
  static override flags = {
    ...platformFlags,
    parallel: Flags.integer({char: 'j', default: 1, min: 1, summary: 'Run at most this many tests at once.'}),
    'output-dir': Flags.string({summary: 'Output directory; an existing one is emptied only if kola made it (_*_temp or .harness_temp).'}),
    'denylist-test': Flags.string({multiple: true, aliases: ['blacklist-test'], summary: 'Do not run tests (or subtests) matching this glob; they are reported as skipped.'}),
    'tests-dir': Flags.string({multiple: true, summary: 'Also load test modules (*.js, *.mjs exporting `tests`) from this directory.'}),
    timeout: Flags.integer({default: 600, min: 1, summary: 'Seconds a test may take unless it sets its own timeout.'}),
  }

  async run(): Promise<RunResult> {
    const {argv} = await this.parse(Run)
    const patterns = (argv as string[]).filter((a) => a.length > 0)
    const {logger, signal, env} = this.context
    const qemu = qemuOptionsFrom(this.flags, env)
    const result = await runTests({
      tests: await availableTests(this.flags['tests-dir']),
      patterns,
      denylist: (this.flags['denylist-test'] ?? []).map((pattern) => ({pattern, reason: 'denied by --denylist-test'})),
      platform: this.flags.platform,
      createFlight: () => QemuFlight.create({...qemu, logger}),
      parallel: this.flags.parallel,
      outputDir: this.flags['output-dir'],
      cwd: process.cwd(),
      defaultTimeoutMs: this.flags.timeout * 1000,
      version: this.config.version,
      logger,
      signal,
    })
    for (const t of result.tests) {
      if (!t.name.includes('/')) this.log(`${t.result.padEnd(4)} ${t.name} (${(t.durationMs / 1000).toFixed(1)}s)${t.reason ? ` ${t.reason}` : ''}`)
    }
    this.log(`${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped; reports in ${result.outputDir}`)
    if (result.interrupted) throw signal.reason instanceof Error ? signal.reason : new InfraError('interrupted')
    if (result.infraFailures > 0) {
      throw new InfraError(`${result.infraFailures} test(s) could not run: a machine never came up`, {hint: `see console.txt of the machines under ${result.outputDir}`})
    }
    if (result.failed > 0) throw new CheckFailedError(`${result.failed} test(s) failed`, {hint: `see ${result.reports.tap}`})
    if (result.passed === 0 && result.skipped > 0) this.logger.warn('every selected test was skipped')
    return result
  }
}

