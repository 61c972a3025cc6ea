import type {BrightboxCredentials} from '@mantle/auth'
import {brightbox} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The Brightbox platform's own options (flatcar/mantle cmd/kola/options.go: --brightbox-*). */
export interface BrightboxPlatformOptions {
  /** Reads the profile; called once, when the flight is made. */
  credentials: () => Promise<BrightboxCredentials>
  image: string
  serverType: string
  endpoint?: string | undefined
  pollIntervalMs?: number | undefined
}

export const brightboxPlatform: PlatformDefinition<BrightboxPlatformOptions> = {
  name: 'brightbox',
  summary: 'Brightbox Cloud servers, the Ignition config as user data, a cloud IP each',
  createFlight: createBrightboxFlight,
}

/**
 * A Brightbox session: the API client proved (its token) and the image
 * looked up before anything is made. SSH keys live on the Brightbox user,
 * so kola's key reaches the machine in the Ignition config only; each
 * machine is a server and a cloud IP, both named by the run (kola-...),
 * which is how `ore brightbox gc` knows them: Brightbox has no tags.
 */
async function createBrightboxFlight(options: BrightboxPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image) throw new UsageError('brightbox: no image to boot', {hint: 'pass --brightbox-image'})
  // No abort signal on the client: after Ctrl-C the teardown's deletes must still go out.
  const api = await brightbox.brightboxApi({credentials: await options.credentials(), endpoint: options.endpoint, logger: common.logger})
  const image = await api.getImageIfExists(options.image)
  if (!image || image.status !== 'available')
    throw new InfraError(`brightbox: image ${options.image} ${image ? `is ${image.status}` : 'does not exist'}`)
  const identity = await generateIdentity(common.distro.user)
  const provisioner = new BrightboxProvisioner(api, options, common.logger)
  return new RemoteFlight('brightbox', identity, () => provisioner, common)
}

class BrightboxProvisioner implements Provisioner {
  constructor(
    private readonly api: brightbox.BrightboxApi,
    private readonly options: BrightboxPlatformOptions,
    private readonly logger: CommonFlightOptions['logger'],
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, logger} = this
    const intervalMs = this.options.pollIntervalMs ?? 2000
    const launched = await brightbox.launchBrightboxServer(
      api,
      {name: request.name, image: this.options.image, serverType: this.options.serverType, userData: JSON.stringify(request.config)},
      {intervalMs, signal: request.signal, logger},
    )
    logger.info(`brightbox: ${request.name} is ${launched.server.id} at ${launched.publicIp}`)
    return {
      instanceId: launched.server.id,
      ip: launched.publicIp,
      sshPort: 22,
      privateIp: launched.privateIp,
      // Brightbox's API has no console output (the original returns none either).
      console: async () => 'brightbox: the API has no console output\n',
      terminate: () => brightbox.removeBrightboxMachine(api, launched.server.id, launched.cloudIpId),
    }
  }
}
