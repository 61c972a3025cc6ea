import type {GceAuth} from '@mantle/auth'
import {gcloud} from '@mantle/cloud'
import {UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The GCE platform's own options (flatcar/mantle cmd/kola/options.go: --gce-*). */
export interface GcpPlatformOptions {
  /** Resolves the credentials (--gce-json-key, --gce-service-auth, the usual files); called once, when the flight is made. */
  credentials: () => Promise<GceAuth>
  /** Default: the project of the credentials. */
  project?: string | undefined
  /** A name in the project, projects/<p>/global/images/<name>, or .../images/family/<family>. */
  image: string
  zone: string
  machineType: string
  diskType: string
  network: string
  /** --gce-gvnic: machines get a gVNIC instead of a virtio-net NIC (the image must have the GVNIC guest OS feature). */
  gvnic?: boolean | undefined
  /** Compute Engine's REST root (auth's resolveEndpoints); default Google's. */
  endpoint?: string | undefined
  /** Between two polls of an operation or an instance. */
  pollIntervalMs?: number | undefined
}

export const gcpPlatform: PlatformDefinition<GcpPlatformOptions> = {
  name: 'gcp',
  aliases: ['gce'],
  summary: 'Google Compute Engine instances, the Ignition config as user-data metadata',
  createFlight: createGcpFlight,
}

/**
 * A Compute Engine session: the credentials and the image are checked before
 * anything is created (images.get answers only with a token). A run makes no
 * resource besides its instances: kola's SSH key travels in each instance's
 * `ssh-keys` metadata (and in the Ignition config), as in flatcar/mantle.
 */
async function createGcpFlight(options: GcpPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  const auth = await options.credentials()
  // No abort signal on the client: an interrupted run must still be able to delete its instances.
  const compute = await gcloud.gceComputeApi({
    auth,
    project: options.project,
    endpoint: options.endpoint,
    logger: common.logger,
    pollIntervalMs: options.pollIntervalMs ?? 2000,
  })
  const image = await gcloud.requireGceImage(compute, options.image)
  // GCE refuses a gVNIC instance of an image without the feature (Flatcar's images.insert in
  // platform/api/gcloud/image.go always lists it, as ore gcloud create-image does by default): say so before any insert.
  if (options.gvnic && !image.guestOsFeatures?.some((f) => f.type === 'GVNIC'))
    throw new UsageError(
      `--gce-gvnic: image ${image.path} lacks the GVNIC guest OS feature (ore gcloud create-image --guest-os-feature GVNIC gives it)`,
    )
  const identity = await generateIdentity(common.distro.user)
  common.logger.info(`gcp: run ${common.runId} in ${compute.project}/${options.zone}, image ${image.path}`)
  const settings = {...options, image: image.path, runId: common.runId, logger: common.logger}
  const withKey = new GceProvisioner(compute, settings, [`${identity.user}:${identity.publicKey}`])
  const withoutKey = new GceProvisioner(compute, settings, undefined)
  return new RemoteFlight('gcp', identity, (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey), common)
}

type GceSettings = GcpPlatformOptions & {runId: string; logger: CommonFlightOptions['logger']}

/** One instance per machine: inserted, waited for, its serial port read, deleted. */
class GceProvisioner implements Provisioner {
  constructor(
    private readonly compute: gcloud.GceComputeApi,
    private readonly settings: GceSettings,
    private readonly sshKeys: string[] | undefined,
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {compute, settings} = this
    const {zone} = settings
    const name = request.name
    const context = {logger: settings.logger, pollIntervalMs: settings.pollIntervalMs ?? 2000}
    const terminate = (): Promise<void> => gcloud.deleteGceInstance(compute, zone, name)
    let address: {publicIp: string; privateIp: string}
    try {
      await gcloud.launchGceInstance(
        compute,
        {
          zone,
          name,
          runId: settings.runId,
          image: settings.image,
          machineType: settings.machineType,
          diskType: settings.diskType,
          network: settings.network,
          userData: JSON.stringify(request.config),
          sshKeys: this.sshKeys,
          gvnic: settings.gvnic,
        },
        context,
      )
      settings.logger.info(`gcp: ${request.id} is instance ${name} in ${zone}`)
      address = await gcloud.waitGceRunning(compute, zone, name, {...context, signal: request.signal})
    } catch (error) {
      // An insert whose operation failed (quota) made nothing; one interrupted or not running is deleted.
      await terminate().catch((e: unknown) => settings.logger.warn(`gcp: cannot delete ${name}: ${String(e)}; ore gcloud gc will`))
      throw error
    }
    return {
      instanceId: name,
      ip: address.publicIp,
      sshPort: 22,
      privateIp: address.privateIp,
      console: () => gcloud.gceConsoleText(compute, zone, name),
      terminate,
    }
  }
}
