import {join} from 'node:path'

import {UsageError, type Logger, type Redactor} from '@mantle/kit'

import {credentialError, isRecord, parseJson, readCredentialFile, requireCredentialFile, requireStrings, type FileContext} from './files.js'

export interface GceAuthOptions {
  /** Path to a service-account JSON key, or "none" for unauthenticated access (public buckets). */
  jsonKey?: string | undefined
  /** Use the GCE metadata server. */
  serviceAuth?: boolean | undefined
  env: NodeJS.ProcessEnv
  home: string
  logger: Logger
  redactor: Redactor
}

export type GceAuth =
  | {kind: 'none'; source: 'none'}
  | {kind: 'metadata'; source: 'metadata server'}
  | {
      kind: 'service-account'
      source: string
      clientEmail: string
      privateKey: string
      projectId: string | undefined
      /** The key's token_uri when it is not Google's own (Go's google.JWTConfigFromJSON honours it too). */
      tokenUri?: string | undefined
    }
  | {kind: 'authorized-user'; source: string; clientId: string; clientSecret: string; refreshToken: string; projectId: string | undefined}

/**
 * Resolves Google credentials once: `none`, the metadata server, a
 * service-account key (--json-key, GOOGLE_APPLICATION_CREDENTIALS), gcloud's
 * Application Default Credentials, then ~/.config/gcp.json.
 */
export async function resolveGce(options: GceAuthOptions): Promise<GceAuth> {
  const {env, home, logger, redactor} = options
  if (options.jsonKey === 'none') return {kind: 'none', source: 'none'}
  if (options.serviceAuth) return {kind: 'metadata', source: 'metadata server'}
  const explicit = options.jsonKey ?? env.GOOGLE_APPLICATION_CREDENTIALS
  if (explicit) {
    const ctx: FileContext = {provider: 'gce', file: explicit, logger}
    const hint = options.jsonKey ? 'check the path given to --json-key' : 'check GOOGLE_APPLICATION_CREDENTIALS'
    return parseKey(ctx, await requireCredentialFile(ctx, hint), redactor)
  }
  for (const file of [join(home, '.config', 'gcloud', 'application_default_credentials.json'), join(home, '.config', 'gcp.json')]) {
    const ctx: FileContext = {provider: 'gce', file, logger}
    const text = await readCredentialFile(ctx)
    if (text !== undefined) return parseKey(ctx, text, redactor)
  }
  throw new UsageError(
    'gce credentials: none found (tried --json-key, GOOGLE_APPLICATION_CREDENTIALS, gcloud application default credentials, ~/.config/gcp.json)',
    {
      hint: 'pass --json-key FILE, --service-auth on GCE, or --json-key none for public buckets',
    },
  )
}

/** The token endpoint every Google service-account key names in token_uri. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token'

function parseKey(ctx: FileContext, text: string, redactor: Redactor): GceAuth {
  const doc = parseJson(ctx, text)
  if (!isRecord(doc)) throw credentialError(ctx, 'expected a JSON object')
  for (const s of ['private_key', 'client_secret', 'refresh_token']) if (typeof doc[s] === 'string') redactor.add(doc[s])
  const projectId =
    typeof doc.project_id === 'string' ? doc.project_id : typeof doc.quota_project_id === 'string' ? doc.quota_project_id : undefined
  if (doc.type === 'service_account') {
    const f = requireStrings(ctx, doc, ['client_email', 'private_key'])
    if (!f.private_key.includes('PRIVATE KEY')) throw credentialError(ctx, 'field "private_key" is not a PEM private key')
    const tokenUri = typeof doc.token_uri === 'string' && doc.token_uri !== GOOGLE_TOKEN_URI ? doc.token_uri : undefined
    return {kind: 'service-account', source: ctx.file, clientEmail: f.client_email, privateKey: f.private_key, projectId, tokenUri}
  }
  if (doc.type === 'authorized_user') {
    const f = requireStrings(ctx, doc, ['client_id', 'client_secret', 'refresh_token'])
    return {
      kind: 'authorized-user',
      source: ctx.file,
      clientId: f.client_id,
      clientSecret: f.client_secret,
      refreshToken: f.refresh_token,
      projectId,
    }
  }
  throw credentialError(ctx, `unsupported key type ${JSON.stringify(doc.type ?? null)} (expected "service_account" or "authorized_user")`)
}

/** Options for Google's client libraries (@google-cloud/storage, @google-cloud/compute). */
export function googleClientOptions(auth: GceAuth): Record<string, unknown> {
  switch (auth.kind) {
    case 'none':
      return {}
    case 'metadata':
      return {}
    case 'service-account':
      return {
        credentials: {client_email: auth.clientEmail, private_key: auth.privateKey},
        ...(auth.projectId ? {projectId: auth.projectId} : {}),
      }
    case 'authorized-user':
      return {
        credentials: {
          type: 'authorized_user',
          client_id: auth.clientId,
          client_secret: auth.clientSecret,
          refresh_token: auth.refreshToken,
        },
        ...(auth.projectId ? {projectId: auth.projectId} : {}),
      }
  }
}
