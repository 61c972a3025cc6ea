import type {AzureAuth} from '@mantle/auth'
import {azure, KOLA_RUN_TAG} from '@mantle/cloud'
import {UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The Azure platform's own options (flatcar/mantle cmd/kola/options.go: --azure-*). */
export interface AzurePlatformOptions {
  /** Resolves the credentials (the command's flags and files); called once, when the flight is made. */
  credentials: () => Promise<AzureAuth>
  /** Default: the credentials' subscription. */
  subscriptionId?: string | undefined
  location: string
  /** The VM size (Standard_DS2_v2). */
  size: string
  /** What machines boot: a managed or gallery image id (--azure-disk-uri), or a Marketplace image. */
  image: azure.AzureImageRef | undefined
  /**
   * A VHD page blob (`ore azure upload-blob`'s, in a storage account of the subscription): the run
   * makes a managed image of it in its resource group, which goes with the group. Wins over `image`.
   */
  blobUrl?: string | undefined
  hyperVGeneration?: 'V1' | 'V2' | undefined
  /** Between two polls of a long-running ARM operation. */
  pollIntervalMs?: number | undefined
  /**
   * An existing resource group the VMs go into (--azure-resource-group). Never deleted: the run deletes
   * only the VMs it made there; their network stays in the run's own group, as flatcar/mantle's getVMRG.
   */
  resourceGroup?: string | undefined
  /** Prefix of the run's resource group, `<basename>-<run id>` (default kola-cluster). */
  resourceGroupBasename?: string | undefined
  /** An existing subnet for the NICs (--azure-vnet-subnet-name): the run makes no VNet or NSG. */
  subnet?: azure.AzureSubnetRef | undefined
  /** No public IPs: SSH goes to each NIC's private address. */
  usePrivateIps?: boolean | undefined
  diskController?: azure.AzureVmSpec['diskController']
  securityType?: azure.AzureVmSpec['securityType']
  /** An availability set's name, in `resourceGroup`. */
  availabilitySet?: string | undefined
  /** A user-assigned managed identity's name, looked up in the subscription before anything is made. */
  vmIdentity?: string | undefined
}

export const azurePlatform: PlatformDefinition<AzurePlatformOptions> = {
  name: 'azure',
  summary: 'Azure VMs in a resource group per run, the Ignition config as customData',
  createFlight: createAzureFlight,
}

/**
 * An Azure session: credentials, image, managed identity and existing
 * subnet checked before anything is created; then the run's resource group,
 * `<basename>-<run id>` tagged with the gc marker, holding the VNet, subnet
 * and NSG (none with --azure-vnet-subnet-name); a public IP (none with
 * private IPs), NIC and VM per machine, the VM in --azure-resource-group
 * when given. At the end the VMs and the run's resource group are deleted
 * and waited for: whatever a machine left goes with them.
 */
async function createAzureFlight(options: AzurePlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image && !options.blobUrl)
    throw new UsageError('azure: no image to boot', {
      hint: 'pass --azure-disk-uri, --azure-blob-url, or a Marketplace image with --azure-version',
    })
  const context = {logger: common.logger, signal: common.signal, pollIntervalMs: options.pollIntervalMs ?? 1000}
  const session = azure.connectAzure({auth: await options.credentials(), subscriptionId: options.subscriptionId, context})
  const vms = await session.vms()
  // A blob becomes an image inside the run's group; anything else must exist already.
  let image = options.blobUrl ? undefined : await vms.requireImage(options.image as azure.AzureImageRef, options.location)
  // What the machines use that must exist already is found before anything is made.
  const identityId = options.vmIdentity ? await vms.findIdentity(options.vmIdentity) : undefined
  const existingSubnet = options.subnet ? await vms.findSubnet(options.subnet) : undefined
  const availabilitySetId =
    options.availabilitySet && options.resourceGroup
      ? `/subscriptions/${session.subscriptionId ?? ''}/resourceGroups/${options.resourceGroup}/providers/Microsoft.Compute/availabilitySets/${options.availabilitySet}`
      : undefined
  const identity = await generateIdentity(common.distro.user)
  const group = `${options.resourceGroupBasename ?? 'kola-cluster'}-${common.runId.replace(/^kola-/, '')}`
  const release = async () => {
    await vms
      .deleteResourceGroup(group)
      .catch((e: unknown) => common.logger.warn(`azure: cannot delete resource group ${group}: ${String(e)}; ore azure gc will`))
  }
  try {
    await vms.createRunGroup(group, options.location, common.runId)
    if (options.blobUrl) {
      const made = await azure.createImage({
        compute: await session.compute(),
        resourceGroup: group,
        name: `${group}-image`,
        location: options.location,
        blobUrl: options.blobUrl,
        hyperVGeneration: options.hyperVGeneration,
        tags: {[KOLA_RUN_TAG]: common.runId},
        context,
      })
      image = {image: {id: made.id}, description: `${made.id} (from ${options.blobUrl.split('?')[0]})`}
    }
    const subnetId = existingSubnet ?? (await vms.createRunNetwork(group, options.location, common.runId))
    if (!image) throw new Error('azure: no image after the checks')
    common.logger.info(`azure: run ${common.runId} in ${options.location}: resource group ${group}, image ${image.description}`)
    const settings: AzureSettings = {
      vms,
      group,
      subnetId,
      image,
      location: options.location,
      size: options.size,
      runId: common.runId,
      user: identity.user,
      logger: common.logger,
      machine: {
        vmResourceGroup: options.resourceGroup,
        diskController: options.diskController,
        securityType: options.securityType,
        availabilitySetId,
        identityId,
        privateIpOnly: options.usePrivateIps,
      },
    }
    const withKey = new AzureProvisioner({...settings, sshPublicKey: identity.publicKey})
    const withoutKey = new AzureProvisioner(settings)
    return new RemoteFlight('azure', identity, (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey), common, release)
  } catch (error) {
    await release()
    throw error
  }
}

