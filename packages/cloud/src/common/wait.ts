import {setTimeout as sleep} from 'node:timers/promises'

import {InfraError} from '@mantle/kit'

export interface PollOptions {
  /** Between two checks. */
  intervalMs?: number | undefined
  /** Give up after this long (default: one hour). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
  /** For the timeout message: "image foo to become READY". */
  what: string
}

/**
 * Calls `check` until it returns a value (not undefined). `check` throws to
 * fail at once (a FAILED image, a deleted import task).
 */
export async function pollUntil<T>(check: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const interval = options.intervalMs ?? 5_000
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000)
  for (;;) {
    options.signal?.throwIfAborted()
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new InfraError(`timed out waiting for ${options.what}`)
    await sleep(interval, undefined, options.signal ? {signal: options.signal} : undefined)
  }
}
