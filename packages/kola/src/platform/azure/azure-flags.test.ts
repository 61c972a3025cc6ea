import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {makeVhd} from '@mantle/cloud/testing'
import {runCli, serviceEnv} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {
  FAKE_IMAGE_ID,
  FAKE_SUBSCRIPTION,
  FakeAzure,
  SHARED_AVSET_ID,
  SHARED_GROUP,
  SHARED_IDENTITY,
  SHARED_IDENTITY_ID,
  SHARED_VNET_ID,
} from '../../testing/fake-cloud/azure.js'
import {stubMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults, useFakeCloud} from '../../testing/fake-cloud/runs.js'
import {kolaEnv} from '../../testing/vm.js'

// The --azure-* flags of flatcar/mantle's kola (cmd/kola/options.go) against
// the fake ARM (testing/fake-cloud/azure.ts): the request shapes asserted are
// those flatcar/mantle platform/api/azure/instance.go (getVMParameters:
// storageProfile.diskControllerType NVMe|SCSI, securityProfile {securityType,
// uefiSettings {secureBootEnabled false, vTpmEnabled true}}, the confidential
// VM's osDisk.managedDisk.securityProfile.securityEncryptionType
// VMGuestStateOnly, availabilitySet {id} of
// /subscriptions/<s>/resourceGroups/<--azure-resource-group>/providers/Microsoft.Compute/availabilitySets/<name>,
// identity {type UserAssigned, userAssignedIdentities {<id>: {}}}; getVMRG:
// the VM in --azure-resource-group), network.go (findVnetSubnet: vnet/subnet,
// subnet "default"; no VNet made; createNIC: enableAcceleratedNetworking false
// for a confidential VM; GetIPAddresses: the private IP when
// --azure-use-private-ips) and api.go (FindManagedIdentityID: by name in the
// whole subscription) send. No machine boots: SSH stubs answer at the address
// the fake reports, and the test run is one that only needs its machine up.

async function azureEnv(fake: FakeAzure, dir: string, name: string): Promise<NodeJS.ProcessEnv> {
  const home = join(dir, name)
  await mkdir(join(home, 'home', '.azure'), {recursive: true})
  await writeFile(join(home, 'home', '.azure', 'azureCreds.json'), fake.authFile(), {mode: 0o600})
  return kolaEnv(home, {NODE_EXTRA_CA_CERTS: fake.caFile})
}

/** A tests dir with `azure.up`: passes once its one machine answered SSH. */
async function testsDir(dir: string): Promise<string> {
  const tests = join(dir, 'tests')
  await mkdir(tests, {recursive: true})
  await writeFile(
    join(tests, 'up.mjs'),
    "export const tests = [{name: 'azure.up', clusterSize: 1, run: async (c) => { if (c.machines.length !== 1) c.fatal('no machine') }}]\n",
  )
  return tests
}

/** A recorded PUT's properties. */
const props = (p: {body: Record<string, unknown>} | undefined) => p?.body.properties as Record<string, unknown>

const NOTHING_LEFT = {resourceGroups: [], vms: [], nics: [], publicIps: [], other: [], machines: 0}

