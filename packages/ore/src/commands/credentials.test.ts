import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/**
 * Secrets from every fixture must never reach stdout or stderr, whatever the
 * flags: --debug and --json included, and on error paths.
 */
const SECRETS = {
  awsSecret: 'aws-SECRET-wJalrXUtnFEMIK7MDENG',
  awsToken: 'aws-TOKEN-FwoGZXIvYXdzEJr',
  awsFlagSecret: 'aws-FLAG-SECRET-9f8e7d6c5b4a',
  awsEnvSecret: 'aws-ENV-SECRET-1a2b3c4d5e6f',
  gcePrivateKeyLine: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretline',
  azurePassword: 'azure-PASSWORD-q8Q~abcdefgh',
  azureStorageKey: 'QXp1cml0ZVNlY3JldEtleUZvclRlc3Rz',
  doToken: 'do-TOKEN-dop_v1_abcdef123456',
  esxPassword: 'esx-PASSWORD-hunter2hunter2',
  openstackPassword: 'os-PASSWORD-s3cr3tpass',
  packetKey: 'packet-APIKEY-zyxwvutsrq',
  hetznerToken: 'hetzner-TOKEN-hcloud0123456789',
  scalewaySecret: 'scaleway-SECRET-0a1b2c3d4e5f',
  akamaiToken: 'akamai-TOKEN-linode9876543210',
  ociKey: 'oci-KEY-MIIEpAIBAAKCAQEAsecret',
  stackitToken: 'stackit-TOKEN-sa0123456789',
  brightboxSecret: 'brightbox-SECRET-cli0123456',
}

