/**
 * Virtual machines for kola's azure platform over Azure Resource Manager, as
 * flatcar/mantle platform/api/azure (groups.go, network.go, instance.go)
 * makes them: a resource group per run holding a VNet with one subnet
 * behind an NSG that lets SSH in, and per machine a Standard public IP, a
 * NIC and a VM whose NIC and IP go with it (deleteOption Delete). The
 * Ignition config travels base64-encoded as the VM's customData; boot
 * diagnostics (managed storage) give the serial console log through
 * retrieveBootDiagnosticsData's SAS URI. Every call goes through kit's retry
 * (the SDKs' own retries are off); the SDK pollers follow each operation's
 * Azure-AsyncOperation or Location header until it ends.
 */
import type * as Compute from '@azure/arm-compute'
import type * as Network from '@azure/arm-network'

import {InfraError, UsageError} from '@mantle/kit'

import {KOLA_RUN_TAG} from '../common/clusters.js'
import {markerTags} from '../common/marker.js'
import {withRetry} from '../common/retry.js'
import {type AzureArmOptions, armClientOptions, requireSubscription} from './arm.js'
import {azureError} from './errors.js'

/** The image machines boot: a managed or gallery image by resource id, or a Marketplace image. */
export type AzureImageRef = {id: string} | {publisher: string; offer: string; sku: string; version: string}

export interface AzureVmSpec {
  resourceGroup: string
  location: string
  /** The VM's name; its NIC and public IP are `<name>-nic` and `<name>-ip`. */
  name: string
  runId: string
  size: string
  image: AzureImageRef
  subnetId: string
  adminUsername: string
  /** An OpenSSH public key for the admin user; none puts no key in the VM's metadata. */
  sshPublicKey?: string | undefined
  /** The Ignition config, as text: sent base64-encoded as customData. */
  customData: string
  /** A Marketplace image's purchase plan (requireImage finds it). */
  plan?: Compute.Plan | undefined
  /** Where the VM goes when not in `resourceGroup` (--azure-resource-group: its NIC and IP stay in the run's group). */
  vmResourceGroup?: string | undefined
  /** storageProfile.diskControllerType; absent: the size's default. */
  diskController?: 'NVMe' | 'SCSI' | undefined
  /** securityProfile.securityType (vTPM on, secure boot off, as flatcar/mantle's instance.go). */
  securityType?: 'TrustedLaunch' | 'ConfidentialVM' | undefined
  /** properties.availabilitySet: an existing availability set's resource id (in the VM's group). */
  availabilitySetId?: string | undefined
  /** A user-assigned managed identity's resource id. */
  identityId?: string | undefined
  /** No public IP: the machine is reached at its NIC's private address. */
  privateIpOnly?: boolean | undefined
}

/** An image as requireImage found it: a Marketplace "latest" resolved to its version, with its plan. */
export interface ResolvedAzureImage {
  image: AzureImageRef
  plan?: Compute.Plan | undefined
  description: string
}

export interface AzureVm {
  name: string
  id: string
  /** The private address when the VM has no public IP. */
  publicIp: string
  privateIp: string
}

/** A storage account a run made, with what its blob service is reached by. */
export interface AzureRunStorage {
  id: string
  /** The blob service's account name (of its endpoint: an emulator's is in the path). */
  accountName: string
  /** primaryEndpoints.blob, without the trailing slash. */
  blobEndpoint: string
  /** An account key (listKeys): a secret. */
  key: string
}

/** An existing subnet (--azure-vnet-subnet-name): `vnet/subnet`, the subnet `default` when omitted. */
export interface AzureSubnetRef {
  vnet: string
  subnet: string
}

