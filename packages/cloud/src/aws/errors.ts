import {InfraError, isMantleError, UsageError} from '@mantle/kit'

import {errorMessage} from '../common/retry.js'

// Error codes by which AWS says the credentials themselves are bad: the user must fix them.
const CREDENTIAL_CODES = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidToken',
  'CredentialsProviderError',
])
const PERMISSION_CODES = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Forbidden'])

/** The AWS error code of an error, also when it is wrapped in one of ours. */
export function awsCode(error: unknown): string | undefined {
  let e = error as {name?: string; Code?: string; cause?: unknown} | undefined
  for (let depth = 0; e && depth < 4; depth++) {
    if (!isMantleError(e)) return e.Code ?? e.name
    e = e.cause as typeof e
  }
  return undefined
}

/** AWS refused the call for want of a permission (the credentials themselves are good). */
export function isPermissionDenied(error: unknown): boolean {
  return PERMISSION_CODES.has(awsCode(error) ?? '')
}

/** Turns an SDK error into one of ours: bad credentials and permissions exit 2, the rest exit 3. */
export function awsError(what: string, error: unknown): Error {
  if (isMantleError(error)) return error
  const code = awsCode(error) ?? 'Error'
  const message = errorMessage(error)
  if (CREDENTIAL_CODES.has(code)) {
    return new UsageError(`${what}: AWS rejected the credentials (${code}: ${message})`, {
      cause: error,
      hint: 'check --profile, --credentials-file or --access-id/--secret-key; `ore credentials aws` shows which ones are used',
    })
  }
  if (PERMISSION_CODES.has(code)) {
    return new UsageError(`${what}: not allowed (${code}: ${message})`, {
      cause: error,
      hint: 'the credentials lack an IAM permission for this call',
    })
  }
  if ((error as {code?: string}).code === 'ENOTFOUND') {
    return new InfraError(`${what}: cannot resolve the AWS endpoint (${message})`, {cause: error, hint: 'check --region and the network'})
  }
  return new InfraError(`${what}: ${code === message ? code : `${code}: ${message}`}`, {cause: error})
}
