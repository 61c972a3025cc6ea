import {awsFlags, azureFlags, gceFlags} from '@mantle/auth'
import {parseStorageUrl, userKeyDirectory, type CommandContext, type StorageOptions} from '@mantle/kit'

/** Credentials of every storage backend: a URL of any scheme works with the same command. */
export const storageFlags = {...gceFlags, ...awsFlags, ...azureFlags}

type Ctx = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor'>

/**
 * Storage options for one URL: credentials are resolved (once) only for its
 * scheme. Emulators and S3-compatible stores come from the variables their
 * SDKs know: STORAGE_EMULATOR_HOST, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
 */
export async function storageOptionsFor(url: string, flags: Record<string, unknown>, ctx: Ctx, cwd: string): Promise<StorageOptions> {
  const {scheme} = parseStorageUrl(url, cwd)
  const {env} = ctx
  switch (scheme) {
    case 'gs': {
      const emulator = env.STORAGE_EMULATOR_HOST
      if (emulator) return {gcs: {apiEndpoint: emulator, clientOptions: {projectId: 'emulator'}}}
      const {gceAuth, googleClientOptions} = await import('@mantle/auth')
      return {gcs: {clientOptions: googleClientOptions(await gceAuth(flags, ctx))}}
    }
    case 's3': {
      const {awsAuth} = await import('@mantle/auth')
      const auth = await awsAuth(flags, ctx)
      const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL
      return {s3: {credentials: auth.credentials, region: auth.region ?? 'us-east-1', endpoint, ...(endpoint ? {forcePathStyle: true} : {})}}
    }
    case 'az': {
      const {azureAuth} = await import('@mantle/auth')
      return {azure: {...(await azureAuth(flags, ctx)).storage}}
    }
    default:
      return {}
  }
}

/** The user's keyring directory, from the environment read once by the command. */
export function userKeyring(ctx: Pick<CommandContext, 'env' | 'home'>): string {
  return userKeyDirectory(ctx.env, ctx.home)
}
