import type {AwsAuth} from './aws.js'
import type {AzureAuth} from './azure.js'
import type {GceAuth} from './gce.js'
import type {ProfileProvider, ResolvedProfile} from './profiles.js'

/** What can be shown about resolved credentials: where they came from and who they are, never a secret. */
export interface CredentialSummary {
  provider: string
  source: string
  profile?: string | undefined
  identity?: string | undefined
  region?: string | undefined
}

export function describeAws(auth: AwsAuth): CredentialSummary {
  return {provider: 'aws', source: auth.source, profile: auth.profile, identity: auth.accessKeyId, region: auth.region}
}

export function describeGce(auth: GceAuth): CredentialSummary {
  const identity = auth.kind === 'service-account' ? auth.clientEmail : auth.kind === 'authorized-user' ? auth.clientId : undefined
  return {provider: 'gce', source: auth.source, identity}
}

export function describeAzure(auth: AzureAuth): CredentialSummary {
  const storage =
    auth.storage?.accountName ??
    (auth.storage?.connectionString ? /AccountName=([^;]+)/i.exec(auth.storage.connectionString)?.[1] : undefined)
  return {
    provider: 'azure',
    source: auth.source,
    identity: auth.principal?.clientId ?? (storage ? `storage account ${storage}` : undefined),
  }
}

export function describeProfile<P extends ProfileProvider>(resolved: ResolvedProfile<P>): CredentialSummary {
  const c = resolved.credentials as unknown as Record<string, string>
  const identity = c.user ?? c.username ?? c.project
  return {provider: resolved.provider, source: resolved.file, profile: resolved.profile, identity}
}
