import {chmod, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, UsageError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {loadProfile, PROFILE_PROVIDERS, type ProfileProvider} from './profiles.js'

const FIXTURES: {[P in ProfileProvider]: Record<string, Record<string, string>>} = {
  do: {default: {token: 'do-token-default-0001'}, staging: {token: 'do-token-staging-0002'}},
  esx: {
    default: {server: 'esx1.lan', user: 'root', password: 'esx-pass-default'},
    staging: {server: 'esx2.lan', user: 'ci', password: 'esx-pass-staging'},
  },
  openstack: {
    default: {auth_url: 'https://keystone:5000/v3', username: 'os', password: 'os-pass-default', tenant_name: 't', region_name: 'r1'},
    staging: {auth_url: 'https://keystone2:5000/v3', username: 'os2', password: 'os-pass-staging'},
  },
  packet: {default: {api_key: 'packet-key-default', project: 'p-1'}, staging: {api_key: 'packet-key-staging', project: 'p-2'}},
  hetzner: {default: {token: 'hcloud-token-default-0001'}, staging: {token: 'hcloud-token-staging-0002'}},
  scaleway: {
    default: {access_key: 'SCWAAAAAAAAAAAAAAAA1', secret_key: 'scw-secret-default-0001', project_id: 'p-1'},
    staging: {access_key: 'SCWAAAAAAAAAAAAAAAA2', secret_key: 'scw-secret-staging-0002', project_id: 'p-2', organization_id: 'o-2'},
  },
  akamai: {default: {token: 'linode-token-default-0001'}, staging: {token: 'linode-token-staging-0002'}},
  brightbox: {
    default: {client_id: 'cli-aaaaa', client_secret: 'bb-secret-default-0001'},
    staging: {client_id: 'cli-bbbbb', client_secret: 'bb-secret-staging-0002', api_url: 'https://api.gb1s.brightbox.com'},
  },
  stackit: {
    default: {project_id: 'p-1', service_account_token: 'stackit-token-default-0001', region: 'eu01'},
    staging: {project_id: 'p-2', service_account_token: 'stackit-token-staging-0002', service_account_key_path: '/sa.json'},
  },
  oci: {
    default: {
      tenancy: 'ocid1.tenancy.oc1..t',
      user: 'ocid1.user.oc1..u',
      fingerprint: 'aa:bb',
      region: 'eu-frankfurt-1',
      key: 'oci-key-default-0001',
    },
    staging: {
      tenancy: 'ocid1.tenancy.oc1..t2',
      user: 'ocid1.user.oc1..u2',
      fingerprint: 'cc:dd',
      region: 'us-ashburn-1',
      key_file: '/k.pem',
    },
  },
}

describe.each(Object.keys(PROFILE_PROVIDERS) as ProfileProvider[])('loadProfile(%s)', (provider) => {
  let home: string
  let cleanup: () => Promise<void>
  let file: string
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    file = join(home, 'creds.json')
    await writeFile(file, JSON.stringify(FIXTURES[provider]), {mode: 0o600})
  })
  afterEach(() => cleanup())
  const load = (opts: {file?: string; profile?: string} = {}) => {
    const cap = captureLogger()
    return {cap, result: loadProfile(provider, {file, home, logger: cap.logger, redactor: cap.redactor, ...opts})}
  }

  it('resolves the default profile', async () => {
    const r = await load().result
    expect(r).toMatchObject({provider, file, profile: 'default'})
    expect(r.credentials).toEqual(FIXTURES[provider].default)
  })

  it('resolves a named profile', async () => {
    expect((await load({profile: 'staging'}).result).credentials).toEqual(FIXTURES[provider].staging)
  })

  it('reads the default path under the home directory', async () => {
    const defaultPath = join(home, PROFILE_PROVIDERS[provider].file)
    const {mkdir} = await import('node:fs/promises')
    await mkdir(join(defaultPath, '..'), {recursive: true})
    await writeFile(defaultPath, JSON.stringify(FIXTURES[provider]), {mode: 0o600})
    const cap = captureLogger()
    expect((await loadProfile(provider, {home, logger: cap.logger, redactor: cap.redactor})).file).toBe(defaultPath)
  })

  it('a missing file names file and profile, exit 2', async () => {
    const missing = join(home, 'none.json')
    const error = await load({file: missing}).result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`${provider} credentials ${missing} (profile "default"): file not found`)
  })

  it('a missing profile names file and profile, exit 2', async () => {
    await expect(load({profile: 'prod'}).result).rejects.toThrow(
      `${provider} credentials ${file} (profile "prod"): profile not found (profiles in file: default, staging)`,
    )
  })

  it('a malformed file names file and problem, exit 2', async () => {
    await writeFile(file, '{"default": {', {mode: 0o600})
    await expect(load().result).rejects.toThrow(new RegExp(`^${provider} credentials ${file} \\(profile "default"\\): malformed JSON`))
    await writeFile(file, JSON.stringify({default: {}}), {mode: 0o600})
    await expect(load().result).rejects.toThrow(`missing or empty field "${PROFILE_PROVIDERS[provider].required[0]}"`)
  })

  it('warns when the file is readable by group or others', async () => {
    await chmod(file, 0o640)
    const {cap, result} = load()
    await result
    expect(cap.lines.join('')).toContain(`${file} is readable by group or others`)
  })

  it('registers the secrets for redaction', async () => {
    const {cap, result} = load()
    const r = await result
    const secret = PROFILE_PROVIDERS[provider].secrets[0] as string
    const value = (r.credentials as unknown as Record<string, string>)[secret]!
    expect(cap.redactor.redact(`leak ${value}`)).toBe('leak ***')
  })
})

