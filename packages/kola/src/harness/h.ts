import {mkdirSync, writeFileSync} from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import {join} from 'node:path'
import {format} from 'node:util'

import {ExitCode, isMantleError, type Logger} from '@mantle/kit'

import type {Limiter} from './limiter.js'

/** INTERRUPTED: cut short by the user stopping the run (SIGINT/SIGTERM), neither passed nor failed. */
export type TestResult = 'PASS' | 'FAIL' | 'SKIP' | 'INTERRUPTED'

/** Why a test failed: its own checks, its machines (exit 3), its timeout, or the user stopping the run. */
export type FailureKind = 'test' | 'infra' | 'timeout' | 'interrupted'

export interface TestRecord {
  name: string
  result: TestResult
  durationMs: number
  /** Everything the test logged, one line each. */
  output: string
  failure?: FailureKind | undefined
  /** The first error the test reported: what a one-line summary shows. */
  message?: string | undefined
  skipReason?: string | undefined
  /** Failed first, passed when run again. */
  flake?: boolean | undefined
  /** A subtest (`parent/sub`) rather than a test of the suite. */
  subtest: boolean
  /** A warn-only test (denylist `warn: true`, or created less than 30 days ago) that failed: a warning, not a failure of the run. */
  warn?: boolean | undefined
}

/** What every test of one run shares. */
export interface SuiteState {
  limiter: Limiter
  outputDir: string
  logger: Logger
  /** The reason a (sub)test is denied, if it is. */
  denied(name: string): string | undefined
  record(record: TestRecord): void
  /** How long a timed-out or interrupted test gets to tear down its machines. */
  graceMs: number
}

class FatalSignal extends Error {}
class SkipSignal extends Error {}

export class TestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`test timed out after ${formatSeconds(timeoutMs)}`)
  }
}

/**
 * The handle a test gets, after Go's `testing.T`: log, fail, skip, subtests.
 * `fatal` and `skip` end the test function by throwing; the harness catches
 * what they throw, so tests never see it.
 */
export class H {
  readonly name: string
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly lines: string[] = []
  private failed_ = false
  private failure: FailureKind | undefined
  private firstError: string | undefined
  private skipReason: string | undefined
  private readonly parallelChildren: Array<Promise<void>> = []
  private onParallel: (() => void) | undefined
  /** Units of the suite's limiter this test holds (0: none). */
  private held = 0
  private isParallel = false
  /** Set when the run was stopped while this test ran and it had not failed by then: it ends INTERRUPTED. */
  private cutShort: string | undefined
  private readonly started = performance.now()

  constructor(
    private readonly suite: SuiteState,
    name: string,
    private readonly parent?: H,
  ) {
    this.name = name
    this.signal = parent ? AbortSignal.any([parent.signal, this.controller.signal]) : this.controller.signal
  }

  get failed(): boolean {
    return this.failed_
  }

  get skipped(): boolean {
    return this.skipReason !== undefined
  }

  log(...args: unknown[]): void {
    const text = format(...args)
    for (const line of text.split('\n')) this.lines.push(line)
    this.suite.logger.debug(`${this.name}: ${text}`)
  }

  /** Marks the test failed and carries on. */
  fail(kind: FailureKind = 'test'): void {
    this.failed_ = true
    this.failure ??= kind
  }

  /** Logs, then marks the test failed and carries on. */
  error(...args: unknown[]): void {
    this.log(...args)
    this.firstError ??= format(...args)
    this.fail()
  }

  /** Logs, marks the test failed and ends it. */
  fatal(...args: unknown[]): never {
    this.error(...args)
    throw new FatalSignal()
  }

  /** Logs and ends the test as skipped. */
  skip(...args: unknown[]): never {
    this.skipReason = args.length > 0 ? format(...args) : 'skipped'
    this.log(this.skipReason)
    throw new SkipSignal()
  }

  /** `<suite output>/<test name>`, created on first use. */
  outputDir(): string {
    const dir = join(this.suite.outputDir, this.name)
    mkdirSync(dir, {recursive: true})
    return dir
  }

