import {InfraError, isMantleError, UsageError} from '@mantle/kit'

import {errorMessage} from '../common/retry.js'

/** Turns an Azure SDK error (RestError) into one of ours: auth and missing containers exit 2, the rest 3. */
export function azureError(what: string, error: unknown): Error {
  if (isMantleError(error)) return error
  const e = error as {statusCode?: number; code?: string; details?: {errorCode?: string}}
  const code = e.code ?? e.details?.errorCode
  const message = errorMessage(error).split(/\s+RequestId:/)[0]!
  if (
    e.statusCode === 401 ||
    e.statusCode === 403 ||
    code === 'AuthenticationFailed' ||
    code === 'AuthorizationFailed' ||
    code === 'InvalidAuthenticationToken'
  ) {
    return new UsageError(`${what}: Azure refused the credentials (${code ?? e.statusCode}: ${message})`, {
      cause: error,
      hint: 'check the account key, connection string or service principal; `ore credentials azure` shows which ones are used',
    })
  }
  if (
    code === 'ContainerNotFound' ||
    code === 'ResourceGroupNotFound' ||
    code === 'SubscriptionNotFound' ||
    code === 'LocationNotAvailableForResourceType' ||
    code === 'InvalidLocation'
  ) {
    return new UsageError(`${what}: ${code}: ${message}`, {cause: error})
  }
  return new InfraError(`${what}: ${code ? `${code}: ` : ''}${message}`, {cause: error})
}