/** The ARM calls of a kola run on Azure. */
export interface AzureVmApi {
  /** Checks the image exists (and with it the credentials). */
  requireImage(image: AzureImageRef, location: string): Promise<ResolvedAzureImage>
  /** The run's resource group, tagged with the gc marker and the run id. */
  createRunGroup(name: string, location: string, runId: string): Promise<void>
  /** The run's VNet, subnet and NSG (SSH in); the subnet's id. */
  createRunNetwork(resourceGroup: string, location: string, runId: string): Promise<string>
  /** An existing subnet's id, the VNet found by name anywhere in the subscription (virtualNetworks.listAll). */
  findSubnet(ref: AzureSubnetRef): Promise<string>
  /** A user-assigned managed identity's resource id, found by name anywhere in the subscription. */
  findIdentity(name: string): Promise<string>
  /** Checks a resource group exists (--azure-resource-group): a usage error when it does not. */
  requireResourceGroup(name: string): Promise<void>
  /**
   * A StorageV2 account for the run's uploads (flatcar/mantle storage.go CreateStorageAccount), tagged;
   * reachable only from `allowSubnetId` when given (--azure-kola-vnet), with its blob endpoint and a key.
   */
  createRunStorage(resourceGroup: string, name: string, location: string, runId: string, allowSubnetId?: string): Promise<AzureRunStorage>
  /** Public IP, NIC and VM; resolves when the VM is provisioned, with its addresses. */
  launchVm(spec: AzureVmSpec, signal?: AbortSignal): Promise<AzureVm>
  /** The serial console log of boot diagnostics ('' before the VM wrote any). */
  consoleText(resourceGroup: string, name: string): Promise<string>
  /** Deletes the VM (its NIC and IP with it) and waits until it is gone. */
  deleteVm(resourceGroup: string, name: string): Promise<void>
  /** Deletes a resource group and everything in it, and waits until it is gone. */
  deleteResourceGroup(name: string): Promise<void>
}

export const RUN_VNET = 'kola-vn'
export const RUN_SUBNET = 'kola-subnet'
export const RUN_NSG = 'kola-nsg'

const notFound = (e: unknown) => (e as {statusCode?: number}).statusCode === 404

/** `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/images/NAME` and gallery image versions. */
function parseImageId(
  id: string,
): {resourceGroup: string; image: string} | {resourceGroup: string; gallery: string; image: string; version: string} {
  const m = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(.+)$/i.exec(id)
  const rest = m?.[2]?.split('/') ?? []
  if (m && rest.length === 2 && rest[0]?.toLowerCase() === 'images') return {resourceGroup: m[1]!, image: rest[1]!}
  if (
    m &&
    rest.length === 6 &&
    rest[0]?.toLowerCase() === 'galleries' &&
    rest[2]?.toLowerCase() === 'images' &&
    rest[4]?.toLowerCase() === 'versions'
  )
    return {resourceGroup: m[1]!, gallery: rest[1]!, image: rest[3]!, version: rest[5]!}
  throw new UsageError(`azure: ${id} is not a managed image or gallery image version id`, {
    hint: 'pass /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name> (or .../galleries/<g>/images/<i>/versions/<v>)',
  })
}

