import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_GCE_FAMILY, FAKE_GCE_IMAGE, FAKE_GCE_PROJECT, FakeGce} from '../../testing/fake-cloud/gce.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's unchanged GCE platform against a fake Compute Engine
// (testing/fake-cloud/gce.ts): the real REST client sends real requests to it
// (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, gcloud's own override), after
// google-auth-library's JWT grant to the service-account key's token_uri (the
// fake checks its signature), and every instance is a real QEMU machine from
// the test image, configured by the `user-data` metadata kola sent, with SSH
// on port 22 of the natIP instances.get reports. The calls and shapes are
// those of flatcar/mantle platform/api/gcloud/compute.go (Instances.Insert
// with user-data and ssh-keys metadata, ZoneOperations.Get until DONE,
// Instances.Get for the addresses, Instances.GetSerialPortOutput,
// Instances.Delete) and platform/machine/gcloud/machine.go (console from the
// serial port, saved as console.txt, before the instance is deleted).
// --gce-gvnic: compute.go's NicType "GVNIC" (else "VIRTIO_NET") on the
// instance's network interface; the fake's image lists the guestOsFeatures
// platform/api/gcloud/image.go gives every image (VIRTIO_SCSI_MULTIQUEUE,
// UEFI_COMPATIBLE, GVNIC) and refuses a GVNIC insert of an image without it.
const image = testImage()
const ZONE = 'us-central1-a'

