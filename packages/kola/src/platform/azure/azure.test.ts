import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {FAKE_BLOB_URL, FAKE_IMAGE_ID, FAKE_SUBSCRIPTION, FakeAzure} from '../../testing/fake-cloud/azure.js'
import {qemuMachines, stubMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults, useFakeCloud} from '../../testing/fake-cloud/runs.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's unchanged Azure platform against a fake Azure AD + Resource Manager
// (testing/fake-cloud/azure.ts, HTTPS with a certificate the child trusts):
// the real @azure/identity gets a token from it and the real @azure/arm-*
// clients send their requests to it, as an SDK auth file's
// activeDirectoryEndpointUrl and resourceManagerEndpointUrl say (the file
// mantle's --azure-auth read). The calls and shapes are those of
// flatcar/mantle platform/api/azure (groups.go: a tagged resource group,
// network.go: VNet, subnet, public IP, NIC; instance.go: the VM with boot
// diagnostics, the SSH key in linuxConfiguration, retrieveBootDiagnosticsData
// for the serial console log, delete with forceDeletion) and of the ARM REST
// reference for their long-running operations. Every VM is a real QEMU
// machine from the test image, configured by the customData kola sent.

/** An isolated home whose ~/.azure/azureCreds.json is the fake's SDK auth file (or one with another secret). */
async function azureEnv(fake: FakeAzure, dir: string, name: string, secret?: string): Promise<NodeJS.ProcessEnv> {
  const home = join(dir, name)
  await mkdir(join(home, 'home', '.azure'), {recursive: true})
  await writeFile(join(home, 'home', '.azure', 'azureCreds.json'), fake.authFile(secret), {mode: 0o600})
  return kolaEnv(home, {NODE_EXTRA_CA_CERTS: fake.caFile})
}

/** kola run on azure; the image is FAKE_IMAGE_ID unless `rest` names one (--azure-disk-uri or --azure-blob-url). */
const kolaArgs = (out: string, ...rest: string[]) => [
  'run',
  '-p',
  'azure',
  ...(rest.some((a) => a === '--azure-disk-uri' || a === '--azure-blob-url') ? [] : ['--azure-disk-uri', FAKE_IMAGE_ID]),
  '--azure-location',
  'westeurope',
  '--azure-size',
  'Standard_DS2_v2',
  '--ssh-timeout',
  '900',
  '--timeout',
  '1800',
  '--output-dir',
  out,
  ...rest,
]

const NOTHING_LEFT = {resourceGroups: [], vms: [], nics: [], publicIps: [], other: [], machines: 0}

