import {ExitCode, MantleError, type ErrorOptions} from '../errors.js'

/**
 * What went wrong with a storage call, independent of the backend. Callers
 * branch on `code` (through `isStorageError`), never on SDK error shapes.
 *
 * | code | exit | meaning |
 * |---|---|---|
 * | invalid-url | 2 | the URL cannot be parsed or names an unknown scheme |
 * | bucket-not-found | 2 | the bucket, container or directory does not exist |
 * | not-found | 2 | the object does not exist |
 * | access-denied | 2 | credentials missing, wrong, or not allowed to do this |
 * | read-only | 2 | a write to a read-only backend (https mirrors) |
 * | unsupported | 2 | the backend cannot do this (e.g. list an https mirror) |
 * | precondition-failed | 3 | create-only or generation/ETag precondition refused: a concurrent writer |
 * | range-not-satisfiable | 3 | a read starting at or after the end of the object (HTTP 416); `size` is set when known |
 * | corrupt | 3 | the bytes stored or received do not match their checksum or length |
 * | unavailable | 3 | the service failed or could not be reached |
 */
export type StorageErrorCode =
  | 'invalid-url'
  | 'bucket-not-found'
  | 'not-found'
  | 'access-denied'
  | 'read-only'
  | 'unsupported'
  | 'precondition-failed'
  | 'range-not-satisfiable'
  | 'corrupt'
  | 'unavailable'

const USAGE_CODES: ReadonlySet<StorageErrorCode> = new Set([
  'invalid-url',
  'bucket-not-found',
  'not-found',
  'access-denied',
  'read-only',
  'unsupported',
])

const STORAGE_BRAND = Symbol.for('mantle.storage-error')

export interface StorageErrorOptions extends ErrorOptions {
  /** The object's URL, for messages and callers. */
  url?: string | undefined
  /** The object's total size, when the backend told (set for range-not-satisfiable). */
  size?: number | undefined
}

export class StorageError extends MantleError {
  readonly exitCode: ExitCode
  readonly code: StorageErrorCode
  readonly url: string | undefined
  readonly size: number | undefined
  readonly [STORAGE_BRAND] = true

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options)
    this.code = code
    this.url = options.url
    this.size = options.size
    this.exitCode = USAGE_CODES.has(code) ? ExitCode.Usage : ExitCode.Infra
  }
}

/** True for a StorageError (of the given code, if any); survives duplicate package copies. */
export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[STORAGE_BRAND] !== true) return false
  return code === undefined || (error as StorageError).code === code
}

/** The StorageError for an HTTP status, for backends that see raw statuses. */
export function storageErrorFromStatus(
  status: number,
  url: string,
  options: StorageErrorOptions & {detail?: string | undefined} = {},
): StorageError {
  const detail = options.detail ? `: ${options.detail}` : ''
  const opts = {...options, url}
  switch (status) {
    case 401:
    case 403:
      return new StorageError('access-denied', `${url}: access denied (HTTP ${status})${detail}`, {
        hint: 'check the credentials and their permissions',
        ...opts,
      })
    case 404:
      return new StorageError('not-found', `${url}: not found (HTTP 404)${detail}`, opts)
    case 409:
    case 412:
      return new StorageError('precondition-failed', `${url}: changed by someone else (HTTP ${status})${detail}`, opts)
    case 416:
      return new StorageError('range-not-satisfiable', `${url}: requested range not satisfiable (HTTP 416)${detail}`, opts)
    default:
      return new StorageError('unavailable', `${url}: HTTP ${status}${detail}`, opts)
  }
}
