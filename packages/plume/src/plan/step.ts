import {BugError, type Logger, type Progress} from '@mantle/kit'

/**
 * One idempotent unit of a release. `check` looks at the world and says what
 * is still to do (nothing: the step is done); `run` does it and must be safe
 * to repeat after a crash at any point, because a killed run is completed by
 * running again.
 */
export interface Step {
  /** Stable and unique within a plan, e.g. "aws/AWS/us-west-2/publish"; kill points and logs use it. */
  id: string
  /** Where it happens, for the progress view: "aws AWS us-west-2", "storage s3://rel/". */
  where: string
  /** Reads only. Each string is one action still needed; an empty list means done. */
  check(ctx: StepContext): Promise<string[]>
  /** Does the actions that check reported. */
  run(ctx: StepContext): Promise<void>
}

export interface StepContext {
  signal: AbortSignal
  logger: Logger
  /** Bytes moved by the step (uploads, downloads), for the progress view. */
  advance(bytes: number): void
}

/** A planned or performed action of a step. */
export interface StepOutcome {
  id: string
  where: string
  /** What was (or, with dryRun, would be) done; empty when the step was already done. */
  actions: string[]
}

export interface RunOptions {
  /** Check every step and report what is left, write nothing. */
  dryRun: boolean
  signal: AbortSignal
  logger: Logger
  /** The terminal progress view; it draws nothing when stderr is not a terminal. */
  progress?: Progress | undefined
  /**
   * Called at every step boundary: `before:<id>` and `after:<id>`, and
   * `before:end` after the last step. The kill-anywhere test stops the
   * process here; nothing else should need it.
   */
  onBoundary?: ((point: string) => void | Promise<void>) | undefined
}

export interface RunReport {
  /** Steps that had something to do (with dryRun: would have). */
  performed: StepOutcome[]
  /** Ids of steps that were already done. */
  skipped: string[]
}

/**
 * Runs steps in order: for each, check, and run only when there is something
 * to do. With dryRun every step is checked against the current state and its
 * pending actions are reported; a step whose prerequisites are not done yet
 * reports its whole work, since its checks look things up by name.
 */
export async function runSteps(steps: readonly Step[], options: RunOptions): Promise<RunReport> {
  assertUniqueIds(steps)
  const report: RunReport = {performed: [], skipped: []}
  const total = steps.length
  for (const [index, step] of steps.entries()) {
    options.signal.throwIfAborted()
    await options.onBoundary?.(`before:${step.id}`)
    options.progress?.setStep(`${index + 1}/${total} ${step.where}: ${lastPart(step.id)}`)
    const ctx: StepContext = {signal: options.signal, logger: options.logger, advance: (bytes) => options.progress?.advance(bytes)}
    const actions = await step.check(ctx)
    if (actions.length === 0) {
      options.logger.debug(`${step.id}: already done`)
      report.skipped.push(step.id)
    } else {
      if (!options.dryRun) {
        for (const action of actions) options.logger.info(`${step.id}: ${action}`)
        await step.run(ctx)
      }
      report.performed.push({id: step.id, where: step.where, actions})
    }
    await options.onBoundary?.(`after:${step.id}`)
  }
  await options.onBoundary?.('before:end')
  options.progress?.finish()
  return report
}

/** Every boundary of a list of steps, in the order a run passes them. */
export function boundariesOf(steps: readonly Step[]): string[] {
  return [...steps.flatMap((s) => [`before:${s.id}`, `after:${s.id}`]), 'before:end']
}

function lastPart(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1)
}

function assertUniqueIds(steps: readonly Step[]): void {
  const seen = new Set<string>()
  for (const s of steps) {
    if (seen.has(s.id)) throw new BugError(`two steps share the id ${s.id}`)
    seen.add(s.id)
  }
}
