import {InfraError, isMantleError, UsageError} from '@mantle/kit'

import {errorMessage} from '../common/retry.js'

/** Turns an Azure SDK error (RestError) into one of ours: auth and missing containers exit 2, the rest 3. */
export function azureError(what: string, error: unknown): Error {
  if (isMantleError(error)) return error
  const e = error as {statusCode?: number; code?: string; details?: {errorCode?: string}; name?: string}
  // @azure/identity: Azure AD refused the principal (invalid_client, unauthorized_client, ...), or found none.
  // (MSAL's ServerError, an answer of Azure AD, arrives wrapped in an AuthenticationRequiredError.)
  const cause = (error as {cause?: {name?: string; errorCode?: string; errorMessage?: string}}).cause
  if (
    e.name === 'AuthenticationError' ||
    e.name === 'CredentialUnavailableError' ||
    (e.name === 'AuthenticationRequiredError' && cause?.name === 'ServerError')
  ) {
    const response = (error as {errorResponse?: {error?: string; errorDescription?: string}}).errorResponse
    const code = response?.error ?? cause?.errorCode
    const aadsts = /AADSTS\d+:[^.]*\./.exec(response?.errorDescription ?? cause?.errorMessage ?? errorMessage(error))?.[0]
    const reason = code ? `${code}${aadsts ? `: ${aadsts}` : ''}` : errorMessage(error)
    return new UsageError(`${what}: Azure refused the credentials (${reason})`, {
      cause: error,
      hint: 'check the service principal (--azure-auth, AZURE_CREDENTIALS, ~/.azure/azureCreds.json, the AZURE_* variables)',
    })
  }
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
