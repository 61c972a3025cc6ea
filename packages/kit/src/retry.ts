import {setTimeout as sleep} from 'node:timers/promises'

export interface RetryOptions {
  /** Total attempts, including the first. */
  attempts?: number
  /** Delay before the second attempt; doubles each time. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Decides whether an error is worth another attempt. Default: every error. */
  retryable?: (error: unknown) => boolean
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  signal?: AbortSignal
  /** Injected for tests. */
  random?: () => number
}

/**
 * Runs an idempotent operation with exponential backoff and full jitter.
 * Only for calls that are safe to repeat.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5
  const base = options.baseDelayMs ?? 200
  const max = options.maxDelayMs ?? 10_000
  const random = options.random ?? Math.random
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !(options.retryable?.(error) ?? true)) throw error
      const delay = Math.round(random() * Math.min(max, base * 2 ** (attempt - 1)))
      options.onRetry?.(error, attempt, delay)
      await sleep(delay, undefined, options.signal ? {signal: options.signal} : undefined)
    }
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ETIMEOUT',
])

/** Network faults, throttling and 5xx answers: the usual reasons to try again. */
export function isTransient(error: unknown): boolean {
  const e = error as {
    code?: string
    statusCode?: number
    status?: number
    $metadata?: {httpStatusCode?: number}
    name?: string
    response?: {statusCode?: number}
  }
  if (!e || typeof e !== 'object') return false
  if (e.code && RETRYABLE_CODES.has(e.code)) return true
  const status = e.statusCode ?? e.status ?? e.$metadata?.httpStatusCode ?? e.response?.statusCode
  if (status === 429 || (status !== undefined && status >= 500 && status <= 599)) return true
  if (e.name === 'ThrottlingException' || e.name === 'RequestLimitExceeded' || e.name === 'SlowDown' || e.name === 'TimeoutError')
    return true
  return false
}
