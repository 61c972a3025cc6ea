import {resolveEndpoints, type AwsAuthInput, type AzureAuthInput, type GceAuthInput, type StorageEndpoints} from '@mantle/auth'

/**
 * plume's flag-to-option mapping: the credential flags of a release (one AWS
 * credentials file whose profiles the channel's partitions name, one Azure
 * credentials file and profile, one Google key) as the typed inputs of auth's
 * resolvers, and the storage endpoints. setup.ts assembles the stage options
 * from these; services never see flags.
 */

export interface CredentialFlags {
  'aws-credentials'?: string | undefined
  'azure-credentials'?: string | undefined
  'azure-profile'?: string | undefined
  'gce-json-key'?: string | undefined
}

export interface CredentialInputs {
  /** AWS credentials of one partition's profile (undefined: the default). */
  aws(profile: string | undefined): AwsAuthInput
  azure: AzureAuthInput
  gce: GceAuthInput
}

export function credentialInputs(flags: CredentialFlags): CredentialInputs {
  return {
    aws: (profile) => ({credentialsFile: flags['aws-credentials'], profile}),
    azure: {credentialsFile: flags['azure-credentials'], profile: flags['azure-profile']},
    gce: {jsonKey: flags['gce-json-key']},
  }
}

/**
 * plume has no endpoint flags: the channel's storage URLs and the AWS staging
 * bucket take their endpoints from the environment, through auth's one
 * resolution (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST).
 */
export function storageEndpoints(env: NodeJS.ProcessEnv): StorageEndpoints {
  return resolveEndpoints({}, env)
}

/** The limits of `plume prune`, as its flags give them. */
export interface PruneFlags {
  days?: number | undefined
  'keep-last'?: number | undefined
  'days-last-launched'?: number | undefined
  'check-last-launched'?: boolean | undefined
  'days-soft-deleted'?: number | undefined
  'dry-run'?: boolean | undefined
}

export interface PruneLimits {
  days: number | undefined
  keepLast: number | undefined
  daysLastLaunched: number | undefined
  checkLastLaunched: boolean | undefined
  daysSoftDeleted: number | undefined
  dryRun: boolean
}

export function pruneLimits(flags: PruneFlags): PruneLimits {
  return {
    days: flags.days,
    keepLast: flags['keep-last'],
    daysLastLaunched: flags['days-last-launched'],
    checkLastLaunched: flags['check-last-launched'],
    daysSoftDeleted: flags['days-soft-deleted'],
    dryRun: flags['dry-run'] ?? false,
  }
}

/** What `plume index` regenerates, as its flags give it. */
export interface IndexScopeFlags {
  channel: string
  board: string
  'dry-run'?: boolean | undefined
  force?: boolean | undefined
}

export interface IndexScope {
  /** The channels to index; undefined: all of the configuration's. */
  channels: string[] | undefined
  /** Only below these boards (and the root page); undefined: the whole tree. */
  boards: string[] | undefined
  dryRun: boolean
  force: boolean
}

export function indexScope(flags: IndexScopeFlags): IndexScope {
  return {
    channels: flags.channel === 'all' ? undefined : [flags.channel],
    boards: flags.board === 'all' ? undefined : [flags.board],
    dryRun: flags['dry-run'] ?? false,
    force: flags.force ?? false,
  }
}