describe.skipIf(!image.available)('kola on GCE (fake Compute Engine, real machines)', () => {
  let fake: FakeGce
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeGce({machines: qemuMachines(join(dir, 'machines')), launchDelayMs: 200, runningDelayMs: 1000}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home holding a service-account key (the fake's, or one it does not know), Compute pointed at the fake. */
  async function env(name: string, key = fake.keyFile()): Promise<{env: NodeJS.ProcessEnv; key: string}> {
    const home = join(dir, name)
    await mkdir(home, {recursive: true})
    const keyPath = join(home, 'key.json')
    await writeFile(keyPath, key, {mode: 0o600})
    return {
      key: keyPath,
      env: kolaEnv(home, {
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${fake.url}/compute/v1/`,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `${fake.url}/v1/`,
      }),
    }
  }

  const kolaArgs = (out: string, key: string, ...rest: string[]) => [
    'run',
    '-p',
    'gcp',
    '--gce-json-key',
    key,
    '--gce-image',
    rest.includes('--gce-image') ? (rest.splice(rest.indexOf('--gce-image'), 2)[1] as string) : FAKE_GCE_IMAGE,
    '--gce-zone',
    ZONE,
    '--gce-machinetype',
    'e2-small',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake Compute Engine, when kola runs coreos.basic and coreos.ignition on gce, then both pass on real machines configured by their user-data, each console comes from getSerialPortOutput, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_gce_temp')
      const {env: e, key} = await env('e2e')
      // The alias, and an image family (images.getFromFamily resolves it to the image every machine boots).
      const args = kolaArgs(out, key, '--gce-image', `projects/${FAKE_GCE_PROJECT}/global/images/family/${FAKE_GCE_FAMILY}`)
      args[2] = 'gce'
      // The e2e run's machines come up behind gVNICs (what GCE gives the flag; the fake's machines boot the same).
      const r = await runCli('kola', [...args, '--gce-gvnic', '--parallel', '2', 'coreos.basic', 'coreos.ignition'], {env: e})

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({
        platform: 'gcp',
        results: {
          'coreos.basic': 'PASS',
          'coreos.ignition': 'PASS',
        },
      })
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        const [name] = readFileSync(join(m, 'instance.txt'), 'utf8').split(' ')
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(
          /^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0 127\.\d+\.\d+\.\d+:22\n$/,
        )
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        // The machine booted with the config kola wrote, received as the instance's user-data metadata
        const instance = fake.instances.get(name as string)
        const userData = instance?.metadata.find((i) => i.key === 'user-data')?.value
        expect(JSON.parse(userData as string)).toEqual(JSON.parse(readFileSync(join(m, 'ignition.json'), 'utf8')))
        expect(instance?.metadata.find((i) => i.key === 'ssh-keys')?.value).toMatch(/^core:ssh-ed25519 /)
        expect(instance?.sourceImage).toBe(`projects/${FAKE_GCE_PROJECT}/global/images/${FAKE_GCE_IMAGE}`)
      }
      const instances = [...fake.instances.values()]
      expect(instances).toHaveLength(2)
      for (const i of instances) {
        expect(i.labels).toEqual({'created-by': 'mantle', 'kola-run': expect.stringMatching(/^kola-[0-9a-f]{8}$/) as unknown})
        expect(i.machineType).toBe('e2-small')
        expect(i.nicType).toBe('GVNIC')
        expect(i.deleted).toBe(true)
      }
      expect(fake.calls).toContain('images.getFromFamily')
      expect(fake.calls.filter((c) => c === 'instances.getSerialPortOutput').length).toBeGreaterThanOrEqual(2)
      expect(fake.calls.filter((c) => c === 'instances.delete')).toHaveLength(2)
      expect(fake.live()).toEqual([])
    },
  )

  it('Given a key Google does not know, when kola runs on gcp, then one line, exit 2, and nothing but the token request was made', async () => {
    const before = fake.calls.length
    const {env: e, key} = await env('badcreds', fake.keyFile({wrongKey: true}))
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), key, 'coreos.basic'), {env: e})
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/gce: Google refused the credentials \(invalid_grant: Invalid JWT Signature\.\)/)
    expect(fake.calls.slice(before)).toEqual(['oauth2.token'])
  })

  it('Given an image the project lacks, when kola runs on gcp, then one line, exit 3, and no instance was inserted', async () => {
    const before = fake.calls.length
    const {env: e, key} = await env('badimage')
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), key, 'coreos.basic', '--gce-image', 'no-such-image'), {env: e})
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual([
      `kola: error: gce: image projects/${FAKE_GCE_PROJECT}/global/images/no-such-image does not exist (or the credentials may not read it)`,
    ])
    expect(fake.calls.slice(before)).toEqual(['oauth2.token', 'images.get'])
  })

  it('Given an exhausted instance quota, when kola runs on gcp, then exit 3 naming QUOTA_EXCEEDED, and no instance is left', async () => {
    const limited = await new FakeGce({machines: qemuMachines(join(dir, 'limited')), instanceLimit: 0}).start()
    try {
      const home = join(dir, 'quota')
      await mkdir(home, {recursive: true})
      await writeFile(join(home, 'key.json'), limited.keyFile(), {mode: 0o600})
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), join(home, 'key.json'), 'coreos.basic'), {
        env: kolaEnv(home, {CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${limited.url}/compute/v1/`}),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/QUOTA_EXCEEDED: Quota 'INSTANCES' exceeded\. {2}Limit: 0\.0 in region us-central1\./)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(limited.calls).toContain('instances.insert')
      // Without --gce-gvnic, compute.go's default NIC type.
      expect(limited.insertRequests.map((b) => (b.networkInterfaces as Array<{nicType?: string}>)[0]?.nicType)).toEqual(['VIRTIO_NET'])
      expect(limited.live()).toEqual([])
    } finally {
      await limited.stop()
    }
  })

  it('Given an image without the GVNIC guest OS feature, when kola runs on gcp with --gce-gvnic, then one line, exit 2, and no instance was inserted', async () => {
    // An image made without Flatcar's feature list (image.go), e.g. ore gcloud create-image --guest-os-feature UEFI_COMPATIBLE.
    const plain = await new FakeGce({machines: qemuMachines(join(dir, 'plain')), imageGuestOsFeatures: ['UEFI_COMPATIBLE']}).start()
    try {
      const home = join(dir, 'nogvnic')
      await mkdir(home, {recursive: true})
      await writeFile(join(home, 'key.json'), plain.keyFile(), {mode: 0o600})
      const r = await runCli('kola', [...kolaArgs(join(dir, '_nogvnic_temp'), join(home, 'key.json'), 'coreos.basic'), '--gce-gvnic'], {
        env: kolaEnv(home, {CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${plain.url}/compute/v1/`}),
      })
      expect(r.code).toBe(2)
      expect(errorLines(r.stderr)).toEqual([
        `kola: error: --gce-gvnic: image projects/${FAKE_GCE_PROJECT}/global/images/${FAKE_GCE_IMAGE} lacks the GVNIC guest OS feature (ore gcloud create-image --guest-os-feature GVNIC gives it)`,
      ])
      expect(plain.calls).toEqual(['oauth2.token', 'images.get'])
    } finally {
      await plain.stop()
    }
  })

  /** Starts kola run coreos.basic and resolves once the fake has inserted its instance. */
  async function startRun(name: string) {
    const {env: e, key} = await env(name)
    return startKolaRun(kolaArgs(join(dir, `_${name}_temp`), key, 'coreos.basic'), e, () => fake.instances.size)
  }

  it(
    'Given kola killed with SIGKILL mid-run, when ore gcloud gc runs, then it finds and deletes the instance the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left).toHaveLength(1)

      const {env: e, key} = await env('gc')
      const gc = await runCli('ore', ['gcloud', 'gc', '--json-key', key, '--duration', '0s', '--json'], {env: e})
      expect(gc.stderr).not.toMatch(/internal error/)
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {deleted: Array<{name: string; zone: string}>; deletedClusters: string[]}
      expect(result.deleted.map((i) => [i.name, i.zone])).toEqual([[left[0], ZONE]])
      expect(fake.live()).toEqual([])
    },
  )

  it('Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its instance', {timeout: 10 * 60_000}, async () => {
    const {child, exited} = await startRun('sigint')
    child.kill('SIGINT')
    const code = await exited
    expect(code).not.toBe(0)
    expect(fake.live()).toEqual([])
  })
})

describe('the gcp platform in kola', () => {
  it('Given the alias gce, when kola lists its tests and run shows its help, then the platform and its --gce-* flags are there', async () => {
    const {dir, cleanup} = await makeTempDir()
    try {
      const list = await runCli('kola', ['list', '-p', 'gce', '--json'], {env: kolaEnv(dir)})
      expect(list.code).toBe(0)
      expect((JSON.parse(list.stdout) as {tests: Array<{name: string}>}).tests.map((t) => t.name)).toContain('coreos.basic')
      const help = await runCli('kola', ['run', '--help'], {env: kolaEnv(dir)})
      expect(help.stdout).toMatch(/gcp \(gce\)/)
      for (const flag of ['--gce-image', '--gce-project', '--gce-zone', '--gce-machinetype', '--gce-json-key', '--gce-gvnic'])
        expect(help.stdout).toContain(flag)
    } finally {
      await cleanup()
    }
  })
})
