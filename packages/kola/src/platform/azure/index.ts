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
}

export const azurePlatform: PlatformDefinition<AzurePlatformOptions> = {
  name: 'azure',
  summary: 'Azure VMs in a resource group per run, the Ignition config as customData',
  createFlight: createAzureFlight,
}

/**
 * An Azure session: credentials and image checked before anything is
 * created (a token and the image's GET); then the run's resource group,
 * named by the run id and tagged with the gc marker, holding the VNet,
 * subnet and NSG; a public IP, NIC and VM per machine. At the end the
 * resource group is deleted and waited for: whatever a machine left goes
 * with it.
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
  const identity = await generateIdentity(common.distro.user)
  const group = common.runId
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
    const subnetId = await vms.createRunNetwork(group, options.location, common.runId)
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
}

/** One VM per machine (with its public IP and NIC): launched, waited for, its boot diagnostics read, deleted. */
class AzureProvisioner implements Provisioner {
  constructor(private readonly settings: AzureSettings) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {vms, group, logger} = this.settings
    const name = request.name
    const remove = (): Promise<void> => vms.deleteVm(group, name)
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
        },
        request.signal,
      )
    } catch (error) {
      await remove().catch((e: unknown) =>
        logger.warn(`azure: cannot delete VM ${name}: ${String(e)}; the run's resource group goes at the end`),
      )
      throw error
    }
    logger.info(`azure: ${request.name} is VM ${name} at ${vm.publicIp}`)
    return {
      instanceId: name,
      ip: vm.publicIp,
      sshPort: 22,
      privateIp: vm.privateIp,
      console: () => vms.consoleText(group, name),
      terminate: remove,
    }
  }
}
