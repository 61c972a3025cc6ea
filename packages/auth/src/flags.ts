import {Flags, type CommandContext} from '@mantle/kit'

import {resolveAws, type AwsAuth} from './aws.js'
import {resolveAzure, type AzureAuth} from './azure.js'
import {resolveGce, type GceAuth} from './gce.js'
import {loadProfile, type ProfileProvider, type ResolvedProfile} from './profiles.js'

/** Credential flags per provider; commands spread the sets they need. */
export const awsFlags = {
  profile: Flags.string({summary: 'AWS profile in the shared credentials/config files (default: "default").', helpGroup: 'AWS'}),
  'credentials-file': Flags.string({summary: 'AWS shared credentials file (default: ~/.aws/credentials).', helpGroup: 'AWS'}),
  'access-id': Flags.string({summary: 'AWS access key id (with --secret-key).', helpGroup: 'AWS'}),
  'secret-key': Flags.string({summary: 'AWS secret access key; prefer a credentials file: flags show in the process table.', helpGroup: 'AWS'}),
  region: Flags.string({summary: 'AWS region.', helpGroup: 'AWS'}),
}

export const gceFlags = {
  'json-key': Flags.string({summary: 'Google service-account JSON key, or "none" for public buckets.', helpGroup: 'GOOGLE'}),
  'service-auth': Flags.boolean({summary: 'Use the GCE metadata server for credentials.', helpGroup: 'GOOGLE'}),
}

export const azureFlags = {
  'azure-credentials': Flags.string({summary: 'azureCreds.json with {appId, password, subscription, tenant} (default: ~/.azure/azureCreds.json).', helpGroup: 'AZURE'}),
  'azure-profile': Flags.string({summary: 'Profile in the azureCreds.json file.', helpGroup: 'AZURE'}),
  'azure-connection-string': Flags.string({summary: 'Azure storage connection string (default: AZURE_STORAGE_CONNECTION_STRING).', helpGroup: 'AZURE'}),
  'azure-storage-account': Flags.string({summary: 'Azure storage account name (with an account key from AZURE_STORAGE_KEY).', helpGroup: 'AZURE'}),
}

function profileFlags<P extends ProfileProvider>(provider: P, title: string) {
  return {
    [`${provider}-profile`]: Flags.string({summary: `${title} profile (default: "default").`, helpGroup: title.toUpperCase()}),
    [`${provider}-config-file`]: Flags.string({summary: `${title} credentials file.`, helpGroup: title.toUpperCase()}),
  } as Record<`${P}-profile` | `${P}-config-file`, ReturnType<typeof Flags.string>>
}

export const doFlags = profileFlags('do', 'DigitalOcean')
export const esxFlags = profileFlags('esx', 'ESX')
export const openstackFlags = profileFlags('openstack', 'OpenStack')
export const packetFlags = profileFlags('packet', 'Packet')

type Ctx = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor'>
type AnyFlags = Record<string, unknown>
const str = (flags: AnyFlags, name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined)

export function awsAuth(flags: AnyFlags, ctx: Ctx): Promise<AwsAuth> {
  return resolveAws({
    profile: str(flags, 'profile'),
    credentialsFile: str(flags, 'credentials-file'),
    accessKeyId: str(flags, 'access-id'),
    secretAccessKey: str(flags, 'secret-key'),
    region: str(flags, 'region'),
    ...ctx,
  })
}

export function gceAuth(flags: AnyFlags, ctx: Ctx): Promise<GceAuth> {
  return resolveGce({jsonKey: str(flags, 'json-key'), serviceAuth: flags['service-auth'] === true, ...ctx})
}

export function azureAuth(flags: AnyFlags, ctx: Ctx): Promise<AzureAuth> {
  return resolveAzure({
    credentialsFile: str(flags, 'azure-credentials'),
    profile: str(flags, 'azure-profile'),
    connectionString: str(flags, 'azure-connection-string'),
    storageAccount: str(flags, 'azure-storage-account'),
    ...ctx,
  })
}

export function profileAuth<P extends ProfileProvider>(provider: P, flags: AnyFlags, ctx: Ctx): Promise<ResolvedProfile<P>> {
  return loadProfile(provider, {file: str(flags, `${provider}-config-file`), profile: str(flags, `${provider}-profile`), ...ctx})
}
