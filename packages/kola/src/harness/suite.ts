import type {Logger} from '@mantle/kit'

import {formatSeconds, H, type SuiteState, type TestRecord, type TestResult} from './h.js'
import {Limiter} from './limiter.js'

export interface SuiteTest {
  name: string
  run(h: H): Promise<void>
  /** 0 or absent: no limit. */
  timeoutMs?: number | undefined
  /** Slots of the parallel cap it takes (its machine count when parallelism is by machines). Default 1. */
  weight?: number | undefined
  /** It only hosts other tests (`h.runTest`): no record of its own. */
  hidden?: boolean | undefined
}

export interface SuiteOptions {
  tests: readonly SuiteTest[]
  /** At most this many tests (and parallel subtests) at once. */
  parallel: number
  /** An existing directory: tests' output directories go inside. */
  outputDir: string
  /** Aborting it stops the run: running tests are stopped, waiting ones are not started. */
  signal: AbortSignal
  logger: Logger
  /** The reason a test or subtest must not run; it is then reported as skipped. */
  denied?: (name: string) => string | undefined
  /** Called as each test of the suite (not subtest) ends, in order of ending. */
  onResult?: (record: TestRecord) => void
  /** How long a stopped test gets to tear down. Default 60 s. */
  graceMs?: number
}

export interface SuiteResult {
  /** Tests and subtests, in order of ending. */
  records: TestRecord[]
  result: TestResult
  interrupted: boolean
  durationMs: number
}

/** Runs tests concurrently up to the cap, each with its timeout; records every test and subtest. */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const started = performance.now()
  const records: TestRecord[] = []
  const state: SuiteState = {
    limiter: new Limiter(options.parallel),
    outputDir: options.outputDir,
    logger: options.logger,
    denied: options.denied ?? (() => undefined),
    graceMs: options.graceMs ?? 60_000,
    record(record) {
      records.push(record)
      if (record.subtest) return
      report(options.logger, record)
      options.onResult?.(record)
    },
  }
  const handles = options.tests.map((test) => {
    const h = new H(state, test.name)
    h.hidden = test.hidden ?? false
    return h
  })
  const stop = (): void => {
    for (const h of handles) h.abort(options.signal.reason instanceof Error ? options.signal.reason : new Error('run interrupted'))
  }
  if (options.signal.aborted) stop()
  else options.signal.addEventListener('abort', stop, {once: true})
  try {
    await Promise.all(
      options.tests.map(async (test, i) => {
        const h = handles[i] as H
        if (options.signal.aborted) return h.recordNotRun('not run: the run was interrupted')
        await h.runTopLevel((hh) => test.run(hh), test.timeoutMs, test.weight)
      }),
    )
  } finally {
    options.signal.removeEventListener('abort', stop)
  }
  const result = overallResult(records.filter((r) => !r.subtest))
  return {records, result, interrupted: options.signal.aborted, durationMs: Math.round(performance.now() - started)}
}

/** A run's result: FAIL when a test failed, else INTERRUPTED when one was cut short, SKIP when all were skipped, else PASS. */
export function overallResult(top: readonly TestRecord[]): TestResult {
  if (top.some((r) => r.result === 'FAIL')) return 'FAIL'
  if (top.some((r) => r.result === 'INTERRUPTED')) return 'INTERRUPTED'
  return top.every((r) => r.result === 'SKIP') ? 'SKIP' : 'PASS'
}

function report(logger: Logger, record: TestRecord): void {
  const line = `--- ${record.result}: ${record.name} (${formatSeconds(record.durationMs)})`
  if (record.result === 'FAIL') {
    logger.notice(line)
    for (const l of record.output.split('\n').slice(-20)) if (l) logger.notice(`    ${l}`)
  } else if (record.result === 'SKIP') logger.notice(`${line}${record.skipReason ? `: ${record.skipReason}` : ''}`)
  else if (record.result === 'INTERRUPTED') logger.notice(`${line}: ${record.message ?? 'the run was interrupted'}`)
  else logger.notice(line)
}