interface AzureSettings {
  vms: azure.AzureVmApi
  group: string
  subnetId: string
  image: azure.ResolvedAzureImage
  location: string
  size: string
  runId: string
  user: string
  sshPublicKey?: string | undefined
  logger: CommonFlightOptions['logger']
  /** What every VM gets from the --azure-* flags. */
  machine: Pick<
    azure.AzureVmSpec,
    'vmResourceGroup' | 'diskController' | 'securityType' | 'availabilitySetId' | 'identityId' | 'privateIpOnly'
  >
}

/** One VM per machine (with its public IP and NIC): launched, waited for, its boot diagnostics read, deleted. */
class AzureProvisioner implements Provisioner {
  constructor(private readonly settings: AzureSettings) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {vms, group, logger} = this.settings
    const name = request.name
    const vmGroup = this.settings.machine.vmResourceGroup ?? group
    const remove = (): Promise<void> => vms.deleteVm(vmGroup, name)
    let vm: azure.AzureVm
    try {
      vm = await vms.launchVm(
        {
          resourceGroup: group,
          location: this.settings.location,
          name,
          runId: this.settings.runId,
          size: this.settings.size,
          image: this.settings.image.image,
          plan: this.settings.image.plan,
          subnetId: this.settings.subnetId,
          adminUsername: this.settings.user,
          sshPublicKey: this.settings.sshPublicKey,
          customData: JSON.stringify(request.config),
          ...this.settings.machine,
        },
        request.signal,
      )
    } catch (error) {
      await remove().catch((e: unknown) =>
        logger.warn(`azure: cannot delete VM ${name}: ${String(e)}; the run's resource group goes at the end`),
      )
      throw error
    }
    logger.info(`azure: ${request.name} is VM ${name} at ${vm.publicIp}${this.settings.machine.privateIpOnly ? ' (private)' : ''}`)
    return {
      instanceId: name,
      ip: vm.publicIp,
      sshPort: 22,
      privateIp: vm.privateIp,
      console: () => vms.consoleText(vmGroup, name),
      terminate: remove,
    }
  }
}
