import type {HetznerCredentials} from '@mantle/auth'
import {hetzner} from '@mantle/cloud'
import {InfraError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The Hetzner platform's own options (flatcar/mantle cmd/kola/options.go: --hetzner-*). */
export interface HetznerPlatformOptions {
  /** Resolves the token (profile file or HCLOUD_TOKEN); called once, when the flight is made. */
  credentials: () => Promise<HetznerCredentials>
  /** The API root (HCLOUD_ENDPOINT), default Hetzner's. */
  endpoint?: string | undefined
  /** The image machines boot: an id, or a name. */
  image: string
  serverType: string
  location: string
  pollIntervalMs?: number | undefined
}

export const hetznerPlatform: PlatformDefinition<HetznerPlatformOptions> = {
  name: 'hetzner',
  summary: 'Hetzner Cloud servers, the Ignition config as user data (no console in the API)',
  createFlight: createHetznerFlight,
}

/**
 * A Hetzner session: the token, server type, location and image checked
 * before anything is created (flatcar/mantle platform/api/hetzner New()); then
 * the run's SSH key, named by the run id and labelled with the gc marker,
 * deleted once every server is gone.
 */
async function createHetznerFlight(options: HetznerPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image) throw new UsageError('hetzner: no image to boot', {hint: 'pass --hetzner-image'})
  // Only the waits for a machine take the request's signal; deleting never does (it must finish after a SIGINT).
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs ?? 1000}
  // No abort signal on the API client: after a SIGINT it must still delete what the run made.
  const api = await hetzner.hetznerApi({credentials: await options.credentials(), endpoint: options.endpoint, logger: common.logger})
  const type = await api.serverType(options.serverType)
  await api.location(options.location)
  const image = await api.image(options.image, type.architecture)
  if (!image) throw new InfraError(`hetzner: image ${options.image} does not exist for ${type.architecture}`)
  const identity = await generateIdentity(common.distro.user)
  const key = await api.createSshKey({name: common.runId, public_key: identity.publicKey, labels: runLabels(common.runId)})
  common.logger.info(`hetzner: run ${common.runId} in ${options.location}: ssh key ${key.id}, image ${image.id}`)
  const settings = {api, options, imageId: image.id, runId: common.runId, context}
  const withKey = new HetznerProvisioner({...settings, sshKeys: [key.id]})
  const withoutKey = new HetznerProvisioner({...settings, sshKeys: []})
  return new RemoteFlight(
    'hetzner',
    identity,
    (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey),
    common,
    () =>
      api
        .deleteSshKey(key.id)
        .catch((e: unknown) => common.logger.warn(`hetzner: cannot delete ssh key ${key.id}: ${String(e)}; ore hetzner gc will`)),
  )
}

/** Our marker and the run id, as Hetzner labels. */
function runLabels(runId: string): Record<string, string> {
  return {...hetzner.HETZNER_LABELS, 'kola-run': runId}
}

interface HetznerSettings {
  api: hetzner.HetznerApi
  options: HetznerPlatformOptions
  imageId: number
  runId: string
  sshKeys: number[]
  context: {logger: CommonFlightOptions['logger']; pollIntervalMs: number}
}

/** One server per machine: created with the Ignition config as user_data, waited for, deleted. */
class HetznerProvisioner implements Provisioner {
  constructor(private readonly s: HetznerSettings) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, context} = this.s
    const created = await api.createServer({
      name: request.name,
      server_type: this.s.options.serverType,
      image: String(this.s.imageId),
      location: this.s.options.location,
      user_data: JSON.stringify(request.config),
      ssh_keys: this.s.sshKeys,
      labels: runLabels(this.s.runId),
      start_after_create: true,
    })
    const id = created.server.id
    context.logger.info(`hetzner: ${request.name} is server ${id}`)
    const terminate = () => hetzner.deleteServer(api, id, context)
    try {
      for (const action of [created.action, ...created.next_actions])
        await hetzner.waitAction(api, action, {...context, signal: request.signal})
      const server = (await api.getServer(id)) ?? created.server
      const ip = server.public_net.ipv4?.ip
      if (!ip) throw new InfraError(`hetzner: server ${id} has no public IPv4 address`)
      return {
        instanceId: String(id),
        ip,
        sshPort: 22,
        privateIp: server.private_net?.[0]?.ip ?? ip,
        // The Hetzner Cloud API has no console output (only a VNC console): flatcar/mantle reads none either.
        console: async () => '',
        terminate,
      }
    } catch (error) {
      await terminate().catch((e: unknown) => context.logger.warn(`hetzner: cannot delete server ${id}: ${String(e)}; ore hetzner gc will`))
      throw error
    }
  }
}
