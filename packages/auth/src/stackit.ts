import {homedir} from 'node:os'
import {resolve} from 'node:path'

import type {AuthContext, ProfileAuthInput} from './flags.js'
import {credentialError, isRecord, parseJson, requireCredentialFile, type FileContext} from './files.js'
import {loadProfile} from './profiles.js'

/** The credentials block of a STACKIT service account key (the JSON the portal hands out). */
export interface StackitServiceAccountKey {
  kid: string
  iss: string
  sub: string
  aud: string
  /** PEM RSA private key: from the key file, or from private_key_path. */
  privateKey: string
  tokenEndpoint?: string | undefined
}

/** A STACKIT project and how to get an access token for it: a service account key (JWT flow) or a token. */
export interface StackitAuth {
  projectId: string
  region: string
  token?: string | undefined
  key?: StackitServiceAccountKey | undefined
}

function expand(path: string, home: string): string {
  return path.startsWith('~/') ? resolve(home || homedir(), path.slice(2)) : resolve(path)
}

/**
 * The STACKIT profile (~/.config/stackit.json, or the SDK's STACKIT_*
 * variables with STACKIT_PROJECT_ID): the service account key file is read
 * and checked here, its private key registered for redaction; a token is
 * used only when no key is given (the SDK's order).
 */
export async function stackitAuth(input: ProfileAuthInput, ctx: AuthContext): Promise<StackitAuth> {
  const resolved = await loadProfile('stackit', {...input, env: ctx.env, home: ctx.home, logger: ctx.logger, redactor: ctx.redactor})
  const c = resolved.credentials
  const where = {provider: 'stackit', file: resolved.file, profile: resolved.profile, logger: ctx.logger}
  const region = c.region ?? 'eu01'
  if (!c.service_account_key_path) {
    if (!c.service_account_token) throw credentialError(where, 'neither "service_account_key_path" nor "service_account_token" is set')
    return {projectId: c.project_id, region, token: c.service_account_token}
  }
  const keyCtx: FileContext = {provider: 'stackit', file: expand(c.service_account_key_path, ctx.home), logger: ctx.logger}
  const doc = parseJson(keyCtx, await requireCredentialFile(keyCtx, 'service_account_key_path names the service account key JSON'))
  const creds = isRecord(doc) && isRecord(doc.credentials) ? doc.credentials : undefined
  if (!creds) throw credentialError(keyCtx, 'not a service account key (no "credentials" object)')
  for (const f of ['kid', 'iss', 'sub', 'aud'])
    if (typeof creds[f] !== 'string' || !creds[f]) throw credentialError(keyCtx, `missing or empty field "credentials.${f}"`)
  let privateKey = typeof creds.privateKey === 'string' ? creds.privateKey : undefined
  if (privateKey) ctx.redactor.add(privateKey)
  if (!privateKey) {
    if (!c.private_key_path) throw credentialError(keyCtx, 'the key holds no private key: set "private_key_path"')
    const pkCtx: FileContext = {provider: 'stackit', file: expand(c.private_key_path, ctx.home), logger: ctx.logger}
    privateKey = await requireCredentialFile(pkCtx, 'private_key_path names the PEM private key')
    ctx.redactor.add(privateKey)
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) throw credentialError(keyCtx, 'the private key is not PEM')
  return {
    projectId: c.project_id,
    region,
    key: {
      kid: creds.kid as string,
      iss: creds.iss as string,
      sub: creds.sub as string,
      aud: creds.aud as string,
      privateKey,
      tokenEndpoint: typeof creds.tokenEndpoint === 'string' ? creds.tokenEndpoint : undefined,
    },
  }
}
