import {Flags, parseStorageUrl, type CommandContext, type StorageOptions} from '@mantle/kit'

import type {AwsAuth} from './aws.js'
import {azureTokenCredential, type AzureAuth} from './azure.js'
import {resolveEndpoints, type StorageEndpoints} from './endpoints.js'
import {
  awsAuth,
  awsAuthInput,
  awsFlags,
  azureAuth,
  azureAuthInput,
  azureFlags,
  gceAuth,
  gceAuthInput,
  gceFlags,
  type AuthContext,
  type AwsAuthInput,
  type AzureAuthInput,
  type FlagValues,
  type GceAuthInput,
} from './flags.js'
import {googleClientOptions, type GceAuth} from './gce.js'

/**
 * The flags of a command that takes storage URLs of any scheme: every
 * provider's credential flags, plus endpoint overrides for emulators, private
 * mirrors and S3-compatible stores.
 */
export const storageFlags = {
  ...gceFlags,
  ...awsFlags,
  ...azureFlags,
  'gcs-endpoint': Flags.string({
    summary: 'Google Cloud Storage API endpoint, e.g. an emulator (default: STORAGE_EMULATOR_HOST).',
    helpGroup: 'STORAGE',
  }),
  's3-endpoint': Flags.string({
    summary:
      'S3-compatible endpoint, e.g. http://127.0.0.1:7480; uses path-style addressing (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).',
    helpGroup: 'STORAGE',
  }),
  'azure-blob-endpoint': Flags.string({
    summary: 'Azure blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1 (with an account key or SAS).',
    helpGroup: 'STORAGE',
  }),
}

export type StorageFlagValues = FlagValues<typeof storageFlags>

/** The typed input of storageOptions: each backend's credential input and the endpoint overrides; what is absent falls back to the environment. */
export interface StorageAuthInput {
  aws?: AwsAuthInput | undefined
  gce?: GceAuthInput | undefined
  azure?: AzureAuthInput | undefined
  endpoints?: StorageEndpoints | undefined
}

export function storageAuthInput(flags: StorageFlagValues): StorageAuthInput {
  return {
    aws: awsAuthInput(flags),
    gce: gceAuthInput(flags),
    azure: azureAuthInput(flags),
    endpoints: {gcs: flags['gcs-endpoint'], s3: flags['s3-endpoint'], azureBlob: flags['azure-blob-endpoint']},
  }
}

type Ctx = AuthContext & {
  /** Relative plain paths resolve against this. */
  cwd?: string | undefined
  signal?: AbortSignal | undefined
}

/** Where each backend's credentials come from, resolved only when a URL of that scheme appears. */
export interface StorageCredentialSources {
  gce: () => Promise<GceAuth>
  aws: () => Promise<AwsAuth>
  azure: () => Promise<AzureAuth>
  /** Google credentials were named explicitly, so an emulator endpoint gets them too. */
  explicitGceKey?: boolean
}

type ResolveCtx = Pick<CommandContext, 'env' | 'logger'> & Pick<Ctx, 'cwd' | 'signal'>

/**
 * Storage options for the URLs a command was given: credentials are resolved
 * (once) only for the schemes that appear, so `file://` and `https://` need
 * none, and a gs:// URL never asks for AWS keys. Bad URLs fail here, before
 * any credential is read.
 */
export function storageOptions(urls: string | readonly string[], input: StorageAuthInput, ctx: Ctx): Promise<StorageOptions> {
  const sources: StorageCredentialSources = {
    gce: () => gceAuth(input.gce ?? {}, ctx),
    aws: () => awsAuth(input.aws ?? {}, ctx),
    azure: () => azureAuth(input.azure ?? {}, ctx),
    explicitGceKey: input.gce?.jsonKey !== undefined || input.gce?.serviceAuth === true,
  }
  return resolveStorageOptions(urls, sources, input.endpoints ?? {}, ctx)
}

/** The same, for a caller with credential sources of its own (plume's per-partition credentials). */
export async function resolveStorageOptions(
  urls: string | readonly string[],
  sources: StorageCredentialSources,
  endpoints: StorageEndpoints,
  ctx: ResolveCtx,
): Promise<StorageOptions> {
  const {env, logger} = ctx
  const schemes = new Set((typeof urls === 'string' ? [urls] : urls).map((u) => parseStorageUrl(u, ctx.cwd).scheme))
  const resolved = resolveEndpoints(endpoints, env)
  const options: StorageOptions = {logger, ...(ctx.cwd ? {cwd: ctx.cwd} : {}), ...(ctx.signal ? {signal: ctx.signal} : {})}

  if (schemes.has('gs')) {
    const apiEndpoint = resolved.gcs
    // An emulator takes no credentials unless a key is given explicitly.
    if (apiEndpoint && !sources.explicitGceKey) {
      options.gcs = {apiEndpoint, clientOptions: {projectId: env.GOOGLE_CLOUD_PROJECT ?? 'emulator'}}
    } else {
      const auth = await sources.gce()
      const clientOptions = googleClientOptions(auth)
      // "--json-key none": anonymous reads of public buckets, no token requested.
      options.gcs =
        auth.kind === 'none'
          ? {
              apiEndpoint: apiEndpoint ?? 'https://storage.googleapis.com',
              clientOptions: {...clientOptions, useAuthWithCustomEndpoint: false},
            }
          : {clientOptions, ...(apiEndpoint ? {apiEndpoint} : {})}
    }
  }

  if (schemes.has('s3')) {
    const auth = await sources.aws()
    const endpoint = resolved.s3
    options.s3 = {credentials: auth.credentials, region: auth.region ?? 'us-east-1', ...(endpoint ? {endpoint, forcePathStyle: true} : {})}
  }

  if (schemes.has('az')) {
    const auth = await sources.azure()
    const endpoint = resolved.azureBlob
    if (auth.storage) {
      options.azure = {...auth.storage, ...(endpoint ? {endpoint} : {})}
    } else if (auth.principal) {
      options.azure = {tokenCredential: await azureTokenCredential(auth), ...(endpoint ? {endpoint} : {})}
    } else {
      logger.debug('azure storage: no connection string, account key or service principal; reading anonymously (public containers)')
      options.azure = endpoint ? {endpoint} : {}
    }
  }
  return options
}
