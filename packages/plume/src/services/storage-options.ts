import type {AwsAuth, AzureAuth, GceAuth} from '@mantle/auth'
import {googleClientOptions} from '@mantle/auth'
import {parseStorageUrl, type Logger, type StorageOptions} from '@mantle/kit'

export interface StorageCredentials {
  aws: () => Promise<AwsAuth>
  gce: () => Promise<GceAuth>
  azure: () => Promise<AzureAuth>
}

/**
 * Storage options for the URLs a channel uses (its source and destinations):
 * credentials are resolved only for the schemes that appear. Endpoints of
 * S3-compatible stores and emulators come from the variables the SDKs know:
 * AWS_ENDPOINT_URL_S3, STORAGE_EMULATOR_HOST, AZURE_STORAGE_CONNECTION_STRING.
 */
export async function storageOptionsFor(urls: readonly string[], credentials: StorageCredentials, env: NodeJS.ProcessEnv, logger: Logger, cwd: string): Promise<StorageOptions> {
  const schemes = new Set(urls.map((u) => parseStorageUrl(u, cwd).scheme))
  const options: StorageOptions = {cwd, logger}
  if (schemes.has('s3')) {
    const auth = await credentials.aws()
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL
    options.s3 = {credentials: auth.credentials, region: auth.region ?? 'us-east-1', endpoint, ...(endpoint ? {forcePathStyle: true} : {})}
  }
  if (schemes.has('gs')) {
    const emulator = env.STORAGE_EMULATOR_HOST
    options.gcs = {clientOptions: emulator ? {projectId: 'emulator'} : googleClientOptions(await credentials.gce()), apiEndpoint: emulator}
  }
  if (schemes.has('az')) {
    const auth = await credentials.azure()
    options.azure = {...auth.storage}
  }
  return options
}
