import {Flags, type CommandContext, type Interfaces} from '@mantle/kit'

import {resolveAws, type AwsAuth, type AwsAuthOptions} from './aws.js'
import {resolveAzure, type AzureAuth, type AzureAuthOptions} from './azure.js'
import {resolveGce, type GceAuth, type GceAuthOptions} from './gce.js'
import {loadProfile, type ProfileOptions, type ProfileProvider, type ResolvedProfile} from './profiles.js'

/**
 * Each provider's credential flags, and the one typed mapping from their
 * parsed values to that provider's resolver input. The mappings are typed on
 * the flag sets themselves, so a renamed flag fails to compile instead of
 * silently becoming undefined; a tool's `src/options.ts` calls them.
 */
export const awsFlags = {
  profile: Flags.string({summary: 'AWS profile in the shared credentials/config files (default: "default").', helpGroup: 'AWS'}),
  'credentials-file': Flags.string({summary: 'AWS shared credentials file (default: ~/.aws/credentials).', helpGroup: 'AWS'}),
  'access-id': Flags.string({summary: 'AWS access key id (with --secret-key).', helpGroup: 'AWS'}),
  'secret-key': Flags.string({
    summary: 'AWS secret access key; prefer a credentials file: flags show in the process table.',
    helpGroup: 'AWS',
  }),
  region: Flags.string({summary: 'AWS region.', helpGroup: 'AWS'}),
}

export const gceFlags = {
  'json-key': Flags.string({summary: 'Google service-account JSON key, or "none" for public buckets.', helpGroup: 'GOOGLE'}),
  'service-auth': Flags.boolean({summary: 'Use the GCE metadata server for credentials.', helpGroup: 'GOOGLE'}),
}

export const azureFlags = {
  'azure-credentials': Flags.string({
    summary: 'azureCreds.json with {appId, password, subscription, tenant} (default: ~/.azure/azureCreds.json).',
    helpGroup: 'AZURE',
  }),
  'azure-profile': Flags.string({summary: 'Profile in the azureCreds.json file.', helpGroup: 'AZURE'}),
  'azure-connection-string': Flags.string({
    summary: 'Azure storage connection string (default: AZURE_STORAGE_CONNECTION_STRING).',
    helpGroup: 'AZURE',
  }),
  'azure-storage-account': Flags.string({
    summary: 'Azure storage account name (with an account key from AZURE_STORAGE_KEY).',
    helpGroup: 'AZURE',
  }),
}

function profileFlags<P extends ProfileProvider>(provider: P, title: string) {
  return {
    [`${provider}-profile`]: Flags.string({summary: `${title} profile (default: "default").`, helpGroup: title.toUpperCase()}),
    [`${provider}-config-file`]: Flags.string({summary: `${title} credentials file.`, helpGroup: title.toUpperCase()}),
  } as Record<`${P}-profile` | `${P}-config-file`, Interfaces.OptionFlag<string | undefined>>
}

export const doFlags = profileFlags('do', 'DigitalOcean')
export const esxFlags = profileFlags('esx', 'ESX')
export const openstackFlags = profileFlags('openstack', 'OpenStack')
export const packetFlags = profileFlags('packet', 'Packet')
export const hetznerFlags = profileFlags('hetzner', 'Hetzner')
export const scalewayFlags = profileFlags('scaleway', 'Scaleway')
export const akamaiFlags = profileFlags('akamai', 'Akamai')
export const ociFlags = profileFlags('oci', 'OCI')
export const stackitFlags = profileFlags('stackit', 'STACKIT')
export const brightboxFlags = profileFlags('brightbox', 'Brightbox')

/** What every resolver takes besides its typed input: read once by the base command. */
export type AuthContext = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor'>

/** The typed inputs of the resolvers: what a tool fills from its flags (or its configuration). */
export type AwsAuthInput = Omit<AwsAuthOptions, keyof AuthContext>
export type GceAuthInput = Omit<GceAuthOptions, keyof AuthContext>
export type AzureAuthInput = Omit<AzureAuthOptions, keyof AuthContext>
export type ProfileAuthInput = Omit<ProfileOptions, keyof AuthContext>

/** The parsed values of a flag set (oclif's inferred type, without the --json every command may have). */
export type FlagValues<F extends Interfaces.FlagInput> = Omit<Interfaces.InferredFlags<F>, 'json'>

export type AwsFlagValues = FlagValues<typeof awsFlags>
export type GceFlagValues = FlagValues<typeof gceFlags>
export type AzureFlagValues = FlagValues<typeof azureFlags>
export type ProfileFlagValues<P extends ProfileProvider> = Record<`${P}-profile` | `${P}-config-file`, string | undefined>

export function awsAuthInput(flags: AwsFlagValues): AwsAuthInput {
  return {
    profile: flags.profile,
    credentialsFile: flags['credentials-file'],
    accessKeyId: flags['access-id'],
    secretAccessKey: flags['secret-key'],
    region: flags.region,
  }
}

export function gceAuthInput(flags: GceFlagValues): GceAuthInput {
  return {jsonKey: flags['json-key'], serviceAuth: flags['service-auth']}
}

export function azureAuthInput(flags: AzureFlagValues): AzureAuthInput {
  return {
    credentialsFile: flags['azure-credentials'],
    profile: flags['azure-profile'],
    connectionString: flags['azure-connection-string'],
    storageAccount: flags['azure-storage-account'],
  }
}

export function profileAuthInput<P extends ProfileProvider>(provider: P, flags: ProfileFlagValues<P>): ProfileAuthInput {
  return {file: flags[`${provider}-config-file`], profile: flags[`${provider}-profile`]}
}

/** Only what the resolvers read, whatever larger context a command hands over. */
function authContext(ctx: AuthContext): AuthContext {
  return {env: ctx.env, home: ctx.home, logger: ctx.logger, redactor: ctx.redactor}
}

/** The resolvers, on a typed input plus the command's context. */
export function awsAuth(input: AwsAuthInput, ctx: AuthContext): Promise<AwsAuth> {
  return resolveAws({...input, ...authContext(ctx)})
}

export function gceAuth(input: GceAuthInput, ctx: AuthContext): Promise<GceAuth> {
  return resolveGce({...input, ...authContext(ctx)})
}

export function azureAuth(input: AzureAuthInput, ctx: AuthContext): Promise<AzureAuth> {
  return resolveAzure({...input, ...authContext(ctx)})
}

export function profileAuth<P extends ProfileProvider>(
  provider: P,
  input: ProfileAuthInput,
  ctx: AuthContext,
): Promise<ResolvedProfile<P>> {
  return loadProfile(provider, {...input, ...authContext(ctx)})
}