  /** A fresh directory inside the test's output directory. */
  async tempDir(prefix = 'tmp-'): Promise<string> {
    return mkdtemp(join(this.outputDir(), prefix))
  }

  /**
   * Runs `fn` as the subtest `<this>/<name>`. Resolves when it ends, or as soon
   * as it calls `parallel()`; then this test waits for it before it ends.
   * Resolves to false when the subtest failed.
   */
  async run(name: string, fn: (h: H) => Promise<void>): Promise<boolean> {
    const child = new H(this.suite, `${this.name}/${name}`, this)
    const denied = this.suite.denied(child.name)
    if (denied !== undefined) {
      child.skipReason = denied
      child.finish()
      return true
    }
    const wentParallel = new Promise<'parallel'>((resolve) => (child.onParallel = () => resolve('parallel')))
    const done = child.execute(fn)
    if ((await Promise.race([done.then(() => 'done' as const), wentParallel])) === 'parallel') {
      this.parallelChildren.push(done)
      return true
    }
    return !child.failed
  }

  /**
   * Lets a subtest run alongside its siblings: the caller's `run` returns at
   * once, and this waits for a slot of the suite's parallel cap. The tests of
   * a suite are already parallel; for them this does nothing.
   */
  async parallel(): Promise<void> {
    if (!this.parent || this.isParallel) return
    this.isParallel = true
    this.onParallel?.()
    this.held = await this.suite.limiter.acquire()
  }

  /** A test of the suite: waits for `weight` slots (its machines, say), runs, records. */
  async runTopLevel(fn: (h: H) => Promise<void>, timeoutMs?: number, weight = 1): Promise<void> {
    const denied = this.suite.denied(this.name)
    if (denied !== undefined) {
      this.skipReason = denied
      this.finish()
      return
    }
    this.held = await this.suite.limiter.acquire(weight)
    if (this.signal.aborted) {
      this.releaseSlot()
      this.recordNotRun('not run: the run was interrupted')
      return
    }
    await this.execute(fn, timeoutMs)
  }

  /**
   * Runs `fn` as a test of the suite in its own right (its own record, not a
   * subtest) inside this test's slot of the parallel cap: the tests sharing
   * one machine, one after another. Stopping this test stops it too.
   */
  async runTest(
    name: string,
    fn: (h: H) => Promise<void>,
    timeoutMs?: number,
  ): Promise<{failed: boolean; failure?: FailureKind | undefined}> {
    const test = new H(this.suite, name)
    const denied = this.suite.denied(name)
    if (denied !== undefined) {
      test.skipReason = denied
      test.finish()
      return {failed: false}
    }
    const stop = (): void => test.abort(this.signal.reason instanceof Error ? this.signal.reason : new Error('stopped'))
    if (this.signal.aborted) stop()
    else this.signal.addEventListener('abort', stop, {once: true})
    try {
      await test.execute(fn, timeoutMs)
    } finally {
      this.signal.removeEventListener('abort', stop)
    }
    return {failed: test.failed, failure: test.failure}
  }

  /** Records a test of the suite that never ran, failed for a reason outside it (its shared machine never came up). */
  recordFailedTest(name: string, error: unknown, kind: FailureKind = 'infra'): void {
    const test = new H(this.suite, name)
    test.absorb(error)
    test.failure = kind
    test.finish()
  }

  /** Aborts the test's signal: its machines go away, its function is not waited for beyond the grace time. */
  abort(reason: Error): void {
    // What the test reports after the stop (its machines going away under it) is not a failure of its own.
    if (isInterruption(reason) && !this.failed_ && !this.signal.aborted) this.cutShort = reason.message
    this.controller.abort(reason)
  }

  /** A test that never started because the run was stopped. */
  recordNotRun(reason: string): void {
    this.cutShort = undefined
    this.skipReason = reason
    this.finish()
  }

  private async execute(fn: (h: H) => Promise<void>, timeoutMs?: number): Promise<void> {
    const timer = timeoutMs && timeoutMs > 0 ? setTimeout(() => this.abort(new TestTimeoutError(timeoutMs)), timeoutMs) : undefined
    try {
      if (this.signal.aborted) throw this.signal.reason
      await this.untilAborted(fn(this))
    } catch (error) {
      this.absorb(error)
    } finally {
      clearTimeout(timer)
    }
    if (this.parallelChildren.length > 0) {
      // Waiting for subtests does not count against the cap (as in Go).
      this.releaseSlot()
      await Promise.all(this.parallelChildren)
    }
    this.releaseSlot()
    this.finish()
  }

