import {join} from 'node:path'

import {UsageError, type Logger, type Redactor} from '@mantle/kit'

import {credentialError, isRecord, parseJson, readCredentialFile, requireCredentialFile, requireStrings, type FileContext} from './files.js'

export interface AzureAuthOptions {
  /** azureCreds.json: `{appId, password, subscription, tenant}`, or a map of such objects by profile. */
  credentialsFile?: string | undefined
  profile?: string | undefined
  /** Storage account access: a connection string, or an account name and key. */
  connectionString?: string | undefined
  storageAccount?: string | undefined
  storageKey?: string | undefined
  env: NodeJS.ProcessEnv
  home: string
  logger: Logger
  redactor: Redactor
}

export interface AzureServicePrincipal {
  tenantId: string
  clientId: string
  clientSecret: string
  subscriptionId: string | undefined
}

export interface AzureAuth {
  /** A service principal from a file or the environment; undefined means DefaultAzureCredential. */
  principal: AzureServicePrincipal | undefined
  subscriptionId: string | undefined
  /** AZURE_CLOUD, e.g. AzurePublicCloud. */
  cloud: string | undefined
  source: string
  storage: {connectionString?: string; accountName?: string; accountKey?: string} | undefined
  /** Azure AD authority (an SDK auth file's activeDirectoryEndpointUrl): sovereign clouds, Azure Stack, tests. */
  authorityHost?: string | undefined
  /** Resource Manager endpoint (an SDK auth file's resourceManagerEndpointUrl). */
  armEndpoint?: string | undefined
  /** The audience of ARM tokens in that cloud (an SDK auth file's managementEndpointUrl). */
  armAudience?: string | undefined
}

/**
 * Resolves Azure credentials once: an azureCreds.json (flag, AZURE_CREDENTIALS,
 * ~/.azure/azureCreds.json), else the service-principal environment variables,
 * else DefaultAzureCredential (CLI login, managed identity). Storage accounts
 * also by connection string or account key.
 */
export async function resolveAzure(options: AzureAuthOptions): Promise<AzureAuth> {
  const {env, home, logger, redactor} = options
  const storage = resolveStorage(options)
  const cloud = env.AZURE_CLOUD
  const explicit = options.credentialsFile ?? env.AZURE_CREDENTIALS
  const file = explicit ?? join(home, '.azure', 'azureCreds.json')
  const ctx: FileContext = {provider: 'azure', file, profile: options.profile, logger}
  const text = explicit ? await requireCredentialFile(ctx, 'check the path given to --azure-credentials') : await readCredentialFile(ctx)
  if (text !== undefined) {
    const {principal, authorityHost, armEndpoint, armAudience} = parseCredsFile(ctx, text, options.profile, redactor)
    return {
      principal,
      subscriptionId: env.AZURE_SUBSCRIPTION_ID ?? principal.subscriptionId,
      cloud,
      source: file,
      storage,
      authorityHost,
      armEndpoint,
      armAudience,
    }
  }
  if (options.profile) throw credentialError(ctx, 'file not found', 'an --azure-profile needs an azureCreds.json')
  if (env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID && env.AZURE_CLIENT_SECRET) {
    redactor.add(env.AZURE_CLIENT_SECRET)
    const principal = {
      tenantId: env.AZURE_TENANT_ID,
      clientId: env.AZURE_CLIENT_ID,
      clientSecret: env.AZURE_CLIENT_SECRET,
      subscriptionId: env.AZURE_SUBSCRIPTION_ID,
    }
    return {principal, subscriptionId: env.AZURE_SUBSCRIPTION_ID, cloud, source: 'environment', storage}
  }
  return {principal: undefined, subscriptionId: env.AZURE_SUBSCRIPTION_ID, cloud, source: 'DefaultAzureCredential', storage}
}

/**
 * An azureCreds.json principal (`{appId, password, tenant, subscription}`, or
 * a map of them by profile), or an SDK auth file (`az ad sp
 * create-for-rbac --sdk-auth`: `{clientId, clientSecret, tenantId,
 * subscriptionId, activeDirectoryEndpointUrl, resourceManagerEndpointUrl}`,
 * what mantle's --azure-auth read), whose endpoints name the cloud.
 */
