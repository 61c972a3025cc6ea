import {resolveStorageOptions, type StorageCredentialSources} from '@mantle/auth'
import type {Logger, StorageOptions} from '@mantle/kit'

export type StorageCredentials = Omit<StorageCredentialSources, 'explicitGceKey'>

/**
 * Storage options for the URLs a channel uses (its source and destinations),
 * through auth's one implementation: credentials are resolved only for the
 * schemes that appear. Endpoints of S3-compatible stores and emulators come
 * from the variables the SDKs know: AWS_ENDPOINT_URL_S3, STORAGE_EMULATOR_HOST,
 * AZURE_STORAGE_CONNECTION_STRING.
 */
export function storageOptionsFor(urls: readonly string[], credentials: StorageCredentials, env: NodeJS.ProcessEnv, logger: Logger, cwd: string): Promise<StorageOptions> {
  return resolveStorageOptions(urls, credentials, {}, {env, logger, cwd})
}
