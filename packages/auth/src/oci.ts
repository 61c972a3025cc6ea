import {homedir} from 'node:os'
import {resolve} from 'node:path'

import type {AuthContext, ProfileAuthInput} from './flags.js'
import {credentialError, requireCredentialFile} from './files.js'
import {loadProfile} from './profiles.js'

/** What the OCI API module signs with: the profile, the PEM key read from key_file. */
export interface OciAuth {
  tenancy: string
  user: string
  fingerprint: string
  region: string
  key: string
  pass_phrase?: string | undefined
  compartment?: string | undefined
}

/**
 * The OCI profile (~/.config/oci.json, or the OCI CLI's OCI_CLI_* variables)
 * with its private key read: key_file ("~/" meaning the home directory) or
 * the key's content itself. A missing key is one line naming the file.
 */
export async function ociAuth(input: ProfileAuthInput, ctx: AuthContext): Promise<OciAuth> {
  const resolved = await loadProfile('oci', {...input, env: ctx.env, home: ctx.home, logger: ctx.logger, redactor: ctx.redactor})
  const c = resolved.credentials
  const where = {provider: 'oci', file: resolved.file, profile: resolved.profile, logger: ctx.logger}
  let key = c.key
  if (!key) {
    if (!c.key_file) throw credentialError(where, 'neither "key_file" nor "key" is set')
    const file = c.key_file.startsWith('~/') ? resolve(ctx.home || homedir(), c.key_file.slice(2)) : resolve(c.key_file)
    key = await requireCredentialFile({provider: 'oci', file, logger: ctx.logger}, 'key_file of the OCI profile names the API signing key')
    ctx.redactor.add(key)
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw credentialError(where, 'the API signing key is not a PEM private key')
  return {
    tenancy: c.tenancy,
    user: c.user,
    fingerprint: c.fingerprint,
    region: c.region,
    key,
    pass_phrase: c.pass_phrase,
    compartment: c.compartment,
  }
}
