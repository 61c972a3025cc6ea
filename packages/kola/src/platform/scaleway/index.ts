import type {ScalewayCredentials} from '@mantle/auth'
import {scaleway} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The Scaleway platform's own options (flatcar/mantle cmd/kola/options.go: --scaleway-*). */
export interface ScalewayPlatformOptions {
  /** Resolves the API key and project (profile file or SCW_*); called once, when the flight is made. */
  credentials: () => Promise<ScalewayCredentials>
  /** The API root (SCW_API_URL), default Scaleway's. */
  endpoint?: string | undefined
  zone: string
  /** The snapshot machines boot from (what ore scaleway create-image makes). */
  image: string
  instanceType: string
  pollIntervalMs?: number | undefined
}

export const scalewayPlatform: PlatformDefinition<ScalewayPlatformOptions> = {
  name: 'scaleway',
  summary: 'Scaleway instances from a snapshot, the Ignition config as cloud-init user data (no console in the API)',
  createFlight: createScalewayFlight,
}

/**
 * A Scaleway session: the key and the snapshot checked before anything is
 * created. Scaleway keeps SSH keys per project, not per run, so kola's key
 * travels in the Ignition config only (as in flatcar/mantle).
 */
async function createScalewayFlight(options: ScalewayPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image) throw new UsageError('scaleway: no snapshot to boot', {hint: 'pass --scaleway-image'})
  // Only the waits for a machine take the request's signal; deleting never does (it must finish after a SIGINT).
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs ?? 1000}
  const credentials = await options.credentials()
  // No abort signal on the API client: after a SIGINT it must still delete what the run made.
  const api = await scaleway.scalewayApi({credentials, zone: options.zone, endpoint: options.endpoint, logger: common.logger})
  const snapshot = await api.getSnapshot(options.image)
  if (!snapshot) throw new InfraError(`scaleway: snapshot ${options.image} does not exist in ${options.zone}`)
  const identity = await generateIdentity(common.distro.user)
  common.logger.info(`scaleway: run ${common.runId} in ${options.zone}, snapshot ${snapshot.name}`)
  const provisioner = new ScalewayProvisioner(api, options, credentials.project_id, common.runId, context)
  return new RemoteFlight('scaleway', identity, () => provisioner, common)
}

/** One server per machine: created stopped, its user data set, powered on, waited for; terminated with its volume. */
class ScalewayProvisioner implements Provisioner {
  constructor(
    private readonly api: scaleway.ScalewayApi,
    private readonly options: ScalewayPlatformOptions,
    private readonly project: string,
    private readonly runId: string,
    private readonly context: {logger: CommonFlightOptions['logger']; pollIntervalMs: number},
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, context} = this
    const server = await api.createServer({
      name: request.name,
      commercial_type: this.options.instanceType,
      project: this.project,
      tags: [scaleway.SCALEWAY_TAG, `kola-run=${this.runId}`],
      volumes: {'0': {base_snapshot: this.options.image, volume_type: 'l_ssd', name: `${request.name}-root`}},
    })
    context.logger.info(`scaleway: ${request.name} is server ${server.id}`)
    const terminate = () => scaleway.deleteServer(api, server.id, context)
    try {
      await api.setUserData(server.id, scaleway.USER_DATA_KEY, JSON.stringify(request.config))
      await api.action(server.id, 'poweron')
      const running = await scaleway.waitServerState(api, server.id, 'running', {...context, signal: request.signal})
      const ip = running.public_ip?.address
      if (!ip) throw new InfraError(`scaleway: server ${server.id} has no public IP address`)
      return {
        instanceId: server.id,
        ip,
        sshPort: 22,
        privateIp: running.private_ip ?? ip,
        // Scaleway's API has no console output (only a serial console over a websocket); flatcar/mantle reads none.
        console: async () => '',
        terminate,
      }
    } catch (error) {
      await terminate().catch((e: unknown) =>
        context.logger.warn(`scaleway: cannot delete server ${server.id}: ${String(e)}; ore scaleway gc will`),
      )
      throw error
    }
  }
}
