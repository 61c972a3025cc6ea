import {availableParallelism, freemem} from 'node:os'

import {BaseCommand, CheckFailedError, Flags, InfraError} from '@mantle/kit'

import {kubeDeployerFlags, kubeSpecFrom} from '../kube/options.js'
import {architectureOf, parallelFrom, platformFlags, platformSettingsFrom, selectionFlags, selectionFrom} from '../options.js'
import type {DenyRule} from '../register/select.js'
import {autoParallel} from '../services/capacity.js'
import {availableTests} from '../services/catalog.js'
import {loadDenylist} from '../services/denylist.js'
import {availablePlatforms} from '../services/platforms.js'
import {serveMetrics, TestMetrics} from '../services/metrics.js'
import {type RunResult, runTests} from '../services/run.js'

export default class Run extends BaseCommand<typeof Run> {
  static override summary = 'Run the tests whose names match the globs (all tests when none is given).'
  static override description = `Boots a cluster of machines for each test on the platform, runs the test over SSH and tears the cluster down.
Writes test.tap, reports/report.json and reports/junit.xml, plus console.txt and journal.txt for every machine, under
_kola_temp/<platform>-<stamp>-<pid> (linked from _kola_temp/<platform>-latest) or --output-dir.
Cluster tests (kube.* and tests declaring \`kube\`) get a Kubernetes cluster from --deployer (default local) instead of machines; the
compatible ones share one. They run when a pattern or --tag names them.
Exit codes: 0 every test passed (or passed on --rerun), 77 only warn-only tests failed, 1 a test failed, 2 usage, 3 a machine or cluster never came up or the run was interrupted.`
  static override examples = [
    '<%= config.bin %> run',
    "<%= config.bin %> run 'coreos.*' --parallel 2",
    '<%= config.bin %> run coreos.basic --qemu-image disk.img --qemu-kernel vmlinux --qemu-initrd initrd.img',
    "<%= config.bin %> run --denylist-test 'coreos.network.*' --output-dir _ci_temp --json",
    '<%= config.bin %> run --parallel auto --rerun --denylist denylist.yaml',
    '<%= config.bin %> run --tests-dir ./tests --metrics-port 9091',
    "<%= config.bin %> run 'kube.*' --deployer kubeconfig --kubeconfig ~/.kube/config",
  ]
  static override strict = false
  static override enableJsonFlag = true
  static override flags = {
    ...platformFlags,
    ...selectionFlags,
    parallel: Flags.string({
      char: 'j',
      default: '1',
      summary: 'Run at most this many tests at once, or "auto": as many machines as free memory and cores allow.',
    }),
    'output-dir': Flags.string({summary: 'Output directory; an existing one is emptied only if kola made it (_*_temp or .harness_temp).'}),
    'denylist-test': Flags.string({
      multiple: true,
      aliases: ['blacklist-test'],
      summary: 'Do not run tests (or subtests) matching this glob; they are reported as skipped.',
    }),
    denylist: Flags.string({
      summary: 'YAML file of denied globs, each with a reason and an optional "snooze: YYYY-MM-DD" after which it expires.',
    }),
    'tests-dir': Flags.string({
      multiple: true,
      summary: 'Also load tests from this directory: modules (*.js, *.mjs exporting `tests`) and executable scripts.',
    }),
    timeout: Flags.integer({default: 600, min: 1, summary: 'Seconds a test may take unless it sets its own timeout.'}),
    'extend-timeout-percentage': Flags.integer({default: 0, min: 0, summary: "Lengthen every test's timeout by this percentage."}),
    rerun: Flags.boolean({summary: 'Run failed tests once more; a pass on rerun is reported as a flake and does not fail the run.'}),
    multiply: Flags.integer({default: 1, min: 1, summary: 'Run each selected test this many times (<name>~1 ... <name>~N).'}),
    'metrics-port': Flags.integer({
      min: 0,
      max: 65535,
      summary: 'Serve Prometheus metrics (assertions_failed, tests_run, ...) on this port during the run and after it, until Ctrl-C.',
    }),
    'metrics-host': Flags.string({default: '127.0.0.1', summary: 'Address the metrics server listens on (with --metrics-port).'}),
    ...kubeDeployerFlags,
  }

  async run(): Promise<RunResult> {
    return this.runPatterns(this.context.argv.filter((a) => a.length > 0))
  }