  /** Waits for the test function; once aborted, waits only the grace time for it to clean up. */
  private async untilAborted(work: Promise<void>): Promise<void> {
    const settled = work.then(
      () => ({ok: true as const}),
      (error: unknown) => ({ok: false as const, error}),
    )
    const aborted = new Promise<'aborted'>((resolve) => {
      if (this.signal.aborted) resolve('aborted')
      else this.signal.addEventListener('abort', () => resolve('aborted'), {once: true})
    })
    const first = await Promise.race([settled, aborted])
    if (first === 'aborted') {
      const grace = new Promise<'grace'>((resolve) => setTimeout(() => resolve('grace'), this.suite.graceMs).unref())
      const late = await Promise.race([settled, grace])
      if (late === 'grace') this.log(`test function still running ${formatSeconds(this.suite.graceMs)} after it was stopped; abandoned`)
      throw this.signal.reason
    }
    if (!first.ok) throw first.error
  }

  private absorb(error: unknown): void {
    if (error instanceof SkipSignal) return
    if (error instanceof FatalSignal) return
    if (error instanceof TestTimeoutError) {
      this.error(error.message)
      this.failure = 'timeout'
      return
    }
    const message = error instanceof Error ? error.message : String(error)
    const hint = isMantleError(error) && error.hint ? ` (${error.hint})` : ''
    const failedBefore = this.failure
    this.error(`${message}${hint}`)
    // A test that had failed before the run was stopped keeps the kind of its failure.
    if (isInterruption(error)) this.failure = failedBefore ?? 'interrupted'
    else if (isMantleError(error) && error.exitCode === ExitCode.Infra) this.failure = 'infra'
    else if (!isMantleError(error) && error instanceof Error && error.stack) this.lines.push(...error.stack.split('\n').slice(1))
  }

  private releaseSlot(): void {
    if (this.held === 0) return
    this.suite.limiter.release(this.held)
    this.held = 0
  }

  /** A test that only hosts others (a shared machine's tests): it leaves no record of its own. */
  hidden = false

  private finish(): void {
    if (this.hidden) return
    if (this.failed_ && this.parent) this.parent.childFailed(this)
    const cutShort = this.interruptedBy()
    const interrupted = cutShort !== undefined
    const result: TestResult = interrupted ? 'INTERRUPTED' : this.failed_ ? 'FAIL' : this.skipReason !== undefined ? 'SKIP' : 'PASS'
    const record: TestRecord = {
      name: this.name,
      result,
      durationMs: Math.round(performance.now() - this.started),
      output: this.lines.join('\n'),
      failure: interrupted ? 'interrupted' : this.failed_ ? (this.failure ?? 'test') : undefined,
      message: interrupted ? cutShort : this.failed_ ? this.firstError : undefined,
      skipReason: result === 'SKIP' ? this.skipReason : undefined,
      subtest: this.parent !== undefined,
    }
    if (record.output) {
      try {
        writeFileSync(join(this.outputDir(), 'output.txt'), record.output + '\n')
      } catch {
        // Best effort: the output is in the reports too.
      }
    }
    this.suite.record(record)
  }

  /** Why the run stopped this test (or the test it belongs to) while it was running and had not failed. */
  private interruptedBy(): string | undefined {
    if (this.skipReason !== undefined && !this.failed_) return undefined
    return this.cutShort ?? this.parent?.interruptedBy()
  }

  private childFailed(child: H): void {
    this.failed_ = true
    this.failure ??= child.failure ?? 'test'
    this.firstError ??= `${child.name}: ${child.firstError ?? 'failed'}`
  }
}

/** The error a stopped run aborts its tests with (kit's InterruptedError: "interrupted by SIGINT"). */
function isInterruption(error: unknown): error is Error {
  return isMantleError(error) && error.name === 'InterruptedError'
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
}
