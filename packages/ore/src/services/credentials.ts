import {awsAuth, azureAuth, describeAws, describeAzure, describeGce, describeProfile, gceAuth, profileAuth, type CredentialSummary} from '@mantle/auth'
import type {CommandContext} from '@mantle/kit'

export const PROVIDERS = ['aws', 'gce', 'azure', 'do', 'esx', 'openstack', 'packet'] as const
export type Provider = (typeof PROVIDERS)[number]

/** Resolves one provider's credentials the way every command does and describes them. */
export async function resolveCredentialSummary(provider: Provider, flags: Record<string, unknown>, ctx: CommandContext): Promise<CredentialSummary> {
  switch (provider) {
    case 'aws':
      return describeAws(await awsAuth(flags, ctx))
    case 'gce':
      return describeGce(await gceAuth(flags, ctx))
    case 'azure':
      return describeAzure(await azureAuth(flags, ctx))
    default:
      return describeProfile(await profileAuth(provider, flags, ctx))
  }
}
