import {Flags, parseStorageUrl, type CommandContext, type StorageOptions} from '@mantle/kit'

import {awsFlags, azureAuth, azureFlags, awsAuth, gceAuth, gceFlags} from './flags.js'
import {azureTokenCredential} from './azure.js'
import {googleClientOptions} from './gce.js'

/**
 * The flags of a command that takes storage URLs of any scheme: every
 * provider's credential flags, plus endpoint overrides for emulators, private
 * mirrors and S3-compatible stores.
 */
export const storageFlags = {
  ...gceFlags,
  ...awsFlags,
  ...azureFlags,
  'gcs-endpoint': Flags.string({summary: 'Google Cloud Storage API endpoint, e.g. an emulator (default: STORAGE_EMULATOR_HOST).', helpGroup: 'STORAGE'}),
  's3-endpoint': Flags.string({
    summary: 'S3-compatible endpoint, e.g. http://127.0.0.1:7480; uses path-style addressing (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).',
    helpGroup: 'STORAGE',
  }),
  'azure-blob-endpoint': Flags.string({summary: 'Azure blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1 (with an account key or SAS).', helpGroup: 'STORAGE'}),
}

type Ctx = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor'> & {
  /** Relative plain paths resolve against this. */
  cwd?: string | undefined
  signal?: AbortSignal | undefined
}
type AnyFlags = Record<string, unknown>
const str = (flags: AnyFlags, name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined)

/**
 * Storage options for the URLs a command was given: credentials are resolved
 * (once) only for the schemes that appear, so `file://` and `https://` need
 * none, and a gs:// URL never asks for AWS keys. Bad URLs fail here, before
 * any credential is read.
 */
export async function storageOptions(urls: string | readonly string[], flags: AnyFlags, ctx: Ctx): Promise<StorageOptions> {
  const {env, logger} = ctx
  const schemes = new Set((typeof urls === 'string' ? [urls] : urls).map((u) => parseStorageUrl(u, ctx.cwd).scheme))
  const options: StorageOptions = {logger, ...(ctx.cwd ? {cwd: ctx.cwd} : {}), ...(ctx.signal ? {signal: ctx.signal} : {})}

  if (schemes.has('gs')) {
    const apiEndpoint = str(flags, 'gcs-endpoint') ?? env.STORAGE_EMULATOR_HOST
    // An emulator takes no credentials unless a key is given explicitly.
    const explicitKey = str(flags, 'json-key') !== undefined || flags['service-auth'] === true
    if (apiEndpoint && !explicitKey) {
      options.gcs = {apiEndpoint: withScheme(apiEndpoint), clientOptions: {projectId: env.GOOGLE_CLOUD_PROJECT ?? 'emulator'}}
    } else {
      const auth = await gceAuth(flags, ctx)
      const clientOptions = googleClientOptions(auth)
      // "--json-key none": anonymous reads of public buckets, no token requested.
      options.gcs =
        auth.kind === 'none'
          ? {apiEndpoint: apiEndpoint ? withScheme(apiEndpoint) : 'https://storage.googleapis.com', clientOptions: {...clientOptions, useAuthWithCustomEndpoint: false}}
          : {clientOptions, ...(apiEndpoint ? {apiEndpoint: withScheme(apiEndpoint)} : {})}
    }
  }

  if (schemes.has('s3')) {
    const auth = await awsAuth(flags, ctx)
    const endpoint = str(flags, 's3-endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL
    options.s3 = {credentials: auth.credentials, region: auth.region ?? 'us-east-1', ...(endpoint ? {endpoint, forcePathStyle: true} : {})}
  }

  if (schemes.has('az')) {
    const auth = await azureAuth(flags, ctx)
    const endpoint = str(flags, 'azure-blob-endpoint')
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

/** STORAGE_EMULATOR_HOST is sometimes given as host:port; the client wants a URL. */
function withScheme(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`
}
