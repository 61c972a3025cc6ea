import {
  awsAuth,
  azureAuth,
  describeAws,
  describeAzure,
  describeGce,
  describeProfile,
  gceAuth,
  profileAuth,
  type AuthContext,
  type CredentialSummary,
} from '@mantle/auth'

import type {CredentialInput} from '../options.js'

export const PROVIDERS = [
  'aws',
  'gce',
  'azure',
  'do',
  'esx',
  'openstack',
  'packet',
  'hetzner',
  'scaleway',
  'akamai',
  'oci',
  'stackit',
  'brightbox',
] as const
export type Provider = (typeof PROVIDERS)[number]

/** Resolves one provider's credentials the way every command does and describes them. */
export async function resolveCredentialSummary(credentials: CredentialInput, ctx: AuthContext): Promise<CredentialSummary> {
  switch (credentials.provider) {
    case 'aws':
      return describeAws(await awsAuth(credentials.input, ctx))
    case 'gce':
      return describeGce(await gceAuth(credentials.input, ctx))
    case 'azure':
      return describeAzure(await azureAuth(credentials.input, ctx))
    default:
      return describeProfile(await profileAuth(credentials.provider, credentials.input, ctx))
  }
}
