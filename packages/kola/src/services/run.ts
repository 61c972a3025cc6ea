import {appendFile, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {BugError, type Logger, UsageError} from '@mantle/kit'

import type {TestRecord, TestResult} from '../harness/h.js'
import {prepareOutputDir} from '../harness/output-dir.js'
import {writeHtmlReport} from '../harness/html-report.js'
import {bailOut, TapWriter, tapLines, writeReports} from '../harness/reports.js'
import {overallResult, runSuite} from '../harness/suite.js'
import type {Cluster, Flight} from '../platform/platform.js'
import {type DenyRule, denier, type Sharding, selectTests} from '../register/select.js'
import type {KolaTest} from '../register/test.js'
import type {DeployerSpec} from '../kube/registry.js'
import {KubeClusters, type KubeRunSettings, kubeSuiteTests} from './kube-clusters.js'
import {handleKept, type KeepMode, KeptMachines, planFor, suiteTestsFor, warnOnlyTests, withNotRun} from './schedule.js'

export const DEFAULT_TEST_TIMEOUT_MS = 10 * 60_000

export interface RunOptions {
  /** Every test kola knows (built-in and loaded). */
  tests: readonly KolaTest[]
  /** Globs of test names; empty means all. */
  patterns: readonly string[]
  denylist?: readonly DenyRule[]
  platform: string
  /** Creates the platform session, once tests are selected (pre-flight checks happen here). */
  createFlight: () => Promise<Flight>
  /** At most this many tests at once; or, with `parallelByMachines`, this many machines. */
  parallel: number
  /** Count the cap in machines (a two-machine test takes two slots): `--parallel auto`. */
  parallelByMachines?: boolean
  outputDir?: string | undefined
  cwd: string
  /** A test's timeout unless it sets its own. */
  defaultTimeoutMs?: number
  /** Lengthens every test's timeout by this percentage (slow hosts, TCG). */
  extendTimeoutPercent?: number
  /** Runs failed tests once more; a pass then is a flake. */
  rerun?: boolean
  /** Runs each selected test this many times (`<name>~<i>`). */
  multiply?: number
  /** kola's version, for report.json. */
  version: string
  logger: Logger
  signal: AbortSignal
  /** Time allowed for a stopped test to tear down its machines. */
  graceMs?: number
  /** Called as each test (not subtest) ends, reruns included: metrics. */
  onResult?: (record: TestRecord) => void
  /** `--tag`: `T` selects, `!T` leaves out (see selectTests). */
  tags?: readonly string[]
  /** `--sharding hash:M/N`. */
  sharding?: Sharding | undefined
  /** The machines' architecture (tests' `architectures`). */
  architecture?: string | undefined
  /** The image's distribution (tests' `distros`). */
  distro?: string | undefined
  /** `ssh`: keep failed tests' machines and wait for Ctrl-C at the end; `keep`: leave them running. */
  keepFailed?: KeepMode | undefined
  /** The platform's memory per machine: `--parallel auto` weighs tests asking for more. */
  machineMemoryMiB?: number | undefined
  /** How often consoles are checked while tests run (ms). */
  watchIntervalMs?: number | undefined
  /** Where cluster tests (`kube` in their record) get their clusters. */
  kube?: KubeRunSettings | undefined
}

export interface RunTestResult {
  name: string
  result: TestResult
  durationMs: number
  failure?: string | undefined
  reason?: string | undefined
  flake?: boolean | undefined
  /** A warn-only test failed: reported, but not a failure of the run. */
  warn?: boolean | undefined
}

export interface RunResult {
  result: TestResult
  outputDir: string
  reports: {tap: string; json: string; junit: string; html: string}
  tests: RunTestResult[]
  passed: number
  failed: number
  skipped: number
  /** Tests cut short by SIGINT/SIGTERM: neither passed nor failed. */
  interruptedTests: number
  /** Tests that failed, then passed when run again. */
  flakes: number
  /** Warn-only tests that failed (not counted in `failed`): alone, they make kola exit 77. */
  warnings: number
  /** Failed tests whose machines were left running (`--keep-failed`), with how to reach them. */
  kept: Array<{test: string; ssh: string[]}>
  /** Tests that failed because a machine never came up (exit code 3). */
  infraFailures: number
  interrupted: boolean
  durationMs: number
  /** Kubernetes clusters started for cluster tests (compatible tests share one). */
  kubeClusters: number
}

/**
 * `kola run`: selects tests, boots a cluster for each on the platform, runs
 * them with the parallel cap, writes test.tap as they end, then
 * reports/report.json and reports/junit.xml, even when interrupted.
 */
export async function runTests(options: RunOptions): Promise<RunResult> {
  const selection = selectTests(options.tests, {
    patterns: options.patterns,
    denylist: options.denylist,
    platform: options.platform,
    tags: options.tags,
    sharding: options.sharding,
    architecture: options.architecture,
    distro: options.distro,
  })
  const chosen = multiply(
    [...selection.tests, ...selection.denied.map((d) => d.test), ...selection.skipped.map((d) => d.test)],
    options.multiply ?? 1,
  )
  if (chosen.length === 0) {
    throw new UsageError(`no test matches ${options.patterns.length ? options.patterns.join(' ') : '*'} on ${options.platform}`, {
      hint: 'kola list shows the tests',
    })
  }
  // The deployer's flags are checked before anything starts, and only when a cluster test is to run.
  const kubeSpec = selection.tests.some((t) => t.kube) ? await kubeSpecOf(options) : undefined
  const outputDir = await prepareOutputDir({outputDir: options.outputDir, platform: options.platform, cwd: options.cwd})
  const reports = {
    tap: join(outputDir, 'test.tap'),
    json: join(outputDir, 'reports', 'report.json'),
    junit: join(outputDir, 'reports', 'junit.xml'),
    html: join(outputDir, 'reports', 'report.html'),
  }
  const tap = new TapWriter(reports.tap, chosen.length)
  options.logger.notice(`${selection.tests.length * (options.multiply ?? 1)} test(s) on ${options.platform}, output in ${outputDir}`)
  const notApplicable = new Map(selection.skipped.map((s) => [s.test.name, s.reason]))
  const deny = withoutCopyNumber((name) => notApplicable.get(name) ?? denier(options.denylist ?? [], new Date())(name))
  const kept = new KeptMachines()

  // Pre-flight checks (image, QEMU) up front when some test boots machines, else on the first machine a test boots itself.
  const bootsMachines = selection.tests.some((t) => !t.kube && (t.clusterSize ?? 1) > 0)
  const flight = bootsMachines ? await options.createFlight() : onDemand(options.platform, options.createFlight)
  const clusters = new KubeClusters()
  let records: TestRecord[] = []
  let keptMachines: RunResult['kept'] = []
  let interrupted = false
  const started = performance.now()
  try {
    const suite = async (tests: KolaTest[], dir: string, onResult: (r: TestRecord) => void): Promise<TestRecord[]> => {
      const result = await runSuite({
        tests: [
          ...(options.kube && kubeSpec
            ? kubeSuiteTests(
                tests.filter((t) => t.kube),
                deny,
                {
                  spec: kubeSpec,
                  env: options.kube.env,
                  clusters,
                  outputDir: dir,
                  defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS,
                  extendTimeoutPercent: options.extendTimeoutPercent,
                  logger: options.logger,
                },
              )
            : // Every cluster test chosen is denied or inapplicable: the harness records each as skipped.
              tests.filter((t) => t.kube).map((t) => ({name: t.name, run: async () => undefined}))),
          ...suiteTestsFor(
            planFor(
              tests.filter((t) => !t.kube),
              deny,
            ),
            {
              flight,
              outputDir: dir,
              defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS,
              extendTimeoutPercent: options.extendTimeoutPercent,
              parallelByMachines: options.parallelByMachines,
              defaultMemoryMiB: options.machineMemoryMiB,
              keep: options.keepFailed,
              kept,
              logger: options.logger,
              watchIntervalMs: options.watchIntervalMs,
            },
          ),
        ],
        parallel: options.parallel,
        outputDir: dir,
        signal: options.signal,
        logger: options.logger,
        denied: deny,
        onResult: (r) => {
          onResult(r)
          options.onResult?.(r)
        },
        graceMs: options.graceMs,
      })
      interrupted ||= result.interrupted
      return withNotRun(result.records, tests)
    }
    const warnOnly = warnOnlyTests(chosen, options.denylist ?? [], new Date())
    records = await suite(chosen, outputDir, (r) => {
      if (r.result === 'FAIL' && warnOnly(r.name)) r.warn = true
      tap.add(r)
    })
    const failed = records.filter((r) => !r.subtest && r.result === 'FAIL')
    if (options.rerun && failed.length > 0 && !options.signal.aborted) {
      options.logger.notice(`rerunning ${failed.length} failed test(s)`)
      const rerunDir = join(outputDir, 'rerun')
      await mkdir(rerunDir, {recursive: true})
      const again = await suite(
        chosen.filter((t) => failed.some((f) => f.name === t.name)),
        rerunDir,
        (r) => {
          if (r.result === 'FAIL' && warnOnly(r.name)) r.warn = true
        },
      )
      records = mergeRerun(records, again)
      // The streamed test.tap holds first attempts; rewrite it with the outcome.
      const top = records.filter((r) => !r.subtest)
      await writeFile(reports.tap, `1..${chosen.length}\n${top.map(tapLines).join('')}`)
    }
    if (kept.size > 0) keptMachines = await handleKept(kept, options)
  } finally {
    try {
      await clusters.downAll()
    } finally {
      await flight.destroy()
    }
  }
  const top = records.filter((r) => !r.subtest)
  // A run whose only failures are warn-only tests passed, with warnings.
  const result = overallResult(top.map((r) => (r.warn ? {...r, result: 'PASS' as const} : r)))
  await writeReports(reports, {platform: options.platform, version: options.version, result, records})
  await writeHtmlReport(reports.html, outputDir, {
    platform: options.platform,
    version: options.version,
    result,
    records,
    durationMs: performance.now() - started,
  })
  // TAP's own word for a run that stopped before its end, after the tests it cut short.
  if (top.some((r) => r.result === 'INTERRUPTED')) await appendFile(reports.tap, bailOut(records))
  return {
    result,
    outputDir,
    reports,
    tests: records.map((r) => ({
      name: r.name,
      result: r.result,
      durationMs: r.durationMs,
      failure: r.failure,
      reason: r.skipReason,
      flake: r.flake,
      warn: r.warn,
    })),
    passed: top.filter((r) => r.result === 'PASS').length,
    failed: top.filter((r) => r.result === 'FAIL' && !r.warn).length,
    warnings: top.filter((r) => r.result === 'FAIL' && r.warn).length,
    kept: keptMachines,
    skipped: top.filter((r) => r.result === 'SKIP').length,
    interruptedTests: top.filter((r) => r.result === 'INTERRUPTED').length,
    flakes: top.filter((r) => r.flake).length,
    infraFailures: top.filter((r) => r.failure === 'infra' && !r.warn).length,
    interrupted: interrupted || options.signal.aborted,
    durationMs: Math.round(performance.now() - started),
    kubeClusters: clusters.started,
  }
}

async function kubeSpecOf(options: RunOptions): Promise<DeployerSpec> {
  if (!options.kube) throw new BugError('cluster tests selected but the run has no kube settings')
  return options.kube.spec()
}

/** `--multiply N`: N copies of each test, `<name>~1` ... `<name>~N`. */
function multiply(tests: KolaTest[], n: number): KolaTest[] {
  if (n <= 1) return tests
  return tests.flatMap((t) => Array.from({length: n}, (_, i) => ({...t, name: `${t.name}~${i + 1}`})))
}

/** Denylist globs name tests, not their copies: `coreos.basic~2/ssh` is checked as `coreos.basic/ssh`. */
function withoutCopyNumber(deny: (name: string) => string | undefined): (name: string) => string | undefined {
  return (name) => deny(name.replace(/~\d+(?=\/|$)/, ''))
}

/** A rerun's outcome replaces the first attempt's; a pass on rerun is a flake. */
function mergeRerun(first: TestRecord[], again: TestRecord[]): TestRecord[] {
  const rerun = new Set(again.filter((r) => !r.subtest).map((r) => r.name))
  const inRerun = (name: string): boolean => rerun.has(name.split('/')[0] as string)
  const firstTop = new Map(first.filter((r) => !r.subtest).map((r) => [r.name, r]))
  const merged = first.filter((r) => !inRerun(r.name))
  for (const r of again) {
    if (r.subtest) {
      merged.push(r)
      continue
    }
    const before = firstTop.get(r.name)
    const note = `first attempt failed: ${before?.message ?? 'see the first attempt output'}`
    merged.push(r.result === 'PASS' ? {...r, flake: true, output: r.output ? `${note}\n${r.output}` : note} : r)
  }
  return merged
}

/**
 * The flight of a run whose tests boot no machine up front (clusterSize 0, or
 * cluster tests): the platform's own flight, with its pre-flight checks
 * (image, QEMU), is made only when a test boots a machine itself
 * (`c.cluster.newMachine`), so a run of tests that boot none needs no image,
 * and one that boots its own (ignition.remote.bad-hash) runs alone too.
 */
function onDemand(platform: string, create: () => Promise<Flight>): Flight {
  let creating: Promise<Flight> | undefined
  let made: Flight | undefined
  const flight = async (): Promise<Flight> => (made ??= await (creating ??= create()))
  return {
    platform,
    get identity() {
      return made?.identity ?? {user: 'core', privateKey: '', publicKey: ''}
    },
    newCluster: async (o) => {
      let starting: Promise<Cluster> | undefined
      let cluster: Cluster | undefined
      return {
        name: o.name,
        outputDir: o.outputDir,
        newMachine: async (m) => {
          cluster ??= await (starting ??= flight().then((f) => f.newCluster(o)))
          return cluster.newMachine(m)
        },
        machines: () => cluster?.machines() ?? [],
        destroy: async () => (await starting?.catch(() => undefined))?.destroy(),
        consoleOutput: async () => (cluster ? cluster.consoleOutput() : {}),
        journalOutput: async () => (cluster ? cluster.journalOutput() : {}),
      }
    },
    destroy: async () => (await creating?.catch(() => undefined))?.destroy(),
  }
}
