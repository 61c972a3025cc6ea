import {join} from 'node:path'

import type {Logger, Redactor} from '@mantle/kit'

import {credentialError, isRecord, parseJson, requireCredentialFile, requireStrings, type FileContext} from './files.js'

/**
 * The profile-map files of spec/auth.md: `{"<profile>": {...}}`, the profile
 * named "default" unless one is chosen.
 */
export const PROFILE_PROVIDERS = {
  do: {file: '.config/digitalocean.json', required: ['token'], optional: [], secrets: ['token']},
  esx: {file: '.config/esx.json', required: ['server', 'user', 'password'], optional: [], secrets: ['password']},
  openstack: {
    file: '.config/openstack.json',
    required: ['auth_url', 'username', 'password'],
    optional: ['tenant_id', 'tenant_name', 'user_domain', 'floating_ip_pool', 'region_name', 'domain'],
    secrets: ['password'],
  },
  packet: {file: '.config/packet.json', required: ['api_key', 'project'], optional: [], secrets: ['api_key']},
  hetzner: {file: '.config/hetzner.json', required: ['token'], optional: [], secrets: ['token'], env: {token: 'HCLOUD_TOKEN'}},
  scaleway: {
    file: '.config/scaleway.json',
    required: ['access_key', 'secret_key', 'project_id'],
    optional: ['organization_id'],
    secrets: ['secret_key'],
    env: {
      access_key: 'SCW_ACCESS_KEY',
      secret_key: 'SCW_SECRET_KEY',
      project_id: 'SCW_DEFAULT_PROJECT_ID',
      organization_id: 'SCW_DEFAULT_ORGANIZATION_ID',
    },
  },
  akamai: {file: '.config/akamai.json', required: ['token'], optional: [], secrets: ['token'], env: {token: 'LINODE_TOKEN'}},
  // Brightbox's own variables (its CLI and Terraform provider: BRIGHTBOX_CLIENT, BRIGHTBOX_CLIENT_SECRET, BRIGHTBOX_API_URL).
  brightbox: {
    file: '.config/brightbox.json',
    required: ['client_id', 'client_secret'],
    optional: ['api_url'],
    secrets: ['client_secret'],
    env: {client_id: 'BRIGHTBOX_CLIENT', client_secret: 'BRIGHTBOX_CLIENT_SECRET', api_url: 'BRIGHTBOX_API_URL'},
  },
  // The STACKIT SDK's own variables (core/auth: STACKIT_SERVICE_ACCOUNT_KEY_PATH, STACKIT_PRIVATE_KEY_PATH,
  // STACKIT_SERVICE_ACCOUNT_TOKEN); the project has none there: STACKIT_PROJECT_ID is ours.
  stackit: {
    file: '.config/stackit.json',
    required: ['project_id'],
    optional: ['service_account_key_path', 'private_key_path', 'service_account_token', 'region'],
    secrets: ['service_account_token'],
    env: {
      project_id: 'STACKIT_PROJECT_ID',
      service_account_key_path: 'STACKIT_SERVICE_ACCOUNT_KEY_PATH',
      private_key_path: 'STACKIT_PRIVATE_KEY_PATH',
      service_account_token: 'STACKIT_SERVICE_ACCOUNT_TOKEN',
      region: 'STACKIT_REGION',
    },
  },
  // The OCI CLI's own variables (docs: "CLI Environment Variables"); the key from key_file or the key itself.
  oci: {
    file: '.config/oci.json',
    required: ['tenancy', 'user', 'fingerprint', 'region'],
    optional: ['key_file', 'key', 'pass_phrase', 'compartment'],
    secrets: ['key', 'pass_phrase'],
    env: {
      tenancy: 'OCI_CLI_TENANCY',
      user: 'OCI_CLI_USER',
      fingerprint: 'OCI_CLI_FINGERPRINT',
      region: 'OCI_CLI_REGION',
      key_file: 'OCI_CLI_KEY_FILE',
      key: 'OCI_CLI_KEY_CONTENT',
      pass_phrase: 'OCI_CLI_PASSPHRASE',
    },
  },
} as const

export type ProfileProvider = keyof typeof PROFILE_PROVIDERS

