import type {OpenStackCredentials} from '@mantle/auth'
import {MARKER_KEY, MARKER_VALUE, openstack} from '@mantle/cloud'
import {InfraError, isMantleError, UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {checkJumpHost, generateIdentity, type JumpHost, jumpHostFrom} from '../ssh.js'

/** The OpenStack platform's own options (flatcar/mantle cmd/kola/options.go: --openstack-*). */
export interface OpenStackPlatformOptions {
  /** Reads the profile (--openstack-config-file, --openstack-profile); called once, when the flight is made. */
  credentials: () => Promise<OpenStackCredentials>
  /** Overrides the profile's region_name. */
  region?: string | undefined
  /** Image id or name (Glance). */
  image: string
  /** Flavor id or name; Flatcar's default is "1". */
  flavor: string
  /** Network id or name; the first network when none is given. */
  network?: string | undefined
  /** Overrides the profile's domain. */
  domain?: string | undefined
  /** Each machine gets a floating IP from this pool (default: the profile's floating_ip_pool); else its fixed address is used. */
  floatingIpPool?: string | undefined
  /** Between two polls of a server's status. */
  pollIntervalMs?: number | undefined
  /** --openstack-host, -user, -keyfile: SSH reaches the servers through this host (host[:port]) as that user with that key. */
  jumpHost?: {address: string; user: string; keyFile: string} | undefined
}

export const openstackPlatform: PlatformDefinition<OpenStackPlatformOptions> = {
  name: 'openstack',
  summary: 'OpenStack Nova servers, the Ignition config as user data',
  createFlight: createOpenStackFlight,
}

/**
 * A Nova session: Keystone login, then flavor, image and network resolved
 * before anything is created; then the run's key pair and security group,
 * named by the run id (the group marked in its description), deleted once
 * every server is gone.
 */
async function createOpenStackFlight(options: OpenStackPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.image) throw new UsageError('openstack: no image to boot', {hint: 'pass --openstack-image'})
  const jumpHost = options.jumpHost
  const jump = jumpHost && (await jumpHostFrom(jumpHost.address, jumpHost.user, jumpHost.keyFile, '--openstack-keyfile'))
  const profile = await options.credentials()
  const credentials = {
    ...profile,
    ...(options.region ? {region_name: options.region} : {}),
    ...(options.domain ? {domain: options.domain} : {}),
  }
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs}
  // No abort signal on the client: after Ctrl-C its calls must still delete what the run made (the waits take the signal).
  const api = await openstack.openStackApi({credentials, logger: common.logger})
  const flavor = await openstack.resolveRef('flavor', options.flavor, () => api.listFlavors())
  const image = await resolveImage(api, options.image)
  const networks = await api.listNetworks()
  const network = options.network ? await openstack.resolveRef('network', options.network, async () => networks) : networks[0]?.id
  if (!network) throw new InfraError('openstack: the project has no network', {hint: 'create one, or pass --openstack-network'})
  if (jump) {
    await checkJumpHost(jump, '--openstack-keyfile', common.signal)
    common.logger.info(`openstack: SSH goes through ${jump.user}@${jump.host}:${jump.port}`)
  }
  const identity = await generateIdentity(common.distro.user)
  const created: {keyName?: string | undefined; groupId?: string | undefined} = {}
  try {
    await api.createKeyPair(common.runId, identity.publicKey)
    created.keyName = common.runId
    created.groupId = await openstack.createRunSecurityGroup(api, common.runId)
    common.logger.info(`openstack: run ${common.runId}: key pair ${common.runId}, security group ${created.groupId}`)
    const settings: NovaSettings = {
      api,
      context,
      runId: common.runId,
      flavor,
      image,
      network,
      keyName: common.runId,
      floatingIpPool: options.floatingIpPool ?? profile.floating_ip_pool,
      jump,
    }
    const withKey = new NovaProvisioner(settings)
    const withoutKey = new NovaProvisioner({...settings, keyName: undefined})
    return new RemoteFlight(
      'openstack',
      identity,
      (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey),
      common,
      () => deleteRunResources(api, created, common),
    )
  } catch (error) {
    await deleteRunResources(api, created, common)
    throw error
  }
}

/** By name in Glance, else by id. */
async function resolveImage(api: openstack.OpenStackApi, ref: string): Promise<string> {
  const named = await api.findImages(ref)
  if (named[0]) return named[0].id
  if (/^[0-9a-f-]{36}$/.test(ref)) {
    const byId = await api.getImage(ref).catch((error: unknown) => {
      if (isMantleError(error) && (error as {statusCode?: number}).statusCode === 404) return undefined
      throw error
    })
    if (byId) return byId.id
  }
  throw new InfraError(`openstack: image ${JSON.stringify(ref)} does not exist`, {hint: 'check --openstack-image'})
}

async function deleteRunResources(
  api: openstack.OpenStackApi,
  created: {keyName?: string | undefined; groupId?: string | undefined},
  common: CommonFlightOptions,
): Promise<void> {
  if (created.keyName)
    await api
      .deleteKeyPair(created.keyName)
      .catch((e: unknown) =>
        common.logger.warn(`openstack: cannot delete key pair ${created.keyName}: ${String(e)}; ore openstack gc will`),
      )
  if (created.groupId)
    await api
      .deleteSecurityGroup(created.groupId)
      .catch((e: unknown) =>
        common.logger.warn(`openstack: cannot delete security group ${created.groupId}: ${String(e)}; ore openstack gc will`),
      )
  created.keyName = undefined
  created.groupId = undefined
}

interface NovaSettings {
  api: openstack.OpenStackApi
  context: {logger: CommonFlightOptions['logger']; pollIntervalMs?: number | undefined}
  runId: string
  flavor: string
  image: string
  network: string
  keyName?: string | undefined
  floatingIpPool?: string | undefined
  jump?: JumpHost | undefined
}

/** One Nova server per machine: created, waited for, its console read, deleted. */
class NovaProvisioner implements Provisioner {
  constructor(private readonly settings: NovaSettings) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, context} = this.settings
    const server = await openstack.launchServer(
      api,
      {
        name: request.name,
        flavorRef: this.settings.flavor,
        imageRef: this.settings.image,
        user_data: Buffer.from(JSON.stringify(request.config)).toString('base64'),
        ...(this.settings.keyName ? {key_name: this.settings.keyName} : {}),
        metadata: {[MARKER_KEY]: MARKER_VALUE, 'kola-run': this.settings.runId},
        security_groups: [{name: this.settings.runId}],
        networks: [{uuid: this.settings.network}],
      },
      {floatingIpPool: this.settings.floatingIpPool, context: {...context, signal: request.signal}},
    )
    context.logger.info(`openstack: ${request.name} is ${server.id}`)
    return {
      instanceId: server.id,
      ip: server.ip,
      sshPort: 22,
      privateIp: server.privateIp,
      jump: this.settings.jump,
      console: () => api.consoleOutput(server.id),
      terminate: () => openstack.deleteServerAndWait(api, server.id, context, server.floatingIp),
    }
  }
}
