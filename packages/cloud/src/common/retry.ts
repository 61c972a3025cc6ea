import {isMantleError, isTransient, retry, type Logger, type RetryOptions} from '@mantle/kit'

/** Backoff knobs a caller may tune (tests shorten the delays). */
export type RetryTuning = Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs' | 'random'>

/** What every cloud call needs from its caller: a logger, the abort signal, retry tuning. */
export interface CallContext {
  logger: Logger
  signal?: AbortSignal | undefined
  retry?: RetryTuning | undefined
}

// Throttling and server-side faults as the cloud SDKs name them, beyond what kit's isTransient knows.
const RETRYABLE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
])

/** Throttling, 5xx and network faults: safe to try again for an idempotent call. */
export function isRetryable(error: unknown): boolean {
  // Our own errors are final, unless the thrower marked them retryable (a 429 or 5xx answer).
  if (isMantleError(error)) return (error as {retryable?: unknown}).retryable === true
  if (isTransient(error)) return true
  const e = error as {name?: string; Code?: string; code?: string | number; $retryable?: unknown; errors?: {reason?: string}[]}
  if (!e || typeof e !== 'object') return false
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true
  if (typeof e.code === 'string' && RETRYABLE_NAMES.has(e.code)) return true
  if (e.$retryable) return true
  // Google's quota errors arrive as 403 with a reason.
  return (e.errors ?? []).some((x) => x.reason === 'rateLimitExceeded' || x.reason === 'userRateLimitExceeded')
}

/** Runs an idempotent cloud call with kit's backoff, logging each retry. */
export function withRetry<T>(what: string, operation: () => Promise<T>, ctx: CallContext): Promise<T> {
  return retry(operation, {
    ...ctx.retry,
    signal: ctx.signal,
    retryable: isRetryable,
    onRetry: (error, attempt, delay) => ctx.logger.info(`${what}: ${errorMessage(error)}; attempt ${attempt + 1} in ${delay} ms`),
  })
}

/** The first line of whatever was thrown. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]?.trim() || (error as {name?: string})?.name || 'unknown error'
}
