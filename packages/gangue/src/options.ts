import type {StorageFlagValues} from '@mantle/auth'
import {UsageError, userKeyDirectory, type CommandContext, type StorageOptions} from '@mantle/kit'

import type {GetOptions} from './services/get.js'
import type {ImportOptions, ListOptions, RemoveOptions} from './services/keys.js'
import type {PruneOptions} from './services/prune.js'

/**
 * gangue's flag-to-option mapping, all of it: pure functions from a command's
 * parsed flags and arguments (plus what the base command read once) to the
 * options its service takes. Credentials come from auth's storageAuthInput.
 */

type Context = Pick<CommandContext, 'cwd' | 'env' | 'home' | 'logger' | 'progress' | 'signal'>

/** The user's keyring directory, from the environment read once by the command. */
export function userKeyring(ctx: Pick<CommandContext, 'env' | 'home'>): string {
  return userKeyDirectory(ctx.env, ctx.home)
}

/** keys import: every positional argument is a key file; --fingerprint pins what the publisher announced. */
export function importKeysOptions(
  flags: {fingerprint?: string[] | undefined},
  files: readonly string[],
  ctx: Pick<CommandContext, 'env' | 'home'>,
): ImportOptions {
  return {files, directory: userKeyring(ctx), expectFingerprints: flags.fingerprint}
}

export function listKeysOptions(ctx: Pick<CommandContext, 'env' | 'home'>): ListOptions {
  return {userDirectory: userKeyring(ctx)}
}

/** keys remove: every positional argument is a fingerprint or key ID. */
export function removeKeysOptions(ids: readonly string[], ctx: Pick<CommandContext, 'env' | 'home'>): RemoveOptions {
  return {ids, directory: userKeyring(ctx)}
}

export interface GetFlags extends StorageFlagValues {
  verify: boolean
  'verify-key'?: string[] | undefined
  'keep-sig': boolean
  sha256: boolean
}

export function getOptions(
  flags: GetFlags,
  args: {url: string; path?: string | undefined},
  storage: StorageOptions,
  context: Context,
): GetOptions {
  if (!flags.verify && flags['verify-key']?.length)
    throw new UsageError('--verify-key and --no-verify contradict each other', {hint: 'drop one of them'})
  return {
    url: args.url,
    path: args.path,
    cwd: context.cwd,
    verify: flags.verify ? {keyFiles: flags['verify-key'] ?? [], userDirectory: userKeyring(context)} : undefined,
    keepSignature: flags['keep-sig'],
    sha256: flags.sha256,
    storage,
    logger: context.logger,
    progress: context.progress,
    signal: context.signal,
  }
}

export interface PruneFlags extends StorageFlagValues {
  days: number
  whitelist: string[]
  'dry-run': boolean
}

export function pruneOptions(
  flags: PruneFlags,
  bucket: PruneOptions['bucket'],
  prefix: string,
  context: Pick<CommandContext, 'logger' | 'signal'>,
): PruneOptions {
  return {
    bucket,
    prefix,
    days: flags.days,
    whitelist: flags.whitelist,
    dryRun: flags['dry-run'],
    logger: context.logger,
    signal: context.signal,
  }
}
