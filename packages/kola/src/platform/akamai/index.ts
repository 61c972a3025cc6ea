import type {AkamaiCredentials} from '@mantle/auth'
import {akamai} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The Akamai platform's own options (flatcar/mantle cmd/kola/options.go: --akamai-*). */
export interface AkamaiPlatformOptions {
  /** Resolves the token (profile file or LINODE_TOKEN); called once, when the flight is made. */
  credentials: () => Promise<AkamaiCredentials>
  /** The API root (LINODE_URL), default Linode's. */
  endpoint?: string | undefined
  /** The image machines boot (private/NNN, what ore akamai create-image makes). */
  image: string
  type: string
  region: string
  pollIntervalMs?: number | undefined
}

export const akamaiPlatform: PlatformDefinition<AkamaiPlatformOptions> = {
  name: 'akamai',
  summary: 'Akamai Cloud (Linode API v4) instances, the Ignition config as metadata user data (no console in the API)',
  createFlight: createAkamaiFlight,
}

/** The private addresses Linode gives (private_ip: true): 192.168.128.0/17. */
const PRIVATE = /^192\.168\./

/**
 * An Akamai session: the token and the image checked before anything is
 * created. Keys are per user profile, not per run, so kola's key travels in
 * the Ignition config only (as in flatcar/mantle).
 */
async function createAkamaiFlight(options: AkamaiPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image) throw new UsageError('akamai: no image to boot', {hint: 'pass --akamai-image'})
  // Only the waits for a machine take the request's signal; deleting never does (it must finish after a SIGINT).
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs ?? 1000}
  // No abort signal on the API client: after a SIGINT it must still delete what the run made.
  const api = await akamai.akamaiApi({credentials: await options.credentials(), endpoint: options.endpoint, logger: common.logger})
  const image = await api.getImage(options.image)
  if (!image) throw new InfraError(`akamai: image ${options.image} does not exist`)
  const identity = await generateIdentity(common.distro.user)
  common.logger.info(`akamai: run ${common.runId} in ${options.region}, image ${image.label}`)
  const provisioner: Provisioner = {
    async provision(request: ProvisionRequest): Promise<Provisioned> {
      const instance = await akamai.launchInstance(
        api,
        {
          label: request.name,
          region: options.region,
          type: options.type,
          image: options.image,
          userData: JSON.stringify(request.config),
          tags: [akamai.AKAMAI_TAG, common.runId],
        },
        {...context, signal: request.signal},
      )
      const terminate = () => api.deleteInstance(instance.id)
      const ip = instance.ipv4.find((a) => !PRIVATE.test(a))
      if (!ip) {
        await terminate().catch(() => undefined)
        throw new InfraError(`akamai: instance ${instance.id} has no public IPv4 address`)
      }
      return {
        instanceId: String(instance.id),
        ip,
        sshPort: 22,
        privateIp: instance.ipv4.find((a) => PRIVATE.test(a)) ?? ip,
        // The Linode API has no console output (Lish is an SSH service); flatcar/mantle reads none.
        console: async () => '',
        terminate,
      }
    },
  }
  return new RemoteFlight('akamai', identity, () => provisioner, common)
}