describe('kola on Azure, refused before a machine boots (fake ARM)', () => {
  // No machine boots here: SSH stubs stand in, and the quota lets none start.
  const cloud = useFakeCloud((dir) => new FakeAzure({machines: stubMachines(), dir, coreLimit: 0}).start())

  it('Given a client secret Azure AD rejects, when kola runs on azure, then one line, exit 2, and no ARM request was made', async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {
      env: await azureEnv(fake, dir, 'badcreds', 'not-the-secret'),
    })
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/Azure refused the credentials/)
    expect(errors[0]).toContain('AADSTS7000215')
    expect(r.stderr).not.toContain('not-the-secret')
    expect(fake.calls.slice(before).filter((c) => c !== 'token')).toEqual([])
    expect(fake.live()).toEqual(NOTHING_LEFT)
  })

  it('Given an image id the subscription lacks, when kola runs on azure, then one line, exit 3, and nothing was created', async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const before = fake.calls.length
    const missing = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Compute/images/no-such-image`
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic', '--azure-disk-uri', missing), {
      env: await azureEnv(fake, dir, 'badimage'),
    })
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual([`kola: error: azure: image ${missing} does not exist in westeurope`])
    expect(fake.calls.slice(before).filter((c) => c !== 'token')).toEqual(['GET images'])
    expect(fake.live()).toEqual(NOTHING_LEFT)
  })

  it("Given an exhausted cores quota, when kola runs on azure, then exit 3 naming OperationNotAllowed, and the run's resource group is deleted", async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
      env: await azureEnv(fake, dir, 'quota'),
    })
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(
      /OperationNotAllowed: Operation could not be completed as it results in exceeding approved Total Regional Cores quota/,
    )
    const calls = fake.calls.slice(before)
    expect(calls).toContain('PUT resourceGroups')
    expect(calls).toContain('PUT virtualMachines')
    expect(calls).toContain('DELETE resourceGroups')
    expect(fake.live()).toEqual(NOTHING_LEFT)
  })

  it("Given a blob URL the subscription cannot read, when kola runs on azure, then exit 3 naming the blob, and the run's resource group is deleted", async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const before = fake.calls.length
    const blob = 'https://elsewhere.blob.core.windows.net/vhds/nope.vhd?sv=2022-11-02&sig=secretsig0123456789'
    const r = await runCli('kola', kolaArgs(join(dir, '_badblob_temp'), 'coreos.basic', '--azure-blob-url', blob), {
      env: await azureEnv(fake, dir, 'badblob'),
    })
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(
      /InvalidParameter: Source blob https:\/\/elsewhere\.blob\.core\.windows\.net\/vhds\/nope\.vhd\?\S* does not exist/,
    )
    expect(r.stderr).not.toContain('secretsig0123456789')
    const calls = fake.calls.slice(before).filter((c) => c !== 'token')
    expect(calls).toContain('PUT images')
    expect(calls).not.toContain('PUT virtualMachines')
    expect(calls).toContain('DELETE resourceGroups')
    expect(fake.live()).toEqual(NOTHING_LEFT)
  })
})

const image = testImage()

describe.skipIf(!image.available)('kola on Azure (fake ARM, real machines)', () => {
  const cloud = useFakeCloud((dir) => new FakeAzure({machines: qemuMachines(join(dir, 'machines')), dir, runningDelayMs: 1000}).start())

  it(
    'Given the fake ARM and --azure-use-private-ips, when kola runs coreos.basic and coreos.ignition on azure, then both pass on real machines configured by customData, reached at their private addresses, each console comes from boot diagnostics, and the resource group is gone',
    {timeout: 45 * 60_000},
    async () => {
      const [fake, dir] = [cloud.fake(), cloud.dir()]
      const out = join(dir, '_azure_temp')
      // Private IPs: no public IP is made, and the fake reports the machine's address as the NIC's private one.
      const r = await runCli('kola', kolaArgs(out, '--parallel', '2', '--azure-use-private-ips', 'coreos.basic', 'coreos.ignition'), {
        env: await azureEnv(fake, dir, 'e2e'),
      })

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'azure', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(
          /^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0 127\.\d+\.\d+\.\d+:22\n$/,
        )
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
      }
      // One VM per test, in the run's resource group, tagged with the gc marker and the run id; each
      // booted with the Ignition config kola wrote as its customData.
      const vms = [...fake.vms.values()]
      expect(vms).toHaveLength(2)
      for (const vm of vms) {
        expect(vm.tags['created-by']).toBe('mantle')
        expect(vm.tags['kola-run']).toMatch(/^kola-[0-9a-f]{8}$/)
        expect(vm.resourceGroup).toBe(`kola-cluster-${vm.tags['kola-run']?.replace(/^kola-/, '')}`)
        expect(JSON.parse(vm.customData)).toHaveProperty('ignition.version')
        expect(JSON.stringify(JSON.parse(vm.customData))).toContain('ssh-ed25519')
      }
      expect(fake.calls.filter((c) => c.includes('publicIPAddresses'))).toEqual([])
      expect(fake.calls).toContain('POST virtualMachines/retrieveBootDiagnosticsData')
      expect(fake.calls).toContain('DELETE resourceGroups')
      expect(fake.live()).toEqual(NOTHING_LEFT)
    },
  )

  /** Starts kola run coreos.basic and resolves once the fake has been asked for its VM. */
  const startRun = async (name: string, ...args: string[]) => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    return startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic', ...args), await azureEnv(fake, dir, name), () => fake.vms.size)
  }

  it(
    'Given kola killed with SIGKILL mid-run, when ore azure gc runs, then it finds and deletes the resource group holding what the run left',
    {timeout: 10 * 60_000},
    async () => {
      const [fake, dir] = [cloud.fake(), cloud.dir()]
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.resourceGroups).toHaveLength(1)
      expect(left.resourceGroups[0]).toMatch(/^kola-cluster-[0-9a-f]{8}$/)
      expect(left.vms).toHaveLength(1)
      expect(left.nics).toHaveLength(1)
      expect(left.publicIps).toHaveLength(1)
      expect(left.other.sort()).toEqual(['networkSecurityGroups/kola-nsg', 'virtualNetworks/kola-vn'])

      const gc = await runCli('ore', ['azure', 'gc', '--duration', '0s', '--json'], {env: await azureEnv(fake, dir, 'gc')})
      expect(gc.stderr).not.toMatch(/internal error/)
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {deletedResourceGroups: string[]}
      expect(result.deletedResourceGroups).toEqual(left.resourceGroups)
      expect(fake.live()).toEqual(NOTHING_LEFT)
    },
  )

  it(
    'Given kola on an image made from --azure-blob-url interrupted with SIGINT mid-run, when it exits, then it has deleted its VM, the image and its resource group',
    {timeout: 10 * 60_000},
    async () => {
      const fake = cloud.fake()
      const {child, exited} = await startRun('sigint', '--azure-blob-url', FAKE_BLOB_URL)
      // The VM boots the managed image the run made of the blob, in the run's group.
      const group = fake.live().resourceGroups[0] as string
      expect(fake.live().other).toContain(`images/${group}-image`)
      const vm = [...fake.vms.values()].at(-1)
      expect(JSON.stringify(vm?.properties.storageProfile)).toContain(
        `/resourceGroups/${group}/providers/Microsoft.Compute/images/${group}-image`,
      )
      child.kill('SIGINT')
      const code = await exited
      expect(code).not.toBe(0)
      expect(fake.live()).toEqual(NOTHING_LEFT)
    },
  )
})
