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
  /**
   * A local fixed VHD (--azure-image-file): uploaded as a page blob into a storage account the run makes
   * in its group (flatcar/mantle flight.go), then made the image machines boot. Wins over `blobUrl`.
   */
  imageFile?: string | undefined
  /** Make a gallery image version of the upload instead of a managed image (--azure-use-gallery). */
  useGallery?: boolean | undefined
  /** The subnet kola runs in (--azure-kola-vnet): the run's storage account admits only it. */
  kolaVnet?: azure.AzureSubnetRef | undefined
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
  if (!options.image && !options.blobUrl && !options.imageFile)
    throw new UsageError('azure: no image to boot', {
      hint: 'pass --azure-disk-uri, --azure-blob-url, or a Marketplace image with --azure-version',
    })
  if (options.useGallery && !options.imageFile)
    throw new UsageError('--azure-use-gallery needs --azure-image-file', {
      hint: 'kola makes a gallery image only of a VHD it uploads itself; --azure-blob-url becomes a managed image',
    })
  // A bad VHD is refused before anything is made.
  if (options.imageFile) await azure.validateVhd(options.imageFile)
  const context = {logger: common.logger, signal: common.signal, pollIntervalMs: options.pollIntervalMs ?? 1000}
  const auth = await options.credentials()
  const session = azure.connectAzure({auth, subscriptionId: options.subscriptionId, context})
  const vms = await session.vms()
  // A blob or file becomes an image inside the run's group; anything else must exist already.
  const fromUpload = Boolean(options.blobUrl ?? options.imageFile)
  let image = fromUpload ? undefined : await vms.requireImage(options.image as azure.AzureImageRef, options.location)
  // What the machines use that must exist already is found before anything is made.
  if (options.resourceGroup) await vms.requireResourceGroup(options.resourceGroup)
  const identityId = options.vmIdentity ? await vms.findIdentity(options.vmIdentity) : undefined
  const existingSubnet = options.subnet ? await vms.findSubnet(options.subnet) : undefined
  const kolaSubnet = options.imageFile && options.kolaVnet ? await vms.findSubnet(options.kolaVnet) : undefined
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
    if (options.imageFile) {
      image = await imageOfFile(options.imageFile, {options, auth, vms, session, group, runId: common.runId, kolaSubnet, context})
    } else if (options.blobUrl) {
      const made = await managedImage(await session.compute(), options.blobUrl, {options, group, runId: common.runId, context})
      image = {image: {id: made}, description: `${made} (from ${options.blobUrl.split('?')[0]})`}
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

/**
 * The VHD uploaded into a storage account of the run's group (container `kola`, the blob named by the
 * group) and made a managed image, or with useGallery a gallery version 0.0.0 of image definition
 * kola/Flatcar/dev in a gallery kolaSIG<run> (flatcar/mantle image.go and gallery-image-template.json).
 */
async function imageOfFile(
  file: string,
  run: {
    options: AzurePlatformOptions
    auth: AzureAuth
    vms: azure.AzureVmApi
    session: azure.AzureSession
    group: string
    runId: string
    kolaSubnet: string | undefined
    context: {logger: CommonFlightOptions['logger']; signal?: AbortSignal | undefined; pollIntervalMs: number}
  },
): Promise<azure.ResolvedAzureImage> {
  const {options, group, context} = run
  const id = run.runId.replace(/^kola-/, '')
  const account = await run.vms.createRunStorage(group, `kola${id}`, options.location, run.runId, run.kolaSubnet)
  const storage = azure.connectAzure({
    auth: {...run.auth, storage: {accountName: account.accountName, accountKey: account.key}},
    storageAccount: account.accountName,
    blobEndpoint: account.blobEndpoint,
    context,
  })
  await storage.ensureContainer('kola')
  const uploaded = await azure.uploadVhd({blob: await storage.pageBlob('kola', `${group}.vhd`), file, overwrite: true, context})
  const compute = await run.session.compute()
  const madeId = options.useGallery
    ? (
        await azure.createGalleryImage({
          compute,
          resourceGroup: group,
          gallery: `kolaSIG${id}`,
          image: group,
          version: '0.0.0',
          location: options.location,
          blobUrl: uploaded.url,
          storageAccountId: account.id,
          publisher: 'kola',
          offer: 'Flatcar',
          sku: 'dev',
          hyperVGeneration: options.hyperVGeneration ?? 'V1',
          context,
        })
      ).id
    : await managedImage(compute, uploaded.url, run)
  return {image: {id: madeId}, description: `${madeId} (from ${file})`}
}

/** A managed image `<group>-image` of a page blob, in the run's group; its id. */
async function managedImage(
  compute: azure.AzureComputeApi,
  blobUrl: string,
  run: {options: AzurePlatformOptions; group: string; runId: string; context: Parameters<typeof azure.createImage>[0]['context']},
): Promise<string> {
  const made = await azure.createImage({
    compute,
    resourceGroup: run.group,
    name: `${run.group}-image`,
    location: run.options.location,
    blobUrl,
    hyperVGeneration: run.options.hyperVGeneration,
    tags: {[KOLA_RUN_TAG]: run.runId},
    context: run.context,
  })
  return made.id
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
