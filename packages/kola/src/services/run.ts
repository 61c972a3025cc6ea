import {join} from 'node:path'

import {type Logger, UsageError} from '@mantle/kit'

import type {TestRecord, TestResult} from '../harness/h.js'
import {prepareOutputDir} from '../harness/output-dir.js'
import {TapWriter, writeReports} from '../harness/reports.js'
import {runSuite, type SuiteTest} from '../harness/suite.js'
import type {Flight} from '../platform/platform.js'
import {type DenyRule, denier, selectTests} from '../register/select.js'
import {type KolaTest, TestCluster} from '../register/test.js'

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
  parallel: number
  outputDir?: string | undefined
  cwd: string
  /** A test's timeout unless it sets its own. */
  defaultTimeoutMs?: number
  /** kola's version, for report.json. */
  version: string
  logger: Logger
  signal: AbortSignal
  /** Time allowed for a stopped test to tear down its machines. */
  graceMs?: number
}

export interface RunTestResult {
  name: string
  result: TestResult
  durationMs: number
  failure?: string | undefined
  reason?: string | undefined
}

export interface RunResult {
  result: TestResult
  outputDir: string
  reports: {tap: string; json: string; junit: string}
  tests: RunTestResult[]
  passed: number
  failed: number
  skipped: number
  /** Tests that failed because a machine never came up (exit code 3). */
  infraFailures: number
  interrupted: boolean
  durationMs: number
}

/**
 * `kola run`: selects tests, boots a cluster for each on the platform, runs
 * them with the parallel cap, writes test.tap as they end, then
 * reports/report.json and reports/junit.xml, even when interrupted.
 */
export async function runTests(options: RunOptions): Promise<RunResult> {
  const selection = selectTests(options.tests, {patterns: options.patterns, denylist: options.denylist, platform: options.platform})
  const chosen = [...selection.tests, ...selection.denied.map((d) => d.test)]
  if (chosen.length === 0) {
    throw new UsageError(`no test matches ${options.patterns.length ? options.patterns.join(' ') : '*'} on ${options.platform}`, {hint: 'kola list shows the tests'})
  }
  const outputDir = await prepareOutputDir({outputDir: options.outputDir, platform: options.platform, cwd: options.cwd})
  const reports = {tap: join(outputDir, 'test.tap'), json: join(outputDir, 'reports', 'report.json'), junit: join(outputDir, 'reports', 'junit.xml')}
  const tap = new TapWriter(reports.tap, chosen.length)
  options.logger.notice(`${selection.tests.length} test(s) on ${options.platform}, output in ${outputDir}`)

  // Machines are only needed when something runs.
  const flight = selection.tests.length > 0 ? await options.createFlight() : undefined
  let records: TestRecord[] = []
  let interrupted = false
  const started = performance.now()
  try {
    const suite = await runSuite({
      tests: chosen.map((test) => toSuiteTest(test, flight as Flight, options)),
      parallel: options.parallel,
      outputDir,
      signal: options.signal,
      logger: options.logger,
      denied: denier(options.denylist ?? [], new Date()),
      onResult: (record) => tap.add(record),
      graceMs: options.graceMs,
    })
    records = suite.records
    interrupted = suite.interrupted
  } finally {
    await flight?.destroy()
  }
  const top = records.filter((r) => !r.subtest)
  const result: TestResult = top.some((r) => r.result === 'FAIL') ? 'FAIL' : top.every((r) => r.result === 'SKIP') ? 'SKIP' : 'PASS'
  await writeReports(reports, {platform: options.platform, version: options.version, result, records})
  return {
    result,
    outputDir,
    reports,
    tests: records.map((r) => ({name: r.name, result: r.result, durationMs: r.durationMs, failure: r.failure, reason: r.skipReason})),
    passed: top.filter((r) => r.result === 'PASS').length,
    failed: top.filter((r) => r.result === 'FAIL').length,
    skipped: top.filter((r) => r.result === 'SKIP').length,
    infraFailures: top.filter((r) => r.failure === 'infra').length,
    interrupted: interrupted || options.signal.aborted,
    durationMs: Math.round(performance.now() - started),
  }
}

/** A kola test as the harness runs it: boot the cluster, run, always tear down. */
function toSuiteTest(test: KolaTest, flight: Flight, options: RunOptions): SuiteTest {
  return {
    name: test.name,
    timeoutMs: test.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS,
    run: async (h) => {
      const cluster = await flight.newCluster({name: test.name, outputDir: h.outputDir(), flags: test.flags, signal: h.signal})
      // A timed-out or interrupted test may be stuck in a call: tearing the cluster down unblocks it.
      const onAbort = (): void => void cluster.destroy()
      h.signal.addEventListener('abort', onAbort, {once: true})
      try {
        const size = test.clusterSize ?? 1
        await Promise.all(Array.from({length: size}, () => cluster.newMachine({userData: test.userData})))
        await test.run(new TestCluster(h, cluster))
      } finally {
        h.signal.removeEventListener('abort', onAbort)
        await cluster.destroy()
      }
    },
  }
}
