import type {DoCredentials} from '@mantle/auth'
import {digitalocean, MARKER_VALUE} from '@mantle/cloud'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The DigitalOcean platform's own options (flatcar/mantle cmd/kola/options.go: --do-*). */
export interface DoPlatformOptions {
  /** Resolves the token (--do-token, else the profile of --do-config-file); called once, when the flight is made. */
  credentials: () => Promise<DoCredentials>
  region: string
  size: string
  /** An image id, or the name of a private image in the region. */
  image: string
  /** DigitalOcean's API root (auth's resolveEndpoints); default https://api.digitalocean.com/v2. */
  endpoint?: string | undefined
  /** Between two polls of an action or a droplet. */
  pollIntervalMs?: number | undefined
}

export const doPlatform: PlatformDefinition<DoPlatformOptions> = {
  name: 'do',
  summary: 'DigitalOcean droplets, the Ignition config as user data (no console: DigitalOcean has no API for it)',
  createFlight: createDoFlight,
}

/** What console.txt holds on DigitalOcean. */
export const DO_NO_CONSOLE =
  "DigitalOcean has no API that returns a droplet's serial console (flatcar/mantle's do platform records none either); see journal.txt, recorded over SSH.\n"

/**
 * A DigitalOcean session: the token (GET /v2/account) and the image are
 * checked before anything is created; then the run's SSH key, named by the
 * run id with the marker and its creation time (keys have no tags), deleted
 * once every droplet is.
 */
async function createDoFlight(options: DoPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  const credentials = await options.credentials()
  // No abort signal on the client: an interrupted run must still be able to delete its droplets and key.
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs}
  const api = await digitalocean.doApi({credentials, endpoint: options.endpoint, logger: common.logger})
  await api.getAccount()
  const image = await digitalocean.requireDoImage(api, options.image, options.region)
  const identity = await generateIdentity(common.distro.user)
  const key = await digitalocean.createMarkedKey(api, common.runId, identity.publicKey, context)
  common.logger.info(`do: run ${common.runId} in ${options.region}: image ${image.id} (${image.name}), key ${key.id}`)
  const settings = {...options, imageId: image.id, runId: common.runId, logger: common.logger}
  const withKey = new DropletProvisioner(api, settings, [key.id])
  // Custom images need no SSH key (the original's "fake" key was for DigitalOcean's own CoreOS images, which are gone).
  const withoutKey = new DropletProvisioner(api, settings, [])
  return new RemoteFlight(
    'do',
    identity,
    (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey),
    common,
    () =>
      api.deleteKey(key.id).catch((e: unknown) => common.logger.warn(`do: cannot delete SSH key ${key.id}: ${String(e)}; ore do gc will`)),
  )
}

type DropletSettings = DoPlatformOptions & {imageId: number; runId: string; logger: CommonFlightOptions['logger']}

/** One droplet per machine: created (tagged as ours), waited for, deleted. */
class DropletProvisioner implements Provisioner {
  constructor(
    private readonly api: digitalocean.DoApi,
    private readonly settings: DropletSettings,
    private readonly sshKeys: number[],
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, settings} = this
    const context = {logger: settings.logger, pollIntervalMs: settings.pollIntervalMs}
    const launched = await digitalocean.launchDroplet(
      api,
      {
        name: request.name,
        region: settings.region,
        size: settings.size,
        image: settings.imageId,
        ssh_keys: this.sshKeys,
        user_data: JSON.stringify(request.config),
        ipv6: false,
        tags: [MARKER_VALUE],
      },
      context,
    )
    settings.logger.info(`do: ${request.id} is droplet ${launched.id} (${request.name})`)
    const terminate = (): Promise<void> => digitalocean.deleteDropletAndWait(api, launched.id, context)
    let address: {publicIp: string; privateIp: string}
    try {
      address = await launched.wait(request.signal)
    } catch (error) {
      await terminate().catch((e: unknown) =>
        settings.logger.warn(`do: cannot delete droplet ${launched.id}: ${String(e)}; ore do gc will`),
      )
      throw error
    }
    return {
      instanceId: String(launched.id),
      ip: address.publicIp,
      sshPort: 22,
      privateIp: address.privateIp,
      console: async () => DO_NO_CONSOLE,
      terminate,
    }
  }
}