  /** Runs the tests of the patterns with this command's flags (`kola rerun` passes the failures of the last run). */
  protected async runPatterns(patterns: string[]): Promise<RunResult> {
    const {logger, signal, env} = this.context
    const selection = selectionFrom(this.flags)
    // Machines kept with --keep-failed outlive kola: QEMU must not die with it.
    const settings = platformSettingsFrom(this.flags, env, {...this.context, keepAlive: selection.keepFailed === 'keep'})
    const registry = await availablePlatforms(settings.modules)
    const platform = registry.get(settings.platform).name
    const qemu = settings.options.qemu
    const denylist: DenyRule[] = [
      ...(this.flags.denylist ? await loadDenylist(this.flags.denylist) : []),
      ...(this.flags['denylist-test'] ?? []).map((pattern) => ({pattern, reason: 'denied by --denylist-test'})),
    ]
    let parallel: number
    const parallelFlag = parallelFrom(this.flags.parallel)
    if (parallelFlag === 'auto') {
      const auto = autoParallel(
        {availableMiB: freemem() / 2 ** 20, cores: availableParallelism()},
        {memoryMiB: qemu.memoryMiB, cpus: qemu.cpus},
      )
      logger.info(`--parallel auto: ${auto.machines} machine(s) at once (${auto.reason})`)
      parallel = auto.machines
    } else parallel = parallelFlag

    const metrics = this.flags['metrics-port'] === undefined ? undefined : new TestMetrics()
    const server = metrics ? await serveMetrics(metrics, this.flags['metrics-host'], this.flags['metrics-port'] as number) : undefined
    if (server) logger.notice(`metrics on ${server.url}`)
    let result: RunResult
    try {
      result = await runTests({
        tests: await availableTests(this.flags['tests-dir'], selection.extDirs),
        tags: selection.tags,
        sharding: selection.sharding,
        keepFailed: selection.keepFailed,
        architecture: architectureOf(qemu.binary),
        distro: settings.common.distro.name,
        machineMemoryMiB: qemu.memoryMiB,
        patterns,
        denylist,
        platform,
        createFlight: () => registry.flightFor(platform, settings.options, settings.common),
        parallel,
        parallelByMachines: parallelFlag === 'auto',
        outputDir: this.flags['output-dir'],
        cwd: this.context.cwd,
        defaultTimeoutMs: this.flags.timeout * 1000,
        extendTimeoutPercent: this.flags['extend-timeout-percentage'],
        rerun: this.flags.rerun,
        multiply: this.flags.multiply,
        version: this.config.version,
        logger,
        signal,
        onResult: (r) => metrics?.record(r),
        kube: {
          // Asked only when a cluster test runs: a cloud deployer's credentials are not needed otherwise.
          spec: () => kubeSpecFrom(this.flags, {...this.context, nodeBinary: process.execPath}),
          env,
        },
      })
      metrics?.suiteFinished()
      this.printSummary(result)
      if (server && !result.interrupted) {
        logger.notice(`run finished; still serving ${server.url} until Ctrl-C`)
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), {once: true})))
      }
    } finally {
      await server?.close()
    }
    if (result.interrupted) throw signal.reason instanceof Error ? signal.reason : new InfraError('interrupted')
    if (result.infraFailures > 0) {
      throw new InfraError(`${result.infraFailures} test(s) could not run: a machine or cluster never came up`, {
        hint: `see console.txt of the machines (or _kube-cluster-*/logs) under ${result.outputDir}`,
      })
    }
    if (result.failed > 0) throw new CheckFailedError(`${result.failed} test(s) failed`, {hint: `see ${result.reports.tap}`})
    if (result.warnings > 0) throw new WarningsOnlyError(result.warnings, result.reports.tap)
    if (result.passed === 0 && result.skipped > 0) logger.warn('every selected test was skipped')
    return result
  }

  private printSummary(result: RunResult): void {
    for (const t of result.tests) {
      if (t.name.includes('/')) continue
      this.log(
        `${t.result === 'INTERRUPTED' ? t.result : t.result.padEnd(4)} ${t.name} (${(t.durationMs / 1000).toFixed(1)}s)${t.flake ? ' flake: passed on rerun' : ''}${t.warn ? ' warn-only' : ''}${t.reason ? ` ${t.reason}` : ''}`,
      )
    }
    const flakes = result.flakes > 0 ? `, ${result.flakes} flake(s)` : ''
    const cut = `${result.interruptedTests > 0 ? `, ${result.interruptedTests} interrupted` : ''}${result.warnings > 0 ? `, ${result.warnings} warning(s)` : ''}`
    this.log(`${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped${cut}${flakes}; reports in ${result.outputDir}`)
  }
}

/** Only warn-only tests failed: exit 77, as coreos-assembler's kola with --on-warn-failure-exit-77. */
class WarningsOnlyError extends CheckFailedError {
  override readonly exitCode: 1
  constructor(count: number, tap: string) {
    super(`${count} warn-only test(s) failed and nothing else did`, {hint: `see ${tap}`})
    this.exitCode = 77 as 1
  }
}
