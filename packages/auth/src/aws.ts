import {join} from 'node:path'

import {UsageError, type Logger, type Redactor} from '@mantle/kit'

import {credentialError, readCredentialFile, requireCredentialFile, type FileContext} from './files.js'

export interface AwsStaticCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

/** What the AWS SDK clients take: static keys or a provider function. */
export type AwsCredentialSource = AwsStaticCredentials | (() => Promise<AwsStaticCredentials>)

export interface AwsAuthOptions {
  profile?: string | undefined
  credentialsFile?: string | undefined
  configFile?: string | undefined
  accessKeyId?: string | undefined
  secretAccessKey?: string | undefined
  region?: string | undefined
  env: NodeJS.ProcessEnv
  home: string
  logger: Logger
  redactor: Redactor
}

export interface AwsAuth {
  credentials: AwsCredentialSource
  region: string | undefined
  profile: string
  /** Where the credentials came from: "flags", "environment", a file path, or "sdk default chain". */
  source: string
  /** The access key id (not a secret), when known up front. */
  accessKeyId?: string | undefined
}

type Ini = Map<string, Map<string, string>>

/** Parses the INI dialect of ~/.aws/credentials and ~/.aws/config. */
export function parseIni(ctx: FileContext, text: string): Ini {
  const sections: Ini = new Map()
  let current: Map<string, string> | undefined
  const lines = text.split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[([^\]]+)\]$/.exec(line)
    if (header) {
      current = new Map()
      sections.set(header[1]!.trim(), current)
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0 || current === undefined) {
      throw credentialError({...ctx, profile: undefined}, `malformed INI at line ${i + 1} (expected [section] or key = value)`)
    }
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return sections
}

/**
 * Resolves AWS credentials once: static flags, then the environment, then the
 * shared credentials/config files for the chosen profile, then the SDK's own
 * default chain (SSO, process, instance metadata).
 */
export async function resolveAws(options: AwsAuthOptions): Promise<AwsAuth> {
  const {env, home, logger, redactor} = options
  const explicitProfile = options.profile ?? env.AWS_PROFILE
  const profile = explicitProfile ?? 'default'
  const configFile = options.configFile ?? env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config')
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION

  if (options.accessKeyId !== undefined || options.secretAccessKey !== undefined) {
    if (!options.accessKeyId || !options.secretAccessKey)
      throw new UsageError('aws credentials: --access-id and --secret-key must be given together')
    redactor.add(options.secretAccessKey)
    return {
      credentials: {accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey},
      region,
      profile,
      source: 'flags',
      accessKeyId: options.accessKeyId,
    }
  }
  if (!options.credentialsFile && !options.profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    redactor.add(env.AWS_SECRET_ACCESS_KEY)
    redactor.add(env.AWS_SESSION_TOKEN)
    const credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    }
    return {credentials, region, profile, source: 'environment', accessKeyId: env.AWS_ACCESS_KEY_ID}
  }

  const credentialsFile = options.credentialsFile ?? env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials')
  const credCtx: FileContext = {provider: 'aws', file: credentialsFile, profile, logger}
  const credText = options.credentialsFile
    ? await requireCredentialFile(credCtx, 'check the path given to --credentials-file')
    : await readCredentialFile(credCtx)
  const configCtx: FileContext = {provider: 'aws', file: configFile, profile, logger}
  const configText = await readCredentialFile(configCtx)
  const creds = credText === undefined ? undefined : parseIni(credCtx, credText)
  const config = configText === undefined ? undefined : parseIni(configCtx, configText)
  const credSection = creds?.get(profile)
  const configSection = config?.get(profile === 'default' ? 'default' : `profile ${profile}`)
  const fileRegion = region ?? configSection?.get('region') ?? credSection?.get('region')

  if (credSection) {
    const accessKeyId = credSection.get('aws_access_key_id')
    const secretAccessKey = credSection.get('aws_secret_access_key')
    const sessionToken = credSection.get('aws_session_token')
    redactor.add(secretAccessKey)
    redactor.add(sessionToken)
    if (accessKeyId && secretAccessKey) {
      return {credentials: {accessKeyId, secretAccessKey, sessionToken}, region: fileRegion, profile, source: credentialsFile, accessKeyId}
    }
    if (accessKeyId || secretAccessKey) {
      throw credentialError(
        credCtx,
        `needs both aws_access_key_id and aws_secret_access_key (found only ${accessKeyId ? 'aws_access_key_id' : 'aws_secret_access_key'})`,
      )
    }
  }
  if (!credSection && !configSection && (explicitProfile !== undefined || options.credentialsFile)) {
    const known = [...(creds?.keys() ?? [])].join(', ') || 'none'
    throw credentialError(credCtx, `profile not found (profiles in file: ${known})`, 'choose one with --profile')
  }
  // Roles, SSO, credential_process and instance metadata: the SDK's own chain.
  const {fromNodeProviderChain} = await import('@aws-sdk/credential-providers')
  const provider = fromNodeProviderChain({profile, filepath: credentialsFile, configFilepath: configFile})
  const credentials = async (): Promise<AwsStaticCredentials> => {
    const c = await provider()
    redactor.add(c.secretAccessKey)
    redactor.add(c.sessionToken)
    return c
  }
  return {credentials, region: fileRegion, profile, source: 'sdk default chain'}
}
