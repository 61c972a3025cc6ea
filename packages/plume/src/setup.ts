import {access} from 'node:fs/promises'
import {resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {awsAuth, azureAuth, gceAuth, resolveStorageOptions, type AwsAuth} from '@mantle/auth'
import {loadDefaultKeyring, loadKeyring, userKeyDirectory, type CommandContext, type Keyring, type StorageOptions} from '@mantle/kit'

import {loadChannels} from './config/load.js'
import type {ChannelsConfig, Platform} from './config/types.js'
import {awsClients, azureClients, gceClients} from './services/clouds.js'
import {credentialInputs, storageEndpoints, type CredentialFlags} from './options.js'
import type {CloudDeps, StageOptions} from './services/stages.js'
import {resolveSpec} from './spec.js'

/** The example shipped with the tool: the local default. */
export const LOCAL_CONFIG = fileURLToPath(new URL('../channels/local.yaml', import.meta.url))

/** --config, else ./plume.yaml, else the shipped local example. */
export async function configFile(flag: string | undefined, cwd: string): Promise<string> {
  if (flag) return resolve(cwd, flag)
  const local = resolve(cwd, 'plume.yaml')
  return (await access(local).then(
    () => true,
    () => false,
  ))
    ? local
    : LOCAL_CONFIG
}

export type {CredentialFlags} from './options.js'

export interface SetupFlags extends CredentialFlags {
  config?: string | undefined
  channel: string
  board?: string | undefined
  version?: string | undefined
  'sdk-root': string
  platform?: Platform[] | undefined
  'verify-key'?: string | undefined
  'cache-dir'?: string | undefined
  'dry-run'?: boolean | undefined
  force?: boolean | undefined
  partition?: string | undefined
  private?: boolean | undefined
}

/**
 * What a command turns its flags into before calling a stage service: the
 * configuration, the spec with its defaults, storage options for the URLs the
 * channel uses, the keyring, and lazily connected clouds.
 */
export async function stageOptions(flags: SetupFlags, context: CommandContext): Promise<StageOptions & {config: ChannelsConfig}> {
  const {cwd} = context
  const config = await loadConfig(flags, cwd)
  const channel = config.channels[flags.channel]
  const storage = await storageFor(channel ? [channel.source, ...(channel.destinations ?? []).map((d) => d.url)] : [], flags, context)
  const release = await resolveSpec({
    config,
    channel: flags.channel,
    board: flags.board,
    version: flags.version,
    sdkRoot: resolve(cwd, flags['sdk-root']),
    storage,
  })
  const keyFile = flags['verify-key'] ?? release.spec.verifyKey
  const keyring: Keyring = keyFile
    ? await loadKeyring({files: [resolve(cwd, keyFile)]})
    : await loadDefaultKeyring({userDirectory: userKeyDirectory(context.env, context.home)})
  return {
    config,
    release,
    storage,
    platforms: flags.platform,
    force: flags.force,
    dryRun: flags['dry-run'],
    partition: flags.partition,
    private: flags.private,
    cacheDir: resolve(cwd, flags['cache-dir'] ?? '.cache/images'),
    keyring,
    clouds: cloudDeps(flags, context),
    logger: context.logger,
    signal: context.signal,
    progress: context.progress,
  }
}

function awsAuthFor(flags: CredentialFlags, context: CommandContext): (profile: string | undefined) => Promise<AwsAuth> {
  const inputs = credentialInputs(flags)
  return (profile) => awsAuth(inputs.aws(profile), context)
}

/** The clouds, connected on first use with the credentials the flags name. */
export function cloudDeps(flags: CredentialFlags, context: CommandContext): CloudDeps {
  const serviceContext = {logger: context.logger, signal: context.signal, progress: context.progress}
  const inputs = credentialInputs(flags)
  return {
    aws: awsClients({auth: awsAuthFor(flags, context), context: serviceContext, s3Endpoint: storageEndpoints(context.env).s3}),
    azure: azureClients({auth: () => azureAuth(inputs.azure, context), context: serviceContext}),
    gce: gceClients({auth: () => gceAuth(inputs.gce, context), context: serviceContext}),
  }
}

/** The configuration the flags name (see configFile). */
export async function loadConfig(flags: Pick<SetupFlags, 'config'>, cwd: string): Promise<ChannelsConfig> {
  return loadChannels(await configFile(flags.config, cwd))
}

/** Storage options for these URLs, with credentials from the flags for the schemes that appear. */
export async function storageFor(urls: readonly string[], flags: CredentialFlags, context: CommandContext): Promise<StorageOptions> {
  const inputs = credentialInputs(flags)
  const credentials = {
    aws: () => awsAuth(inputs.aws(undefined), context),
    gce: () => gceAuth(inputs.gce, context),
    azure: () => azureAuth(inputs.azure, context),
  }
  return resolveStorageOptions(urls, credentials, storageEndpoints(context.env), context)
}