describe('ore credentials never prints a secret', () => {
  let home: string
  let cleanup: () => Promise<void>
  const outputs: string[] = []

  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    const cfg = join(home, '.config')
    await mkdir(join(home, '.aws'), {recursive: true})
    await mkdir(join(home, '.azure'), {recursive: true})
    await mkdir(cfg, {recursive: true})
    const write = (p: string, s: string) => writeFile(p, s, {mode: 0o600})
    await write(
      join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = AKIAFIXTURE\naws_secret_access_key = ${SECRETS.awsSecret}\naws_session_token = ${SECRETS.awsToken}\n`,
    )
    await write(
      join(cfg, 'gcp.json'),
      JSON.stringify({
        type: 'service_account',
        client_email: 'ci@p.iam',
        private_key: `-----BEGIN PRIVATE KEY-----\n${SECRETS.gcePrivateKeyLine}\n-----END PRIVATE KEY-----\n`,
      }),
    )
    await write(
      join(home, '.azure', 'azureCreds.json'),
      JSON.stringify({appId: 'app', password: SECRETS.azurePassword, subscription: 's', tenant: 't'}),
    )
    await write(join(cfg, 'digitalocean.json'), JSON.stringify({default: {token: SECRETS.doToken}}))
    await write(join(cfg, 'esx.json'), JSON.stringify({default: {server: 'esx', user: 'root', password: SECRETS.esxPassword}}))
    await write(
      join(cfg, 'openstack.json'),
      JSON.stringify({default: {auth_url: 'https://ks', username: 'u', password: SECRETS.openstackPassword}}),
    )
    await write(join(cfg, 'packet.json'), JSON.stringify({default: {api_key: SECRETS.packetKey, project: 'p'}}))
    await write(join(cfg, 'hetzner.json'), JSON.stringify({default: {token: SECRETS.hetznerToken}}))
    await write(
      join(cfg, 'scaleway.json'),
      JSON.stringify({default: {access_key: 'SCWX', secret_key: SECRETS.scalewaySecret, project_id: 'p'}}),
    )
    await write(join(cfg, 'akamai.json'), JSON.stringify({default: {token: SECRETS.akamaiToken}}))
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${SECRETS.ociKey}\n-----END RSA PRIVATE KEY-----`
    await write(
      join(cfg, 'oci.json'),
      JSON.stringify({
        default: {tenancy: 'ocid1.tenancy.oc1..t', user: 'ocid1.user.oc1..u', fingerprint: 'aa:bb', region: 'eu-frankfurt-1', key: pem},
      }),
    )
    await write(join(cfg, 'stackit.json'), JSON.stringify({default: {project_id: 'p', service_account_token: SECRETS.stackitToken}}))
    await write(join(cfg, 'brightbox.json'), JSON.stringify({default: {client_id: 'cli-aaaaa', client_secret: SECRETS.brightboxSecret}}))
    // Files whose content is broken after the secret: the parse error must not quote it.
    await write(join(home, 'broken-do.json'), `{"default": {"token": "${SECRETS.doToken}"`)
    await write(join(home, 'broken-aws'), `[default]\naws_secret_access_key = ${SECRETS.awsSecret}\n${SECRETS.awsToken}\n`)
  })
  afterAll(() => cleanup())

  const run = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const r = await runCli('ore', ['credentials', ...args], {env: isolatedEnv(home, extraEnv)})
    outputs.push(r.stdout, r.stderr)
    return r
  }

  it.each(['aws', 'gce', 'azure', 'do', 'esx', 'openstack', 'packet', 'hetzner', 'scaleway', 'akamai', 'oci', 'stackit', 'brightbox'])(
    '%s resolves with --debug --json and prints its source',
    async (provider) => {
      const r = await run([provider, '--debug', '--json'], {AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: SECRETS.azureStorageKey})
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({provider: provider === 'gce' ? 'gce' : provider})
      const human = await run([provider, '--debug'])
      expect(human.code).toBe(0)
      expect(human.stdout).toMatch(/^provider: /)
    },
  )

  it('aws static keys from flags and the environment', async () => {
    expect((await run(['aws', '--access-id', 'AKIAFLAG', '--secret-key', SECRETS.awsFlagSecret, '--debug', '--json'])).code).toBe(0)
    expect(
      (await run(['aws', '--debug', '--json'], {AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: SECRETS.awsEnvSecret})).code,
    ).toBe(0)
  })

  it('error paths: malformed files exit 2 with one line', async () => {
    const r1 = await run(['do', '--do-config-file', join(home, 'broken-do.json'), '--debug', '--json'])
    expect(r1.code).toBe(2)
    expect(r1.stderr).toMatch(/^ore: error: do credentials .*broken-do\.json \(profile "default"\): malformed JSON/)
    const r2 = await run(['aws', '--credentials-file', join(home, 'broken-aws'), '--debug'])
    expect(r2.code).toBe(2)
    expect(r2.stderr.trim().split('\n')).toHaveLength(1)
    const r3 = await run(['packet', '--packet-profile', 'missing'])
    expect(r3.code).toBe(2)
    expect(r3.stderr.trim()).toBe(
      `ore: error: packet credentials ${join(home, '.config', 'packet.json')} (profile "missing"): profile not found (profiles in file: default) (choose one with --packet-profile)`,
    )
  })

  it("hetzner, scaleway and akamai from the clouds' own variables name them as the source", async () => {
    const r = await run(['hetzner', '--json'], {HCLOUD_TOKEN: SECRETS.hetznerToken})
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({provider: 'hetzner', source: 'environment (HCLOUD_TOKEN)', profile: 'env'})
    const a = await run(['akamai', '--json', '--akamai-profile', 'default'], {LINODE_TOKEN: SECRETS.akamaiToken})
    expect(JSON.parse(a.stdout)).toMatchObject({provider: 'akamai', source: join(home, '.config', 'akamai.json')})
  })

  it('no secret appears anywhere in what was printed', () => {
    expect(outputs.length).toBeGreaterThan(20)
    const all = outputs.join('\n')
    for (const [name, secret] of Object.entries(SECRETS)) expect(all.includes(secret), `${name} leaked`).toBe(false)
  })
})
