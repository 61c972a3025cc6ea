import {createReadStream} from 'node:fs'
import {basename} from 'node:path'

import type {OpenStackCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, isMarked, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'

export interface GlanceImage {
  id: string
  name: string
  status: string
  tags?: string[] | undefined
  created_at?: string | undefined
}

export interface NovaServer {
  id: string
  name: string
  created: string
  status?: string | undefined
  metadata?: Record<string, string> | undefined
  key_name?: string | null | undefined
  /** Per network: `{addr, version, 'OS-EXT-IPS:type': 'fixed' | 'floating'}`. */
  addresses?: Record<string, Array<{addr: string; version: number; 'OS-EXT-IPS:type'?: string}>> | undefined
  fault?: {message?: string; code?: number} | undefined
}

export interface NovaKeyPair {
  name: string
  created_at?: string | undefined
}

export interface NeutronSecurityGroup {
  id: string
  name: string
  description?: string | undefined
  created_at?: string | undefined
}

export interface NovaFloatingIp {
  id: string
  ip: string
  pool?: string | undefined
  instance_id?: string | null | undefined
}

/** What Nova's POST /servers takes (compute API v2.1, no microversion: Flatcar's gophercloud calls). */
export interface NovaServerCreate {
  name: string
  flavorRef: string
  imageRef: string
  /** Base64, as Nova wants it (the Ignition config, for Flatcar's and Fedora CoreOS's config drive / metadata service). */
  user_data: string
  key_name?: string | undefined
  metadata: Record<string, string>
  security_groups: Array<{name: string}>
  networks: Array<{uuid: string}>
}

/** The OpenStack calls these modules make: Glance v2 images and Nova servers, after a Keystone v3 token. */
export interface OpenStackApi {
  findImages(name: string): Promise<GlanceImage[]>
  getImage(id: string): Promise<GlanceImage>
  createImage(input: {
    name: string
    disk_format: string
    container_format: 'bare'
    visibility: 'private'
    tags: string[]
  }): Promise<GlanceImage>
  uploadImageData(id: string, file: string, size: number, onProgress: (bytes: number) => void): Promise<void>
  deleteImage(id: string): Promise<void>
  listServers(): Promise<NovaServer[]>
  deleteServer(id: string): Promise<void>
  /** The server, or undefined once Nova no longer knows it (404). */
  getServer(id: string): Promise<NovaServer | undefined>
  createServer(server: NovaServerCreate): Promise<string>
  /** The serial console log (the os-getConsoleOutput server action). */
  consoleOutput(id: string): Promise<string>
  listFlavors(): Promise<Array<{id: string; name: string}>>
  listNetworks(): Promise<Array<{id: string; name: string}>>
  createKeyPair(name: string, publicKey: string): Promise<void>
  listKeyPairs(): Promise<NovaKeyPair[]>
  deleteKeyPair(name: string): Promise<void>
  findSecurityGroups(name?: string): Promise<NeutronSecurityGroup[]>
  createSecurityGroup(name: string, description: string): Promise<string>
  /** An ingress rule: a TCP port range from anywhere, or everything from members of `remoteGroupId`. */
  addIngressRule(groupId: string, rule: {ethertype: 'IPv4' | 'IPv6'} & ({port: number} | {remoteGroupId: string})): Promise<void>
  deleteSecurityGroup(id: string): Promise<void>
  createFloatingIp(pool: string): Promise<NovaFloatingIp>
  listFloatingIps(): Promise<NovaFloatingIp[]>
  associateFloatingIp(serverId: string, address: string): Promise<void>
  disassociateFloatingIp(serverId: string, address: string): Promise<void>
  deleteFloatingIp(id: string): Promise<void>
}

interface CatalogEntry {
  type: string
  endpoints: Array<{interface: string; region?: string; region_id?: string; url: string}>
}

/** Logs in to Keystone v3 with the profile's password and finds the image and compute endpoints. */
export async function openStackApi(options: CallContext & {credentials: OpenStackCredentials}): Promise<OpenStackApi> {
  const c = options.credentials
  const authUrl = c.auth_url.replace(/\/+$/, '').replace(/\/v3$/, '')
  const keystone = await restClient({
    ...options,
    service: 'keystone',
    baseUrl: `${authUrl}/v3`,
    credentialsHint: 'check username, password and project in the OpenStack profile',
  })
  const domain = {name: c.user_domain ?? c.domain ?? 'Default'}
  const project = c.tenant_id ? {id: c.tenant_id} : c.tenant_name ? {name: c.tenant_name, domain} : undefined
  const login = await keystone.request<{token: {catalog?: CatalogEntry[]}}>('POST', 'auth/tokens', {
    json: {
      auth: {
        identity: {methods: ['password'], password: {user: {name: c.username, domain, password: c.password}}},
        ...(project ? {scope: {project}} : {}),
      },
    },
  })
  const token = String(login.headers['x-subject-token'] ?? '')
  if (!token) throw new InfraError('keystone: the login answered without a token')
  const endpoint = (type: string): string => {
    const entry = login.body.token.catalog?.find((e) => e.type === type)
    const e = entry?.endpoints.find(
      (x) => x.interface === 'public' && (!c.region_name || x.region === c.region_name || x.region_id === c.region_name),
    )
    if (!e)
      throw new UsageError(
        `openstack: no public ${type} endpoint${c.region_name ? ` in region ${c.region_name}` : ''} in the service catalog`,
        {hint: 'check region_name in the OpenStack profile'},
      )
    return e.url.replace(/\/+$/, '')
  }
  const headers = {'x-auth-token': token}
  const glance: RestClient = await restClient({...options, service: 'glance', baseUrl: endpoint('image'), headers})
  const nova: RestClient = await restClient({...options, service: 'nova', baseUrl: endpoint('compute'), headers, describeError: novaError})
  // Neutron only for the calls that need it (ore's image commands work on a cloud whose catalog has none).
  let neutronClient: Promise<RestClient> | undefined
  const neutron = (): Promise<RestClient> =>
    (neutronClient ??= Promise.resolve().then(() =>
      restClient({...options, service: 'neutron', baseUrl: endpoint('network'), headers, describeError: novaError}),
    ))
  return {
    findImages: async (name) => (await glance.get<{images: GlanceImage[]}>('v2/images', {searchParams: {name}})).images,
    getImage: (id) => glance.get<GlanceImage>(`v2/images/${id}`),
    createImage: (input) => glance.post<GlanceImage>('v2/images', input),
    uploadImageData: async (id, file, size, onProgress) => {
      await glance.request('PUT', `v2/images/${id}/file`, {
        body: createReadStream(file),
        headers: {'content-type': 'application/octet-stream', 'content-length': String(size)},
        onUploadProgress: onProgress,
      })
    },
    deleteImage: (id) => glance.delete(`v2/images/${id}`),
    listServers: async () => {
      const out: NovaServer[] = []
      let marker: string | undefined
      for (;;) {
        const page = await nova.get<{servers: NovaServer[]}>('servers/detail', {searchParams: {limit: 200, marker}})
        out.push(...page.servers)
        if (page.servers.length < 200) return out
        marker = page.servers.at(-1)!.id
      }
    },
    deleteServer: (id) => nova.delete(`servers/${id}`),
    getServer: async (id) => {
      const r = await nova.request<{server: NovaServer}>('GET', `servers/${id}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body.server
    },
    createServer: async (server) => {
      // Nova refuses an exhausted quota with 403 Forbidden: that is a refused launch (exit 3), not bad credentials.
      const r = await nova.request<{server?: {id: string}}>('POST', 'servers', {json: {server}, expect: [403]})
      if (r.status === 403 || !r.body.server)
        throw new InfraError(`openstack: launching ${server.name} was refused: ${novaError(r.body) ?? 'no reason given'}`)
      return r.body.server.id
    },
    consoleOutput: async (id) => (await nova.post<{output?: string}>(`servers/${id}/action`, {'os-getConsoleOutput': {}})).output ?? '',
    listFlavors: async () => (await nova.get<{flavors: Array<{id: string; name: string}>}>('flavors/detail')).flavors,
    listNetworks: async () => (await (await neutron()).get<{networks: Array<{id: string; name: string}>}>('v2.0/networks')).networks,
    createKeyPair: async (name, publicKey) => {
      await nova.post('os-keypairs', {keypair: {name, public_key: publicKey}})
    },
    listKeyPairs: async () => {
      const list = await nova.get<{keypairs: Array<{keypair: NovaKeyPair}>}>('os-keypairs')
      // The list omits created_at (compute API reference); the detail has it.
      return Promise.all(
        list.keypairs.map(async ({keypair}) => (await nova.get<{keypair: NovaKeyPair}>(`os-keypairs/${keypair.name}`)).keypair),
      )
    },
    deleteKeyPair: (name) => nova.delete(`os-keypairs/${name}`),
    findSecurityGroups: async (name) =>
      (await (await neutron()).get<{security_groups: NeutronSecurityGroup[]}>('v2.0/security-groups', {searchParams: {name}}))
        .security_groups,
    createSecurityGroup: async (name, description) =>
      (await (await neutron()).post<{security_group: {id: string}}>('v2.0/security-groups', {security_group: {name, description}}))
        .security_group.id,
    addIngressRule: async (groupId, rule) => {
      await (
        await neutron()
      ).post('v2.0/security-group-rules', {
        security_group_rule: {
          security_group_id: groupId,
          direction: 'ingress',
          ethertype: rule.ethertype,
          ...('port' in rule
            ? {protocol: 'tcp', port_range_min: rule.port, port_range_max: rule.port, remote_ip_prefix: '0.0.0.0/0'}
            : {remote_group_id: rule.remoteGroupId}),
        },
      })
    },
    deleteSecurityGroup: async (id) => (await neutron()).delete(`v2.0/security-groups/${id}`),
    createFloatingIp: async (pool) => (await nova.post<{floating_ip: NovaFloatingIp}>('os-floating-ips', {pool})).floating_ip,
    listFloatingIps: async () => (await nova.get<{floating_ips: NovaFloatingIp[]}>('os-floating-ips')).floating_ips,
    associateFloatingIp: async (serverId, address) => {
      await nova.post(`servers/${serverId}/action`, {addFloatingIp: {address}})
    },
    disassociateFloatingIp: async (serverId, address) => {
      await nova.post(`servers/${serverId}/action`, {removeFloatingIp: {address}})
    },
    deleteFloatingIp: (id) => nova.delete(`os-floating-ips/${id}`),
  }
}

/** Nova's and Neutron's error bodies: `{"<kind>": {"message": ..., "code": ...}}` or `{"NeutronError": {"message": ...}}`. */
function novaError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  for (const value of Object.values(body as Record<string, unknown>))
    if (value && typeof value === 'object' && typeof (value as {message?: unknown}).message === 'string')
      return (value as {message: string}).message
  return undefined
}

/**
 * Creates a Glance image and uploads the disk, then waits until it is active.
 * An active image of the same name is reused unless forced; one that was
 * left half-made (queued, killed) is deleted and made again.
 */
export async function createOpenStackImage(options: {
  api: OpenStackApi
  name: string
  file: string
  diskFormat: 'qcow2' | 'raw'
  force?: boolean | undefined
  context: ServiceContext
}): Promise<{id: string; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  const size = await requireFile(options.file)
  for (const image of await api.findImages(name)) {
    if (image.status === 'active' && !options.force) {
      ctx.logger.notice(`image ${name} exists as ${image.id}; reusing it`)
      return {id: image.id, name, created: false}
    }
    ctx.logger.notice(`deleting image ${image.id} (${image.status})`)
    await api.deleteImage(image.id)
  }
  const image = await api.createImage({
    name,
    disk_format: options.diskFormat,
    container_format: 'bare',
    visibility: 'private',
    tags: [MARKER_VALUE],
  })
  const progress = uploadProgress(ctx, `upload ${basename(options.file)}`, size)
  try {
    await api.uploadImageData(image.id, options.file, size, progress.onProgress)
  } catch (error) {
    await api.deleteImage(image.id).catch(() => ctx.logger.warn(`could not delete the half-made image ${image.id}`))
    throw error
  } finally {
    progress.finish()
  }
  await pollUntil(
    async () => {
      const current = await api.getImage(image.id)
      if (current.status === 'active') return true
      if (current.status === 'killed' || current.status === 'deleted')
        throw new InfraError(`openstack: image ${image.id} is ${current.status} after the upload`)
      return undefined
    },
    {what: `image ${image.id} to become active`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
  )
  return {id: image.id, name, created: true}
}

export async function deleteOpenStackImage(options: {
  api: OpenStackApi
  image: string
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const byId = /^[0-9a-f-]{36}$/.test(options.image)
  const ids = byId ? [options.image] : (await options.api.findImages(options.image)).map((i) => i.id)
  if (ids.length === 0) throw new UsageError(`openstack: no image named "${options.image}"`)
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

/** The marker of a security group (Neutron groups have a description, not metadata). */
export const SECURITY_GROUP_MARKER = `${MARKER_KEY}=${MARKER_VALUE}`
/** kola's run resources are named `kola-<8 hex>`: key pairs (which carry no metadata) are told ours by it. */
const RUN_NAME = /^kola-[0-9a-f]{8}(-|$)/

/**
 * Deletes servers whose metadata carries our marker and that are older than
 * the cutoff (their floating IPs first); with `runResources`, also kola's
 * run key pairs (named by the run, unused) and marked security groups.
 */
export async function gcOpenStack(options: {
  api: OpenStackApi
  olderThanMs: number
  dryRun?: boolean | undefined
  /** Also key pairs and security groups (needs Neutron in the catalog). */
  runResources?: boolean | undefined
  context: ServiceContext
}): Promise<{deletedServers: string[]; deletedKeyPairs?: string[]; deletedSecurityGroups?: string[]}> {
  const {api, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const servers = await api.listServers()
  const doomed = servers.filter((s) => isExpired({marked: isMarked(s.metadata), created: new Date(s.created)}, cutoff))
  const floating = doomed.length > 0 && options.runResources ? await api.listFloatingIps() : []
  for (const s of doomed) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} server ${s.name} (${s.id})`)
    if (options.dryRun) continue
    for (const f of floating.filter((x) => x.instance_id === s.id)) await releaseFloatingIp(api, s.id, f, ctx)
    await api.deleteServer(s.id)
  }
  const result = {deletedServers: doomed.map((s) => s.id)}
  if (!options.runResources) return result
  if (!options.dryRun) for (const s of doomed) await waitServerGone(api, s.id, ctx)

  const inUse = new Set(servers.filter((s) => !doomed.includes(s)).map((s) => s.key_name))
  const keys = (await api.listKeyPairs()).filter(
    (k) => RUN_NAME.test(k.name) && !inUse.has(k.name) && isExpired({marked: true, created: novaTime(k.created_at)}, cutoff),
  )
  for (const k of keys) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} key pair ${k.name}`)
    if (!options.dryRun) await api.deleteKeyPair(k.name)
  }
  const groups = (await api.findSecurityGroups()).filter((g) =>
    isExpired({marked: g.description === SECURITY_GROUP_MARKER, created: novaTime(g.created_at)}, cutoff),
  )
  for (const g of groups) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} security group ${g.name} (${g.id})`)
    if (!options.dryRun) await api.deleteSecurityGroup(g.id)
  }
  return {...result, deletedKeyPairs: keys.map((k) => k.name), deletedSecurityGroups: groups.map((g) => g.id)}
}