export interface DoCredentials {
  token: string
}
export interface EsxCredentials {
  server: string
  user: string
  password: string
}
export interface OpenStackCredentials {
  auth_url: string
  username: string
  password: string
  tenant_id?: string
  tenant_name?: string
  user_domain?: string
  floating_ip_pool?: string
  region_name?: string
  domain?: string
}
export interface PacketCredentials {
  api_key: string
  project: string
}
/** Hetzner Cloud API token (HCLOUD_TOKEN). */
export interface HetznerCredentials {
  token: string
}
/** Scaleway API key (SCW_ACCESS_KEY, SCW_SECRET_KEY) and the project resources go to (SCW_DEFAULT_PROJECT_ID). */
export interface ScalewayCredentials {
  access_key: string
  secret_key: string
  project_id: string
  organization_id?: string
}
/** Akamai (Linode API v4) personal access token (LINODE_TOKEN). */
export interface AkamaiCredentials {
  token: string
}
/** An OCI API signing key: the user's OCIDs, the key's fingerprint, and the PEM key itself or its file. */
export interface OciProfileCredentials {
  tenancy: string
  user: string
  fingerprint: string
  region: string
  key_file?: string
  key?: string
  pass_phrase?: string
  compartment?: string
}
/** A STACKIT project and a service account: its key file (JWT key flow) or a long-lived token. */
export interface StackitProfileCredentials {
  project_id: string
  service_account_key_path?: string
  private_key_path?: string
  service_account_token?: string
  region?: string
}
/** A Brightbox API client (OAuth2 client credentials) and, for another region, its API root. */
export interface BrightboxCredentials {
  client_id: string
  client_secret: string
  api_url?: string
}
export interface ProfileCredentials {
  brightbox: BrightboxCredentials
  stackit: StackitProfileCredentials
  oci: OciProfileCredentials
  hetzner: HetznerCredentials
  scaleway: ScalewayCredentials
  akamai: AkamaiCredentials
  do: DoCredentials
  esx: EsxCredentials
  openstack: OpenStackCredentials
  packet: PacketCredentials
}

export interface ProfileOptions {
  /** Overrides the default path under the home directory. */
  file?: string | undefined
  profile?: string | undefined
  home: string
  logger: Logger
  redactor: Redactor
  /** For the providers whose own tools read environment variables (HCLOUD_TOKEN, SCW_*, LINODE_TOKEN). */
  env?: NodeJS.ProcessEnv | undefined
}

export interface ResolvedProfile<P extends ProfileProvider> {
  provider: P
  file: string
  profile: string
  credentials: ProfileCredentials[P]
}

export async function loadProfile<P extends ProfileProvider>(provider: P, options: ProfileOptions): Promise<ResolvedProfile<P>> {
  const spec = PROFILE_PROVIDERS[provider]
  const fromEnv = options.file === undefined && options.profile === undefined ? profileFromEnv(provider, options) : undefined
  if (fromEnv) return fromEnv
  const file = options.file ?? join(options.home, spec.file)
  const profile = options.profile ?? 'default'
  const ctx: FileContext = {provider, file, profile, logger: options.logger}
  const doc = parseJson(ctx, await requireCredentialFile(ctx, `create it or pass --${provider}-config-file`))
  if (!isRecord(doc)) throw credentialError(ctx, 'expected a JSON object of profiles')
  const entry = doc[profile]
  if (entry === undefined) {
    const known = Object.keys(doc).join(', ') || 'none'
    throw credentialError(ctx, `profile not found (profiles in file: ${known})`, `choose one with --${provider}-profile`)
  }
  if (!isRecord(entry)) throw credentialError(ctx, 'profile is not a JSON object')
  // Register the secrets before validating the rest, so no later message can carry them.
  for (const s of spec.secrets) if (typeof entry[s] === 'string') options.redactor.add(entry[s])
  const credentials: Record<string, string> = requireStrings(ctx, entry, spec.required)
  for (const o of spec.optional) if (typeof entry[o] === 'string') credentials[o] = entry[o]
  return {provider, file, profile, credentials: credentials as unknown as ProfileCredentials[P]}
}

/**
 * A cloud's own environment variables (HCLOUD_TOKEN, ...), used when no
 * profile or file is chosen and every required one is set: the cloud's own
 * CLI reads them too. A file or profile named on the command line wins.
 */
function profileFromEnv<P extends ProfileProvider>(provider: P, options: ProfileOptions): ResolvedProfile<P> | undefined {
  const spec = PROFILE_PROVIDERS[provider]
  if (!('env' in spec) || !options.env) return undefined
  const names = spec.env as Record<string, string>
  const env = options.env
  if (!spec.required.every((f) => env[names[f]!])) return undefined
  const credentials: Record<string, string> = {}
  for (const [field, name] of Object.entries(names)) if (env[name]) credentials[field] = env[name]
  for (const s of spec.secrets) if (credentials[s]) options.redactor.add(credentials[s])
  const used = spec.required.map((f) => names[f]).join(', ')
  return {provider, file: `environment (${used})`, profile: 'env', credentials: credentials as unknown as ProfileCredentials[P]}
}
