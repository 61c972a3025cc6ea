import {generateKeyPairSync} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {FAKE_OCI_IMAGE, FAKE_OCI_SUBNET, FakeOci} from '../../testing/fake-cloud/oci.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's OCI platform against a fake OCI control plane
// (testing/fake-cloud/oci.ts) that verifies every request's HTTP Signature
// with the profile's public key, and whose instances are real QEMU machines
// from the test image, configured by the base64 metadata.user_data kola sent
// (flatcar/mantle platform/api/oraclecloud/api.go CreateInstance), with SSH on
// port 22 of the public address of the primary VNIC (ListVnicAttachments,
// GetVnic), the console from a console history capture, and
// TerminateInstance with preserveBootVolume=false.
const image = testImage()
const TENANCY = 'ocid1.tenancy.oc1..kolatests'
const USER = 'ocid1.user.oc1..kolatests'
const FINGERPRINT = '12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0'
const COMPARTMENT = 'ocid1.compartment.oc1..kolatests'

describe.skipIf(!image.available)('kola on OCI (fake control plane, real machines)', () => {
  let fake: FakeOci
  let dir: string
  let cleanup: () => Promise<void>
  const key = generateKeyPairSync('rsa', {modulusLength: 2048})
  const stranger = generateKeyPairSync('rsa', {modulusLength: 2048})

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeOci({
      machines: qemuMachines(join(dir, 'machines')),
      publicKey: key.publicKey,
      keyId: `${TENANCY}/${USER}/${FINGERPRINT}`,
    }).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home with an OCI profile whose key file holds `privateKey`. */
  async function env(name: string, privateKey = key.privateKey): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    await writeFile(join(home, 'home', 'api.pem'), privateKey.export({type: 'pkcs1', format: 'pem'}), {mode: 0o600})
    const profile = {
      tenancy: TENANCY,
      user: USER,
      fingerprint: FINGERPRINT,
      region: 'eu-frankfurt-1',
      key_file: '~/api.pem',
      compartment: COMPARTMENT,
    }
    await writeFile(join(home, 'home', '.config', 'oci.json'), JSON.stringify({default: profile}), {mode: 0o600})
    return kolaEnv(home)
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'oci',
    '--oci-image',
    rest.includes('--oci-image') ? (rest.splice(rest.indexOf('--oci-image'), 2)[1] as string) : FAKE_OCI_IMAGE,
    '--oci-subnet',
    FAKE_OCI_SUBNET,
    '--oci-endpoint',
    fake.url,
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake OCI, when kola runs coreos.basic and coreos.ignition on oci, then both pass on real machines, each console comes from a console history, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_oci_temp')
      const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'oci', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(/^ocid1\.instance\.oc1\.fake\.[0-9a-f]{24} 127\.\d+\.\d+\.\d+:22\n$/)
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
      }
      const instances = [...fake.instances.values()]
      expect(instances).toHaveLength(2)
      for (const i of instances) {
        expect(i.freeformTags).toEqual({'created-by': 'mantle', 'managed-by': 'mantle'})
        expect(i.displayName).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(i.metadata.ssh_authorized_keys).toMatch(/^ssh-ed25519 |^ssh-rsa /)
        expect(i.lifecycleState).toBe('TERMINATED')
      }
      expect(fake.calls).toContain('POST /20160918/instanceConsoleHistories')
      expect(fake.live()).toEqual([])
    },
  )

  it('Given a key OCI does not know, when kola runs on oci, then one line, exit 2, and no instance was launched', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', stranger.privateKey)})
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('oci identity refused the credentials (401: NotAuthenticated')
    expect(fake.calls.slice(before)).toEqual([`GET /20160918/users/${USER}`])
  })

  it('Given an image the tenancy lacks, when kola runs on oci, then one line, exit 3, and no instance was launched', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic', '--oci-image', 'ocid1.image.oc1..gone'), {
      env: await env('badimage'),
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('kola: error: oci: image ocid1.image.oc1..gone does not exist in eu-frankfurt-1')
    expect(fake.calls.slice(before)).toEqual([`GET /20160918/users/${USER}`, 'GET /20160918/images/ocid1.image.oc1..gone'])
  })

  it('Given an exhausted service limit, when kola runs on oci, then exit 3 naming LimitExceeded, in one line, and nothing is left', async () => {
    const limited = await new FakeOci({
      machines: qemuMachines(join(dir, 'limited')),
      publicKey: key.publicKey,
      keyId: `${TENANCY}/${USER}/${FINGERPRINT}`,
      instanceLimit: 0,
    }).start()
    try {
      const args = kolaArgs(join(dir, '_quota_temp'), 'coreos.basic')
      args[args.indexOf('--oci-endpoint') + 1] = limited.url
      const r = await runCli('kola', args, {env: await env('quota')})
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/LimitExceeded: You have reached the service limit/)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(limited.creates()).toHaveLength(1)
      expect(limited.live()).toEqual([])
    } finally {
      await limited.stop()
    }
  })

  /** Starts kola run coreos.basic and resolves once the fake has launched its instance. */
  const startRun = async (name: string) =>
    startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic'), await env(name), () => fake.instances.size)

  it(
    'Given kola killed with SIGKILL mid-run, when ore oci gc runs, then it finds and terminates the instance the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left).toHaveLength(1)

      const gc = await runCli('ore', ['oci', 'gc', '--duration', '0s', '--oci-endpoint', fake.url, '--json'], {env: await env('gc')})
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {instances: string[]}
      expect(result.instances).toEqual(left)
      expect(fake.live()).toEqual([])
    },
  )

  it('Given kola interrupted with SIGINT mid-run, when it exits, then it has terminated its instance', {timeout: 10 * 60_000}, async () => {
    const {child, exited} = await startRun('sigint')
    child.kill('SIGINT')
    const code = await exited
    expect(code).not.toBe(0)
    expect(fake.live()).toEqual([])
  })
})
