import type {OciAuth} from '@mantle/auth'
import {oci} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The OCI platform's own options (flatcar/mantle cmd/kola/options.go: --oraclecloud-*, ours --oci-*). */
export interface OciPlatformOptions {
  /** Resolves the credentials (profile, key file); called once, when the flight is made. */
  credentials: () => Promise<OciAuth>
  compartmentId?: string | undefined
  /** Default: the compartment's first availability domain. */
  availabilityDomain?: string | undefined
  subnetId: string
  imageId: string
  shape: string
  ocpus: number
  memoryGb: number
  endpoints?: oci.OciEndpoints | undefined
  /** Between two polls of an instance's state. */
  pollIntervalMs?: number | undefined
}

export const ociPlatform: PlatformDefinition<OciPlatformOptions> = {
  name: 'oci',
  aliases: ['oraclecloud'],
  summary: 'Oracle Cloud Infrastructure instances, the Ignition config as user_data metadata',
  createFlight: createOciFlight,
}

/**
 * An OCI session: the credentials proved (Identity GetUser) and the image
 * looked up before anything is created. OCI takes the SSH key in each
 * instance's metadata, so a run creates nothing but its instances, each
 * named by the run and tagged with the gc marker (boot volumes go with them).
 */
async function createOciFlight(options: OciPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.imageId) throw new UsageError('oci: no image to boot', {hint: 'pass --oci-image'})
  if (!options.subnetId) throw new UsageError('oci: no subnet for the machines', {hint: 'pass --oci-subnet'})
  const credentials = await options.credentials()
  // No abort signal on the client: after Ctrl-C the teardown's TerminateInstance calls must still go out; waits take the request's signal.
  const api = await oci.ociApi({credentials, endpoints: options.endpoints, logger: common.logger})
  const compartmentId = oci.requireCompartment(api, options.compartmentId)
  await api.checkCredentials()
  const image = await api.getImageIfExists(options.imageId)
  if (!image || image.lifecycleState !== 'AVAILABLE')
    throw new InfraError(`oci: image ${options.imageId} ${image ? `is ${image.lifecycleState}` : 'does not exist'} in ${api.region}`)
  const availabilityDomain = options.availabilityDomain ?? (await api.listAvailabilityDomains(compartmentId))[0]
  if (!availabilityDomain) throw new InfraError(`oci: compartment ${compartmentId} has no availability domain in ${api.region}`)
  const identity = await generateIdentity(common.distro.user)
  common.logger.info(`oci: run ${common.runId} in ${api.region} (${availabilityDomain})`)
  const settings = {...options, api, compartmentId, availabilityDomain, logger: common.logger}
  const withKey = new OciProvisioner(settings, identity.publicKey)
  const withoutKey = new OciProvisioner(settings, undefined)
  return new RemoteFlight('oci', identity, (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey), common)
}

interface OciSettings extends OciPlatformOptions {
  api: oci.OciApi
  compartmentId: string
  availabilityDomain: string
  logger: CommonFlightOptions['logger']
}

/** One instance per machine: launched, waited for, its console captured, terminated with its boot volume. */
class OciProvisioner implements Provisioner {
  constructor(
    private readonly settings: OciSettings,
    private readonly sshKey: string | undefined,
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, logger} = this.settings
    const intervalMs = this.settings.pollIntervalMs ?? 2000
    const {instance, publicIp, privateIp} = await oci.launchAndWait(
      api,
      {
        availabilityDomain: this.settings.availabilityDomain,
        compartmentId: this.settings.compartmentId,
        displayName: request.name,
        shape: this.settings.shape,
        shapeConfig: /\.Flex$/.test(this.settings.shape) ? {ocpus: this.settings.ocpus, memoryInGBs: this.settings.memoryGb} : undefined,
        imageId: this.settings.imageId,
        subnetId: this.settings.subnetId,
        userData: JSON.stringify(request.config),
        sshAuthorizedKeys: this.sshKey,
      },
      {intervalMs, signal: request.signal, logger},
    )
    logger.info(`oci: ${request.name} is ${instance.id}`)
    return {
      instanceId: instance.id,
      ip: publicIp,
      sshPort: 22,
      privateIp,
      console: () => api.consoleText(instance.id),
      terminate: async () => {
        await api.terminateInstance(instance.id)
        await oci.waitInstanceState(api, instance.id, 'TERMINATED', {intervalMs})
      },
    }
  }
}