/** `https://<account>.blob.core.windows.net`, or an emulator's `http://127.0.0.1:10000/<account>`. */
export function accountOfEndpoint(endpoint: string): string {
  const url = new URL(endpoint)
  const [first] = url.pathname.split('/').filter(Boolean)
  return /^[\d.]+$|^localhost$|^\[/.test(url.hostname) && first ? first : (url.hostname.split('.')[0] ?? '')
}

export function describeImage(image: AzureImageRef): string {
  return 'id' in image ? image.id : `${image.publisher}:${image.offer}:${image.sku}:${image.version}`
}

export async function azureVmApi(options: AzureArmOptions): Promise<AzureVmApi> {
  const [{ComputeManagementClient}, {NetworkManagementClient}, {ResourceManagementClient}] = await Promise.all([
    import('@azure/arm-compute'),
    import('@azure/arm-network'),
    import('@azure/arm-resources'),
  ])
  const subscription = requireSubscription(options)
  const compute = new ComputeManagementClient(options.credential, subscription, armClientOptions(options))
  const network = new NetworkManagementClient(options.credential, subscription, armClientOptions(options))
  const resources = new ResourceManagementClient(options.credential, subscription, armClientOptions(options))
  const interval = options.pollIntervalMs ?? 5_000
  const lro = (signal?: AbortSignal) => ({updateIntervalInMs: interval, abortSignal: signal ?? options.signal})
  const call = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`azure ${what}`, op, options).catch((e: unknown) => Promise.reject(azureError(`azure ${what}`, e)))
  // Teardown runs after an interrupt too: it never takes the run's abort signal.
  const teardown = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`azure ${what}`, op, {...options, signal: undefined}).catch((e: unknown) => Promise.reject(azureError(`azure ${what}`, e)))
  const tags = (runId: string) => ({...markerTags(), [KOLA_RUN_TAG]: runId})

  /** The image, or undefined when it does not exist. */
  async function findImage(image: AzureImageRef, location: string): Promise<ResolvedAzureImage | undefined> {
    if (!('id' in image)) {
      let version = image.version
      if (version === 'latest') {
        const versions = await compute.virtualMachineImages.list(location, image.publisher, image.offer, image.sku, {
          top: 1,
          orderby: 'name desc',
        })
        if (!versions[0]?.name) return undefined
        version = versions[0].name
      }
      const found = await compute.virtualMachineImages.get(location, image.publisher, image.offer, image.sku, version)
      const resolved = {...image, version}
      const plan = found.plan ? {name: found.plan.name, product: found.plan.product, publisher: found.plan.publisher} : undefined
      return {image: resolved, plan, description: describeImage(resolved)}
    }
    const ref = parseImageId(image.id)
    if ('gallery' in ref) await compute.galleryImageVersions.get(ref.resourceGroup, ref.gallery, ref.image, ref.version)
    else await compute.images.get(ref.resourceGroup, ref.image)
    return {image, description: image.id}
  }

  return {
    async requireImage(image, location) {
      const found = await call('image lookup', () =>
        findImage(image, location).catch((e: unknown) => (notFound(e) ? undefined : Promise.reject(e))),
      )
      if (!found) throw new InfraError(`azure: image ${describeImage(image)} does not exist in ${location}`)
      return found
    },

    async createRunGroup(name, location, runId) {
      await call('resourceGroups.createOrUpdate', () => resources.resourceGroups.createOrUpdate(name, {location, tags: tags(runId)}))
    },

    async createRunNetwork(rg, location, runId) {
      const nsg = await call('networkSecurityGroups.createOrUpdate', async () =>
        network.networkSecurityGroups.createOrUpdate(
          rg,
          RUN_NSG,
          {
            location,
            tags: tags(runId),
            securityRules: [
              {
                name: 'ssh',
                protocol: 'Tcp',
                access: 'Allow',
                direction: 'Inbound',
                priority: 100,
                sourceAddressPrefix: '*',
                sourcePortRange: '*',
                destinationAddressPrefix: '*',
                destinationPortRange: '22',
              },
            ],
          },
          lro(),
        ),
      )
      const vnet: Network.VirtualNetwork = await call('virtualNetworks.createOrUpdate', async () =>
        network.virtualNetworks.createOrUpdate(
          rg,
          RUN_VNET,
          {
            location,
            tags: tags(runId),
            addressSpace: {addressPrefixes: ['10.0.0.0/16']},
            subnets: [{name: RUN_SUBNET, addressPrefix: '10.0.0.0/24', networkSecurityGroup: {id: nsg.id}}],
          },
          lro(),
        ),
      )
      const subnet = vnet.subnets?.find((s) => s.name === RUN_SUBNET)
      if (!subnet?.id) throw new InfraError(`azure: virtual network ${RUN_VNET} came back without its subnet ${RUN_SUBNET}`)
      return subnet.id
    },

    async findSubnet(ref) {
      const vnets = await call('virtualNetworks.listAll', async () => {
        const out: Network.VirtualNetwork[] = []
        for await (const v of network.virtualNetworks.listAll()) out.push(v)
        return out
      })
      const vnet = vnets.find((v) => v.name === ref.vnet)
      if (!vnet) throw new UsageError(`azure: no virtual network ${ref.vnet} in the subscription`)
      const subnet = vnet.subnets?.find((s) => s.name === ref.subnet)
      if (!subnet?.id) throw new UsageError(`azure: virtual network ${ref.vnet} has no subnet ${ref.subnet}`)
      return subnet.id
    },

    async createRunStorage(rg, name, location, runId, allowSubnetId) {
      const {StorageManagementClient} = await import('@azure/arm-storage')
      const storage = new StorageManagementClient(options.credential, subscription, armClientOptions(options))
      const account = await call('storageAccounts.create', async () =>
        storage.storageAccounts.create(
          rg,
          name,
          {
            location,
            tags: tags(runId),
            sku: {name: 'Standard_LRS'},
            kind: 'StorageV2',
            minimumTlsVersion: 'TLS1_2',
            allowBlobPublicAccess: false,
            ...(allowSubnetId
              ? {networkRuleSet: {defaultAction: 'Deny', virtualNetworkRules: [{virtualNetworkResourceId: allowSubnetId}]}}
              : {}),
          },
          {updateIntervalInMs: interval, abortSignal: options.signal},
        ),
      )
      const blobEndpoint = account.primaryEndpoints?.blob?.replace(/\/+$/, '')
      if (!account.id || !blobEndpoint) throw new InfraError(`azure: storage account ${name} came back without its blob endpoint`)
      const keys = await call('storageAccounts.listKeys', () => storage.storageAccounts.listKeys(rg, name))
      const key = keys.keys?.find((k) => k.value)?.value
      if (!key) throw new InfraError(`azure: storage account ${name} has no key`)
      return {id: account.id, accountName: accountOfEndpoint(blobEndpoint), blobEndpoint, key}
    },

    async requireResourceGroup(name) {
      const exists = await call('resourceGroups.checkExistence', () => resources.resourceGroups.checkExistence(name))
      if (!exists.body) throw new UsageError(`azure: no resource group ${name} in the subscription`)
    },

    async findIdentity(name) {
      const found = await call('resources.list', async () => {
        for await (const r of resources.resources.list({filter: "resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'"}))
          if (r.name === name && r.id) return r.id
        return undefined
      })
      if (!found) throw new UsageError(`azure: no user-assigned managed identity ${name} in the subscription`)
      return found
    },

    async launchVm(spec, signal) {
      const {resourceGroup: rg, location, name} = spec
      const vmRg = spec.vmResourceGroup ?? rg
      const ip: Network.PublicIPAddress | undefined = spec.privateIpOnly
        ? undefined
        : await call('publicIPAddresses.createOrUpdate', async () =>
            network.publicIPAddresses.createOrUpdate(
              rg,
              `${name}-ip`,
              {location, tags: tags(spec.runId), sku: {name: 'Standard'}, publicIPAllocationMethod: 'Static', deleteOption: 'Delete'},
              lro(signal),
            ),
          )
      const nic: Network.NetworkInterface = await call('networkInterfaces.createOrUpdate', async () =>
        network.networkInterfaces.createOrUpdate(
          rg,
          `${name}-nic`,
          {
            location,
            tags: tags(spec.runId),
            ipConfigurations: [
              {
                name: 'ipconfig',
                primary: true,
                privateIPAllocationMethod: 'Dynamic',
                subnet: {id: spec.subnetId},
                ...(ip ? {publicIPAddress: {id: ip.id, deleteOption: 'Delete'}} : {}),
              },
            ],
            // A confidential VM has no accelerated networking (flatcar/mantle network.go createNIC).
            ...(spec.securityType === 'ConfidentialVM' ? {enableAcceleratedNetworking: false} : {}),
          },
          lro(signal),
        ),
      )
      const imageReference: Compute.ImageReference = 'id' in spec.image ? {id: spec.image.id} : {...spec.image}
      const vm: Compute.VirtualMachine = {
        location,
        ...(spec.plan ? {plan: spec.plan} : {}),
        tags: tags(spec.runId),
        ...(spec.identityId ? {identity: {type: 'UserAssigned', userAssignedIdentities: {[spec.identityId]: {}}}} : {}),
        hardwareProfile: {vmSize: spec.size},
        storageProfile: {
          imageReference,
          osDisk: {
            createOption: 'FromImage',
            deleteOption: 'Delete',
            managedDisk: {
              storageAccountType: 'Premium_LRS',
              ...(spec.securityType === 'ConfidentialVM' ? {securityProfile: {securityEncryptionType: 'VMGuestStateOnly'}} : {}),
            },
          },
          ...(spec.diskController ? {diskControllerType: spec.diskController} : {}),
        },
        ...(spec.securityType
          ? {securityProfile: {securityType: spec.securityType, uefiSettings: {secureBootEnabled: false, vTpmEnabled: true}}}
          : {}),
        ...(spec.availabilitySetId ? {availabilitySet: {id: spec.availabilitySetId}} : {}),
        osProfile: {
          computerName: name,
          adminUsername: spec.adminUsername,
          customData: Buffer.from(spec.customData).toString('base64'),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ...(spec.sshPublicKey
              ? {ssh: {publicKeys: [{path: `/home/${spec.adminUsername}/.ssh/authorized_keys`, keyData: spec.sshPublicKey}]}}
              : {}),
          },
        },
        networkProfile: {networkInterfaces: [{id: nic.id, primary: true, deleteOption: 'Delete'}]},
        diagnosticsProfile: {bootDiagnostics: {enabled: true}},
      }
      const created = await call('virtualMachines.createOrUpdate', async () =>
        compute.virtualMachines.createOrUpdate(vmRg, name, vm, lro(signal)),
      )
      if (created.provisioningState && created.provisioningState !== 'Succeeded')
        throw new InfraError(`azure: VM ${name} provisioning ${created.provisioningState}`)
      const [publicIp, nicNow] = await Promise.all([
        ip ? call('publicIPAddresses.get', () => network.publicIPAddresses.get(rg, `${name}-ip`)) : undefined,
        call('networkInterfaces.get', () => network.networkInterfaces.get(rg, `${name}-nic`)),
      ])
      const privateIp = nicNow.ipConfigurations?.find((c) => c.privateIPAddress)?.privateIPAddress
      if (ip && !publicIp?.ipAddress) throw new InfraError(`azure: public IP ${name}-ip of VM ${name} has no address`)
      const address = publicIp?.ipAddress ?? privateIp
      if (!address) throw new InfraError(`azure: NIC ${name}-nic of VM ${name} has no private address`)
      return {name, id: created.id ?? name, publicIp: address, privateIp: privateIp ?? address}
    },

    async consoleText(rg, name) {
      const data = await teardown('virtualMachines.retrieveBootDiagnosticsData', () =>
        compute.virtualMachines.retrieveBootDiagnosticsData(rg, name, {sasUriExpirationTimeInMinutes: 5}),
      )
      if (!data.serialConsoleLogBlobUri) return ''
      const uri = data.serialConsoleLogBlobUri
      return teardown('serial console log', async () => {
        const response = await fetch(uri)
        // Boot diagnostics have not written the log yet.
        if (response.status === 404) return ''
        if (!response.ok) throw Object.assign(new Error(`GET serial console log: HTTP ${response.status}`), {statusCode: response.status})
        return response.text()
      })
    },

    async deleteVm(rg, name) {
      await teardown('virtualMachines.delete', async () => {
        try {
          await compute.virtualMachines.delete(rg, name, {updateIntervalInMs: interval, forceDeletion: true})
        } catch (e) {
          if (!notFound(e)) throw e
        }
      })
    },

    async deleteResourceGroup(name) {
      await teardown('resourceGroups.delete', async () => {
        try {
          await resources.resourceGroups.delete(name, {updateIntervalInMs: interval})
        } catch (e) {
          if (!notFound(e)) throw e
        }
      })
    },
  }
}