/** Nova writes times without a zone ("2026-12-06T11:00:00.000000"): they are UTC. */
function novaTime(value: string | undefined): Date | undefined {
  if (!value) return undefined
  return new Date(/(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`)
}

async function releaseFloatingIp(api: OpenStackApi, serverId: string, f: NovaFloatingIp, ctx: CallContext): Promise<void> {
  await api
    .disassociateFloatingIp(serverId, f.ip)
    .catch((e: unknown) => ctx.logger.debug(`openstack: disassociating ${f.ip}: ${String(e)}`))
  await api.deleteFloatingIp(f.id)
}

/** The marked security group a run makes: SSH from anywhere, everything between its own members (as Flatcar's "kola" group). */
export async function createRunSecurityGroup(api: OpenStackApi, name: string): Promise<string> {
  const id = await api.createSecurityGroup(name, SECURITY_GROUP_MARKER)
  try {
    await api.addIngressRule(id, {ethertype: 'IPv4', port: 22})
    await api.addIngressRule(id, {ethertype: 'IPv4', remoteGroupId: id})
    await api.addIngressRule(id, {ethertype: 'IPv6', remoteGroupId: id})
  } catch (error) {
    await api.deleteSecurityGroup(id).catch(() => undefined)
    throw error
  }
  return id
}

/** A flavor, image or network given by id or name, as Flatcar's kola resolves them. */
export async function resolveRef(
  what: 'flavor' | 'image' | 'network',
  ref: string,
  list: () => Promise<Array<{id: string; name: string}>>,
): Promise<string> {
  const all = await list()
  const found = all.find((x) => x.id === ref) ?? all.find((x) => x.name === ref)
  if (!found) throw new InfraError(`openstack: ${what} ${JSON.stringify(ref)} does not exist`)
  return found.id
}

export interface LaunchedServer {
  id: string
  /** Where SSH reaches it: the floating IP, else its fixed IPv4 address. */
  ip: string
  privateIp: string
  /** The floating IP made for it, released on delete. */
  floatingIp?: NovaFloatingIp | undefined
}

/**
 * Creates a server and waits until it is ACTIVE; with a pool, gives it a new
 * floating IP. On any failure the server (and its IP) is deleted again.
 */
export async function launchServer(
  api: OpenStackApi,
  server: NovaServerCreate,
  options: {floatingIpPool?: string | undefined; context: ServiceContext},
): Promise<LaunchedServer> {
  const ctx = options.context
  const id = await api.createServer(server)
  let floatingIp: NovaFloatingIp | undefined
  try {
    let current = await waitActive(api, id, ctx)
    if (options.floatingIpPool) {
      floatingIp = await api.createFloatingIp(options.floatingIpPool)
      await api.associateFloatingIp(id, floatingIp.ip)
      current = (await api.getServer(id)) ?? current
    }
    const fixed = fixedIpv4(current)
    if (!fixed) throw new InfraError(`openstack: server ${id} is ACTIVE without a fixed IPv4 address`)
    return {id, ip: floatingIp?.ip ?? fixed, privateIp: fixed, floatingIp}
  } catch (error) {
    await deleteServerAndWait(api, id, {...ctx, signal: undefined}, floatingIp).catch((e: unknown) =>
      ctx.logger.warn(`openstack: cannot delete server ${id}: ${String(e)}; ore openstack gc will`),
    )
    throw error
  }
}

async function waitActive(api: OpenStackApi, id: string, ctx: ServiceContext): Promise<NovaServer> {
  return pollUntil(
    async () => {
      const s = await api.getServer(id)
      if (!s) throw new InfraError(`openstack: server ${id} disappeared while starting`)
      if (s.status === 'ERROR') throw new InfraError(`openstack: server ${id} failed: ${s.fault?.message ?? 'status ERROR'}`)
      return s.status === 'ACTIVE' ? s : undefined
    },
    {what: `server ${id} to become ACTIVE`, intervalMs: ctx.pollIntervalMs ?? 2000, timeoutMs: 10 * 60_000, signal: ctx.signal},
  )
}

function fixedIpv4(s: NovaServer): string | undefined {
  for (const addrs of Object.values(s.addresses ?? {}))
    for (const a of addrs) if (a.version === 4 && (a['OS-EXT-IPS:type'] ?? 'fixed') === 'fixed') return a.addr
  return undefined
}

/** Releases the server's floating IP, deletes it, and waits until Nova no longer knows it. */
export async function deleteServerAndWait(
  api: OpenStackApi,
  id: string,
  ctx: ServiceContext,
  floatingIp?: NovaFloatingIp | undefined,
): Promise<void> {
  if (floatingIp) await releaseFloatingIp(api, id, floatingIp, ctx)
  await api.deleteServer(id)
  await waitServerGone(api, id, ctx)
}

async function waitServerGone(api: OpenStackApi, id: string, ctx: ServiceContext): Promise<void> {
  await pollUntil(async () => ((await api.getServer(id))?.status ?? 'DELETED') === 'DELETED' || undefined, {
    what: `server ${id} to be deleted`,
    intervalMs: ctx.pollIntervalMs ?? 2000,
    timeoutMs: 10 * 60_000,
  })
}