describe('kola --azure-* flags (fake ARM, SSH stubs)', () => {
  const cloud = useFakeCloud((dir) => new FakeAzure({machines: stubMachines(), dir}).start())

  /** kola run on the fake's image with the tests of testsDir, into `out`. */
  const runArgs = async (out: string) => [
    ...['run', '-p', 'azure', '--azure-disk-uri', FAKE_IMAGE_ID, '--azure-location', 'westeurope'],
    ...['--tests-dir', await testsDir(cloud.dir()), '--output-dir', out],
  ]

  /** kola run azure.up with these flags; the PUTs the fake got during it. */
  const run = async (name: string, ...flags: string[]) => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const out = join(dir, `_${name}_temp`)
    const [puts, calls] = [fake.puts.length, fake.calls.length]
    const r = await runCli('kola', [...(await runArgs(out)), ...flags, 'azure.up'], {env: await azureEnv(fake, dir, name)})
    const put = (type: string) => fake.puts.slice(puts).filter((p) => p.type.toLowerCase() === type.toLowerCase())
    return {r, out, put, calls: fake.calls.slice(calls).filter((c) => c !== 'token')}
  }

  it('Given --azure-disk-controller nvme on a v6 size, when kola runs, then the VM asks for the NVMe controller', async () => {
    const {r, put} = await run('nvme', '--azure-disk-controller', 'nvme', '--azure-size', 'Standard_D2s_v6')
    expect(r.stderr).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    expect((props(put('Microsoft.Compute/virtualMachines')[0]).storageProfile as Record<string, unknown>).diskControllerType).toBe('NVMe')
    expect(cloud.fake().live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-disk-controller nvme on a size without NVMe, when kola runs, then ARM refuses the VM: exit 3, one line, nothing left', async () => {
    const {r} = await run('nvme-refused', '--azure-disk-controller', 'nvme')
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain("does not support the disk controller type 'NVMe'")
    expect(cloud.fake().live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-disk-controller scsi and the default, when kola runs, then SCSI is asked for, and nothing by default', async () => {
    const scsi = await run('scsi', '--azure-disk-controller', 'scsi')
    expect(scsi.r.code).toBe(0)
    expect((props(scsi.put('Microsoft.Compute/virtualMachines')[0]).storageProfile as Record<string, unknown>).diskControllerType).toBe(
      'SCSI',
    )
    const plain = await run('plain')
    expect(plain.r.code).toBe(0)
    // SSH went to the public IP, not to the NIC's private address in the run's subnet.
    const given = cloud.fake().addressed.at(-1)
    expect(given?.private).toMatch(/^10\.0\.0\.\d+$/)
    expect(readFileSync(join(machineDir(plain.out, 'azure.up'), 'instance.txt'), 'utf8')).toBe(`${given?.vm} ${given?.public}:22\n`)
    const vm = props(plain.put('Microsoft.Compute/virtualMachines')[0])
    expect(vm.storageProfile).not.toHaveProperty('diskControllerType')
    expect(vm).not.toHaveProperty('securityProfile')
    expect(plain.put('Microsoft.Compute/virtualMachines')[0]?.body).not.toHaveProperty('identity')
  })

  it('Given --azure-trusted-launch and --azure-vm-identity, when kola runs, then the VM is Trusted Launch with vTPM and has the identity found by name', async () => {
    const {r, put, calls} = await run('tl', '--azure-trusted-launch', '--azure-vm-identity', SHARED_IDENTITY)
    expect(r.code).toBe(0)
    const vm = put('Microsoft.Compute/virtualMachines')[0]
    expect(props(vm).securityProfile).toEqual({securityType: 'TrustedLaunch', uefiSettings: {secureBootEnabled: false, vTpmEnabled: true}})
    expect(vm?.body.identity).toEqual({type: 'UserAssigned', userAssignedIdentities: {[SHARED_IDENTITY_ID]: {}}})
    // The lookup comes before anything is made.
    expect(calls.indexOf('GET resources')).toBeLessThan(calls.indexOf('PUT resourceGroups'))
  })

  it('Given --azure-vm-identity naming no identity, when kola runs, then one line, exit 2, and nothing was created', async () => {
    const {r, calls} = await run('noidentity', '--azure-vm-identity', 'nobody')
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual(['kola: error: azure: no user-assigned managed identity nobody in the subscription'])
    expect(calls.filter((c) => c.startsWith('PUT'))).toEqual([])
  })

  it('Given --azure-confidential-vm on a confidential size, when kola runs, then the VM is a ConfidentialVM with its disk state encrypted and the NIC has no accelerated networking', async () => {
    const {r, put} = await run('cvm', '--azure-confidential-vm', '--azure-hyper-v-generation', 'V2', '--azure-size', 'Standard_DC2as_v5')
    expect(r.code).toBe(0)
    const vm = props(put('Microsoft.Compute/virtualMachines')[0])
    expect(vm.securityProfile).toEqual({securityType: 'ConfidentialVM', uefiSettings: {secureBootEnabled: false, vTpmEnabled: true}})
    expect((vm.storageProfile as {osDisk: {managedDisk: unknown}}).osDisk.managedDisk).toEqual({
      storageAccountType: 'Premium_LRS',
      securityProfile: {securityEncryptionType: 'VMGuestStateOnly'},
    })
    expect(props(put('Microsoft.Network/networkInterfaces')[0]).enableAcceleratedNetworking).toBe(false)
  })

  it('Given --azure-confidential-vm with --azure-trusted-launch, or without --azure-hyper-v-generation V2, when kola runs, then a usage error (exit 2) before any request', async () => {
    const fake = cloud.fake()
    const before = fake.calls.length
    const both = await run('both', '--azure-confidential-vm', '--azure-trusted-launch', '--azure-hyper-v-generation', 'V2')
    expect(both.r.code).toBe(2)
    expect(errorLines(both.r.stderr)).toHaveLength(1)
    expect(both.r.stderr).toContain('--azure-trusted-launch=true cannot also be provided when using --azure-confidential-vm')
    const gen1 = await run('gen1', '--azure-confidential-vm')
    expect(gen1.r.code).toBe(2)
    expect(errorLines(gen1.r.stderr)).toEqual(['kola: error: --azure-confidential-vm requires --azure-hyper-v-generation V2'])
    expect(fake.calls.slice(before)).toEqual([])
  })

  it('Given --azure-availability-set without --azure-resource-group, when kola runs, then a usage error (exit 2) before any request', async () => {
    const fake = cloud.fake()
    const before = fake.calls.length
    const {r} = await run('avset-alone', '--azure-availability-set', 'kola-avset')
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([
      'kola: error: All of the following must be provided when using --azure-availability-set: --azure-resource-group',
    ])
    expect(fake.calls.slice(before)).toEqual([])
  })

  it("Given --azure-resource-group and --azure-availability-set, when kola runs, then the VM goes into that group and set, its network into the run's group, and afterwards the group stays with nothing of the run's", async () => {
    const fake = cloud.fake()
    const {r, put, calls} = await run('rg', '--azure-resource-group', SHARED_GROUP, '--azure-availability-set', 'kola-avset')
    expect(r.stderr).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    const vm = put('Microsoft.Compute/virtualMachines')[0]
    expect(vm?.resourceGroup).toBe(SHARED_GROUP)
    expect(props(vm).availabilitySet).toEqual({id: SHARED_AVSET_ID})
    const [group] = put('Microsoft.Network/networkInterfaces').map((p) => p.resourceGroup)
    expect(group).toMatch(/^kola-cluster-[0-9a-f]{8}$/)
    // The group is checked, never written or deleted; only the run's own is.
    expect(calls.filter((c) => c.endsWith('resourceGroups'))).toEqual([
      'HEAD resourceGroups',
      'PUT resourceGroups',
      'DELETE resourceGroups',
    ])
    expect(fake.groups.has(SHARED_GROUP)).toBe(true)
    expect(fake.live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-resource-group naming no group, when kola runs, then one line, exit 2, and nothing was created', async () => {
    const {r, calls} = await run('norg', '--azure-resource-group', 'nope')
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual(['kola: error: azure: no resource group nope in the subscription'])
    expect(calls).toContain('HEAD resourceGroups')
    expect(calls.filter((c) => c.startsWith('PUT'))).toEqual([])
  })

  it('Given --azure-resource-group-basename, when kola runs, then the run group is named <basename>-<run id>', async () => {
    const {r, put} = await run('basename', '--azure-resource-group-basename', 'release-ci')
    expect(r.code).toBe(0)
    const vm = put('Microsoft.Compute/virtualMachines')[0]
    expect(vm?.resourceGroup).toBe(`release-ci-${String((vm?.body.tags as Record<string, string>)['kola-run']).replace(/^kola-/, '')}`)
  })

  it('Given --azure-vnet-subnet-name with and without a subnet, when kola runs, then the NIC is in that existing subnet (default: "default") and the run makes no VNet or NSG', async () => {
    for (const [flag, subnet] of [
      ['shared-vn', 'default'],
      ['shared-vn/kola', 'kola'],
    ] as const) {
      const {r, put, calls} = await run(`vnet-${subnet}`, '--azure-vnet-subnet-name', flag)
      expect(r.code).toBe(0)
      const config = (props(put('Microsoft.Network/networkInterfaces')[0]).ipConfigurations as Array<{properties: {subnet: unknown}}>)[0]
      expect(config?.properties.subnet).toEqual({id: `${SHARED_VNET_ID}/subnets/${subnet}`})
      expect(calls).toContain('GET virtualNetworks (subscription)')
      expect(calls.filter((c) => /PUT (virtualNetworks|networkSecurityGroups)/.test(c))).toEqual([])
    }
    expect(cloud.fake().live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-vnet-subnet-name naming a subnet that does not exist, when kola runs, then one line, exit 2, and nothing was created', async () => {
    const {r, calls} = await run('nosubnet', '--azure-vnet-subnet-name', 'shared-vn/nope')
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual(['kola: error: azure: virtual network shared-vn has no subnet nope'])
    expect(calls.filter((c) => c.startsWith('PUT'))).toEqual([])
  })

  it("Given --azure-use-private-ips, when kola runs, then no public IP is made and kola reaches the machine at the NIC's private address", async () => {
    const {r, out, put, calls} = await run('private', '--azure-use-private-ips')
    expect(r.code).toBe(0)
    expect(topLevelResults(out).results).toEqual({'azure.up': 'PASS'})
    expect(calls.filter((c) => c.includes('publicIPAddresses'))).toEqual([])
    const nic = put('Microsoft.Network/networkInterfaces')[0]
    const config = (props(nic).ipConfigurations as Array<{properties: Record<string, unknown>}>)[0]
    expect(config?.properties).not.toHaveProperty('publicIPAddress')
    // The address SSH went to is the one the fake gave the NIC.
    const given = cloud.fake().addressed.at(-1)
    expect(given?.public).toBeUndefined()
    expect(readFileSync(join(machineDir(out, 'azure.up'), 'instance.txt'), 'utf8')).toBe(`${given?.vm} ${given?.private}:22\n`)
  })

  it('Given kola in an existing --azure-resource-group killed with SIGKILL, when ore azure gc runs, then it deletes the VM left there and the run group, and keeps the group and what it held', async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const {child, exited} = await startKolaRun(
      [...(await runArgs(join(dir, '_rg-kill_temp'))), '--azure-resource-group', SHARED_GROUP, 'azure.up'],
      await azureEnv(fake, dir, 'rg-kill'),
      () => fake.vms.size,
    )
    child.kill('SIGKILL')
    await exited
    const left = fake.live()
    expect(left.vms).toHaveLength(1)
    expect(left.resourceGroups).toHaveLength(1)
    expect([...fake.resources.values()].find((v) => v.type === 'Microsoft.Compute/virtualMachines')?.resourceGroup).toBe(SHARED_GROUP)

    const gc = await runCli('ore', ['azure', 'gc', '--duration', '0s', '--json'], {env: await azureEnv(fake, dir, 'gc')})
    expect(gc.stderr).not.toMatch(/internal error/)
    expect(gc.code).toBe(0)
    const result = JSON.parse(gc.stdout) as {deletedResourceGroups: string[]; deletedResources: string[]}
    expect(result.deletedResources).toHaveLength(1)
    expect(result.deletedResources[0]).toMatch(
      new RegExp(`/resourceGroups/${SHARED_GROUP}/providers/Microsoft.Compute/virtualMachines/kola-`),
    )
    expect(result.deletedResourceGroups).toEqual(left.resourceGroups)
    expect(fake.live()).toEqual(NOTHING_LEFT)
    expect(fake.groups.has(SHARED_GROUP)).toBe(true)
  })
})

// --azure-image-file: the storage account is ARM's (the fake), its blobs are Azurite's, so the upload is
// real. Shapes as flatcar/mantle storage.go (CreateStorageAccount: Standard_LRS StorageV2; with
// --azure-kola-vnet a networkRuleSet denying all but that subnet), flight.go (upload, then an image of the
// blob), image.go (CreateImage: osDisk blobUri, Linux, Generalized) and gallery-image-template.json
// (gallery kolaSIG*, image definition kola/Flatcar/dev, version 0.0.0 from the blob and its account).
const azurite = serviceEnv(['MANTLE_TEST_AZURE_ENDPOINT', 'MANTLE_TEST_AZURE_KEY', 'MANTLE_TEST_AZURE_ACCOUNT'])

describe.skipIf(!azurite.available)('kola --azure-image-file (fake ARM, Azurite, SSH stubs)', () => {
  const storage = {blobEndpoint: process.env.MANTLE_TEST_AZURE_ENDPOINT ?? '', key: process.env.MANTLE_TEST_AZURE_KEY ?? ''}
  const cloud = useFakeCloud((dir) => new FakeAzure({machines: stubMachines(), dir, storage}).start())

  /** kola run azure.up booting a fresh 4 MiB fixed VHD; the VHD's bytes and what the fake got. */
  const run = async (name: string, ...flags: string[]) => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const vhd = join(dir, `${name}.vhd`)
    await makeVhd(join(dir, `${name}.raw`), vhd, {size: 4 * 1024 * 1024, data: [{at: 512, bytes: randomBytes(4096)}]})
    const [puts, calls] = [fake.puts.length, fake.calls.length]
    const r = await runCli(
      'kola',
      [
        ...['run', '-p', 'azure', '--azure-image-file', vhd, '--azure-location', 'westeurope', '--tests-dir', await testsDir(dir)],
        ...['--output-dir', join(dir, `_${name}_temp`), ...flags, 'azure.up'],
      ],
      {env: await azureEnv(fake, dir, name)},
    )
    const put = (type: string) => fake.puts.slice(puts).filter((p) => p.type.toLowerCase() === type.toLowerCase())
    return {r, vhd, put, calls: fake.calls.slice(calls).filter((c) => c !== 'token')}
  }
  /** The blob as Azurite holds it (the account is Azurite's one account, whatever ARM named it). */
  const blobBytes = async (blobUri: string) => {
    const account = process.env.MANTLE_TEST_AZURE_ACCOUNT ?? ''
    const service = new BlobServiceClient(storage.blobEndpoint, new StorageSharedKeyCredential(account, storage.key))
    const [container, blob] = blobUri.slice(storage.blobEndpoint.replace(/\/+$/, '').length + 1).split('/')
    return service
      .getContainerClient(container ?? '')
      .getBlobClient(blob ?? '')
      .downloadToBuffer()
  }

  it('Given --azure-image-file, when kola runs, then the VHD is uploaded into a storage account of the run group, made a managed image, booted, and all of it goes with the group', async () => {
    const {r, vhd, put} = await run('file')
    expect(r.stderr).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    const [account] = put('Microsoft.Storage/storageAccounts')
    expect(account?.name).toMatch(/^kola[0-9a-f]{8}$/)
    expect(account?.body).toMatchObject({sku: {name: 'Standard_LRS'}, kind: 'StorageV2', location: 'westeurope'})
    expect(account?.body.properties).not.toHaveProperty('networkAcls')
    const image = put('Microsoft.Compute/images')[0]
    const osDisk = (props(image).storageProfile as {osDisk: {blobUri: string; osType: string; osState: string}}).osDisk
    expect(osDisk).toMatchObject({osType: 'Linux', osState: 'Generalized'})
    expect(image?.resourceGroup).toBe(account?.resourceGroup)
    expect(osDisk.blobUri).toBe(`${storage.blobEndpoint.replace(/\/+$/, '')}/kola/${account?.resourceGroup}.vhd`)
    // The blob in Azurite is the VHD, byte for byte.
    expect((await blobBytes(osDisk.blobUri)).equals(await readFile(vhd))).toBe(true)
    const vm = put('Microsoft.Compute/virtualMachines')[0]
    expect((props(vm).storageProfile as {imageReference: unknown}).imageReference).toEqual({
      id: `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${account?.resourceGroup}/providers/Microsoft.Compute/images/${account?.resourceGroup}-image`,
    })
    expect(cloud.fake().live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-image-file with --azure-use-gallery and --azure-kola-vnet, when kola runs, then the VM boots a gallery image version of the upload, and the account admits only that subnet', async () => {
    const {r, put} = await run('gallery', '--azure-use-gallery', '--azure-kola-vnet', 'shared-vn/kola', '--azure-hyper-v-generation', 'V2')
    expect(r.stderr).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    const [account] = put('Microsoft.Storage/storageAccounts')
    expect((account?.body.properties as {networkAcls: unknown}).networkAcls).toEqual({
      defaultAction: 'Deny',
      virtualNetworkRules: [{id: `${SHARED_VNET_ID}/subnets/kola`}],
    })
    const [gallery] = put('Microsoft.Compute/galleries')
    expect(gallery?.name).toMatch(/^kolaSIG[0-9a-f]{8}$/)
    const definition = put('Microsoft.Compute/galleries/images')[0]
    expect(props(definition)).toMatchObject({
      osType: 'Linux',
      osState: 'Generalized',
      hyperVGeneration: 'V2',
      identifier: {publisher: 'kola', offer: 'Flatcar', sku: 'dev'},
    })
    const version = put('Microsoft.Compute/galleries/images/versions')[0]
    expect(version?.name).toBe('0.0.0')
    const accountId = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${account?.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account?.name}`
    expect((props(version).storageProfile as {osDiskImage: {source: unknown}}).osDiskImage.source).toEqual({
      uri: `${storage.blobEndpoint.replace(/\/+$/, '')}/kola/${account?.resourceGroup}.vhd`,
      storageAccountId: accountId,
    })
    const vm = put('Microsoft.Compute/virtualMachines')[0]
    expect((props(vm).storageProfile as {imageReference: {id: string}}).imageReference.id).toBe(
      `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${account?.resourceGroup}/providers/Microsoft.Compute/galleries/${gallery?.name}/images/${account?.resourceGroup}/versions/0.0.0`,
    )
    expect(put('Microsoft.Compute/images')).toEqual([])
    expect(cloud.fake().live()).toEqual(NOTHING_LEFT)
  })

  it('Given --azure-image-file that is no fixed VHD, when kola runs, then one line, exit 2, and no ARM request', async () => {
    const [fake, dir] = [cloud.fake(), cloud.dir()]
    const before = fake.calls.length
    const raw = join(dir, 'not.vhd')
    await writeFile(raw, randomBytes(4096))
    const r = await runCli(
      'kola',
      ['run', '-p', 'azure', '--azure-image-file', raw, '--output-dir', join(dir, '_notvhd_temp'), 'coreos.basic'],
      {
        env: await azureEnv(fake, dir, 'notvhd'),
      },
    )
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(fake.calls.slice(before)).toEqual([])
  })
})
