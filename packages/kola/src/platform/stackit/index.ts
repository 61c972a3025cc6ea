import type {StackitAuth} from '@mantle/auth'
import {stackit} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The STACKIT platform's own options (flatcar/mantle cmd/kola/options.go: --stackit-*). */
export interface StackitPlatformOptions {
  credentials: () => Promise<StackitAuth>
  imageId: string
  machineType: string
  availabilityZone: string
  /** The network machines join (SSH must reach them); the original makes one per cluster. */
  networkId: string
  securityGroups: string[]
  endpoint?: string | undefined
  tokenUrl?: string | undefined
  pollIntervalMs?: number | undefined
}

export const stackitPlatform: PlatformDefinition<StackitPlatformOptions> = {
  name: 'stackit',
  summary: 'STACKIT servers, the Ignition config as user data, a public IP each',
  createFlight: createStackitFlight,
}

/**
 * A STACKIT session: the credentials proved (a token) and the image looked
 * up before anything is made; then the run's key pair (named by the run,
 * labelled as ours), deleted after the machines. Each machine is a server
 * and a public IP, both labelled, which `ore stackit gc` finds after a SIGKILL.
 */
async function createStackitFlight(options: StackitPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.imageId) throw new UsageError('stackit: no image to boot', {hint: 'pass --stackit-image-id'})
  if (!options.networkId) throw new UsageError('stackit: no network for the machines', {hint: 'pass --stackit-network-id'})
  // No abort signal on the client: after Ctrl-C the teardown's deletes must still go out.
  const api = await stackit.stackitApi({
    credentials: await options.credentials(),
    endpoint: options.endpoint,
    tokenUrl: options.tokenUrl,
    logger: common.logger,
  })
  const image = await api.getImageIfExists(options.imageId)
  if (!image || image.status !== 'AVAILABLE')
    throw new InfraError(`stackit: image ${options.imageId} ${image ? `is ${image.status}` : 'does not exist'} in ${api.region}`)
  const identity = await generateIdentity(common.distro.user)
  const keypair = (await api.createKeypair(common.runId, identity.publicKey)).name
  const release = () =>
    api
      .deleteKeypair(keypair)
      .catch((e: unknown) => common.logger.warn(`stackit: cannot delete key pair ${keypair}: ${String(e)}; ore stackit gc will`))
  common.logger.info(`stackit: run ${common.runId} in ${api.region}: key pair ${keypair}`)
  const withKey = new StackitProvisioner(api, options, keypair, common.logger)
  const withoutKey = new StackitProvisioner(api, options, undefined, common.logger)
  return new RemoteFlight('stackit', identity, (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey), common, release)
}

class StackitProvisioner implements Provisioner {
  constructor(
    private readonly api: stackit.StackitApi,
    private readonly options: StackitPlatformOptions,
    private readonly keypair: string | undefined,
    private readonly logger: CommonFlightOptions['logger'],
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, options, logger} = this
    const launched = await stackit.launchStackitServer(
      api,
      {
        name: request.name,
        machineType: options.machineType,
        availabilityZone: options.availabilityZone,
        imageId: options.imageId,
        networkId: options.networkId,
        keypairName: this.keypair,
        securityGroups: options.securityGroups,
        userData: JSON.stringify(request.config),
      },
      {intervalMs: options.pollIntervalMs ?? 2000, signal: request.signal, logger},
    )
    logger.info(`stackit: ${request.name} is ${launched.server.id} at ${launched.publicIp}`)
    return {
      instanceId: launched.server.id,
      ip: launched.publicIp,
      sshPort: 22,
      privateIp: launched.privateIp,
      console: () => api.serverLog(launched.server.id),
      terminate: () => stackit.removeStackitMachine(api, launched.server.id, launched.publicIpId),
    }
  }
}