describe("the clouds' own environment variables (hetzner, scaleway, akamai)", () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
  })
  afterEach(() => cleanup())
  const load = (provider: ProfileProvider, env: NodeJS.ProcessEnv, opts: {file?: string; profile?: string} = {}) => {
    const cap = captureLogger()
    return {cap, result: loadProfile(provider, {home, logger: cap.logger, redactor: cap.redactor, env, ...opts})}
  }

  it('Given HCLOUD_TOKEN and no file, when hetzner credentials resolve, then they come from the environment, redacted', async () => {
    const {cap, result} = load('hetzner', {HCLOUD_TOKEN: 'hcloud-env-token-0001'})
    const r = await result
    expect(r).toEqual({
      provider: 'hetzner',
      file: 'environment (HCLOUD_TOKEN)',
      profile: 'env',
      credentials: {token: 'hcloud-env-token-0001'},
    })
    expect(cap.redactor.redact('x hcloud-env-token-0001')).toBe('x ***')
  })

  it("Given Scaleway's SCW_* variables, when scaleway credentials resolve, then all four fields are taken", async () => {
    const r = await load('scaleway', {
      SCW_ACCESS_KEY: 'SCWENV00000000000001',
      SCW_SECRET_KEY: 'scw-env-secret-0001',
      SCW_DEFAULT_PROJECT_ID: 'proj-env',
      SCW_DEFAULT_ORGANIZATION_ID: 'org-env',
    }).result
    expect(r.credentials).toEqual({
      access_key: 'SCWENV00000000000001',
      secret_key: 'scw-env-secret-0001',
      project_id: 'proj-env',
      organization_id: 'org-env',
    })
  })

  it("Given Brightbox's BRIGHTBOX_CLIENT and BRIGHTBOX_CLIENT_SECRET, when brightbox credentials resolve, then they are used, the secret redacted", async () => {
    const {cap, result} = load('brightbox', {BRIGHTBOX_CLIENT: 'cli-env01', BRIGHTBOX_CLIENT_SECRET: 'bb-env-secret-0001'})
    expect((await result).credentials).toEqual({client_id: 'cli-env01', client_secret: 'bb-env-secret-0001'})
    expect(cap.redactor.redact('x bb-env-secret-0001')).toBe('x ***')
  })

  it('Given LINODE_TOKEN but an explicit --akamai-config-file, when akamai credentials resolve, then the file wins', async () => {
    const file = join(home, 'akamai.json')
    await writeFile(file, JSON.stringify({default: {token: 'linode-file-token-0001'}}), {mode: 0o600})
    const r = await load('akamai', {LINODE_TOKEN: 'linode-env-token-0001'}, {file}).result
    expect(r.credentials).toEqual({token: 'linode-file-token-0001'})
  })

  it('Given only part of the Scaleway variables, when credentials resolve, then the default file is read (and its absence is exit 2)', async () => {
    const error = await load('scaleway', {SCW_SECRET_KEY: 'scw-env-secret-0001'}).result.catch((e: unknown) => e)
    expect((error as UsageError).exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      `scaleway credentials ${join(home, '.config', 'scaleway.json')} (profile "default"): file not found`,
    )
  })
})