function parseCredsFile(
  ctx: FileContext,
  text: string,
  profile: string | undefined,
  redactor: Redactor,
): {
  principal: AzureServicePrincipal
  authorityHost?: string | undefined
  armEndpoint?: string | undefined
  armAudience?: string | undefined
} {
  const doc = parseJson(ctx, text)
  if (!isRecord(doc)) throw credentialError(ctx, 'expected a JSON object')
  if ('clientId' in doc) {
    if (profile && profile !== 'default') throw credentialError(ctx, 'profile not found (an SDK auth file holds a single principal)')
    if (typeof doc.clientSecret === 'string') redactor.add(doc.clientSecret)
    const f = requireStrings(ctx, doc, ['clientId', 'clientSecret', 'tenantId'])
    const url = (key: string): string | undefined => {
      const value = doc[key]
      if (value === undefined) return undefined
      if (typeof value !== 'string' || !/^https:\/\/[^/]/.test(value)) throw credentialError(ctx, `${key} is not an https URL`)
      return value.replace(/\/+$/, '')
    }
    return {
      principal: {
        tenantId: f.tenantId,
        clientId: f.clientId,
        clientSecret: f.clientSecret,
        subscriptionId: typeof doc.subscriptionId === 'string' ? doc.subscriptionId : undefined,
      },
      authorityHost: url('activeDirectoryEndpointUrl'),
      armEndpoint: url('resourceManagerEndpointUrl'),
      armAudience: url('managementEndpointUrl'),
    }
  }
  let entry: unknown = doc
  // A single principal, or a map of principals by profile name.
  if (!('appId' in doc)) {
    const name = profile ?? 'default'
    entry = doc[name]
    if (entry === undefined) {
      throw credentialError(
        {...ctx, profile: name},
        `profile not found (profiles in file: ${Object.keys(doc).join(', ') || 'none'})`,
        'choose one with --azure-profile',
      )
    }
    ctx = {...ctx, profile: name}
  } else if (profile && profile !== 'default') {
    throw credentialError(ctx, 'profile not found (the file holds a single principal, not profiles)')
  }
  if (!isRecord(entry)) throw credentialError(ctx, 'profile is not a JSON object')
  if (typeof entry.password === 'string') redactor.add(entry.password)
  const f = requireStrings(ctx, entry, ['appId', 'password', 'tenant'])
  const subscriptionId = typeof entry.subscription === 'string' ? entry.subscription : undefined
  return {principal: {tenantId: f.tenant, clientId: f.appId, clientSecret: f.password, subscriptionId}}
}

function resolveStorage(options: AzureAuthOptions): AzureAuth['storage'] {
  const {env, redactor} = options
  const connectionString = options.connectionString ?? env.AZURE_STORAGE_CONNECTION_STRING
  if (connectionString) {
    if (!/AccountName=|SharedAccessSignature=|UseDevelopmentStorage=/i.test(connectionString)) {
      throw new UsageError('azure storage: the connection string has no AccountName, SharedAccessSignature or UseDevelopmentStorage part')
    }
    redactor.add(connectionString)
    const key = /AccountKey=([^;]+)/i.exec(connectionString)?.[1]
    redactor.add(key)
    const sig = /SharedAccessSignature=([^;]+)/i.exec(connectionString)?.[1]
    redactor.add(sig)
    return {connectionString}
  }
  const accountName = options.storageAccount ?? env.AZURE_STORAGE_ACCOUNT
  const accountKey = options.storageKey ?? env.AZURE_STORAGE_KEY ?? env.AZURE_STORAGE_ACCESS_KEY
  if (accountKey) redactor.add(accountKey)
  if (accountName && accountKey) return {accountName, accountKey}
  if (accountKey && !accountName) throw new UsageError('azure storage: an account key needs --azure-storage-account')
  return undefined
}

const MICROSOFT_AUTHORITY_HOSTS = /^https:\/\/login\.(microsoftonline\.(com|us)|chinacloudapi\.cn|microsoft\.com)(\/|$)/

/** A TokenCredential for Azure's ARM clients; imports @azure/identity only when called. */
export async function azureTokenCredential(auth: AzureAuth): Promise<import('@azure/identity').TokenCredential> {
  const identity = await import('@azure/identity')
  // Instance discovery asks login.microsoftonline.com about the authority: only for Microsoft's own hosts.
  const options = auth.authorityHost
    ? {authorityHost: auth.authorityHost, disableInstanceDiscovery: !MICROSOFT_AUTHORITY_HOSTS.test(auth.authorityHost)}
    : {}
  if (auth.principal)
    return new identity.ClientSecretCredential(auth.principal.tenantId, auth.principal.clientId, auth.principal.clientSecret, options)
  return new identity.DefaultAzureCredential(options)
}
