import type {BrightboxCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {restClient} from '../common/http.js'
import {isExpired, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {gcCutoff, resolveRefs, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'

/**
 * Brightbox's API 1.0 (https://api.gb1.brightbox.com/1.0), with the calls of
 * gobrightbox v2 as flatcar/mantle platform/api/brightbox/api.go makes them:
 * an OAuth2 client-credentials token, images registered from a URL (an
 * object in Orbit, its Swift storage), servers with base64 user data and a
 * mapped cloud IP. Brightbox has no tags or labels: what we make carries our
 * marker in its description (images, volumes) or, where there is no
 * description (servers, cloud IPs), in its name (kola names them kola-...).
 * SSH keys belong to the Brightbox user, not to resources: there are none to collect.
 */

export const BRIGHTBOX_API = 'https://api.gb1.brightbox.com'
/** The description of what we make: our marker as key=value. */
export const BRIGHTBOX_MARKER = `${MARKER_KEY}=${MARKER_VALUE}`
/** The name prefix of kola's servers and cloud IPs. */
export const BRIGHTBOX_NAME_PREFIX = 'kola-'

export interface BrightboxImage {
  id: string
  name?: string | undefined
  status: string
  public?: boolean | undefined
  created_at?: string | undefined
  description?: string | undefined
}
export interface BrightboxServer {
  id: string
  name?: string | undefined
  status: string
  created_at?: string | undefined
  cloud_ips?: Array<{id: string; public_ip?: string | undefined}> | undefined
  interfaces?: Array<{ipv4_address?: string | undefined}> | undefined
}
export interface BrightboxVolume {
  id: string
  name?: string | undefined
  status: string
  created_at?: string | undefined
  description?: string | undefined
}
export interface BrightboxCloudIp {
  id: string
  name?: string | undefined
  status: string
  public_ip?: string | undefined
}

export interface BrightboxApi {
  listImages(): Promise<BrightboxImage[]>
  getImage(id: string): Promise<BrightboxImage>
  /** Undefined when Brightbox answers 404. */
  getImageIfExists(id: string): Promise<BrightboxImage | undefined>
  createServer(input: {name: string; image: string; serverType: string; userData: string}): Promise<BrightboxServer>
  createCloudIp(name: string): Promise<BrightboxCloudIp>
  mapCloudIp(id: string, serverId: string): Promise<void>
  createImage(input: {name: string; url: string; arch: 'x86_64' | 'arm64'}): Promise<BrightboxImage>
  deleteImage(id: string): Promise<void>
  listServers(): Promise<BrightboxServer[]>
  getServer(id: string): Promise<BrightboxServer>
  deleteServer(id: string): Promise<void>
  listVolumes(): Promise<BrightboxVolume[]>
  deleteVolume(id: string): Promise<void>
  listCloudIps(): Promise<BrightboxCloudIp[]>
  unmapCloudIp(id: string): Promise<void>
  deleteCloudIp(id: string): Promise<void>
}

export async function brightboxApi(
  options: CallContext & {credentials: BrightboxCredentials; endpoint?: string | undefined},
): Promise<BrightboxApi> {
  const c = options.credentials
  const root = (options.endpoint ?? c.api_url ?? BRIGHTBOX_API).replace(/\/+$/, '')
  const hint = 'check client_id and client_secret of the Brightbox profile (--brightbox-profile, --brightbox-config-file)'
  const tokens = await restClient({...options, service: 'brightbox token', baseUrl: root, credentialsHint: hint})
  let cached: {token: string; until: number} | undefined
  async function accessToken(): Promise<string> {
    if (cached && cached.until > Date.now()) return cached.token
    let answer: {access_token?: string; expires_in?: number}
    try {
      // OAuth2 client credentials: the client in Basic authorization, the grant as a form.
      answer = (
        await tokens.request<{access_token?: string; expires_in?: number}>('POST', 'token', {
          body: Buffer.from('grant_type=client_credentials'),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')}`,
          },
        })
      ).body
    } catch (error) {
      // RFC 6749: an unknown client or bad secret is 400/401 invalid_client.
      if ((error as {statusCode?: number}).statusCode === 400)
        throw new UsageError(`brightbox: the token endpoint refused the API client (${(error as Error).message.split(': ').pop()})`, {hint})
      throw error
    }
    if (!answer.access_token) throw new InfraError('brightbox: the token endpoint answered without an access_token')
    cached = {token: answer.access_token, until: Date.now() + Math.max(60, (answer.expires_in ?? 600) - 60) * 1000}
    return cached.token
  }
  const rest = await restClient({
    ...options,
    service: 'brightbox',
    baseUrl: `${root}/1.0`,
    headers: async () => ({authorization: `Bearer ${await accessToken()}`}),
    credentialsHint: hint,
  })
  return {
    listImages: () => rest.get<BrightboxImage[]>('images'),
    getImage: (id) => rest.get<BrightboxImage>(`images/${id}`),
    getImageIfExists: async (id) => {
      const r = await rest.request<BrightboxImage>('GET', `images/${encodeURIComponent(id)}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    // user_data base64-encoded: "not in the spec, but" what Brightbox expects (flatcar/mantle api.go CreateServer).
    createServer: (input) =>
      rest.post<BrightboxServer>('servers', {
        name: input.name,
        image: input.image,
        server_type: input.serverType,
        user_data: Buffer.from(input.userData).toString('base64'),
      }),
    createCloudIp: (name) => rest.post<BrightboxCloudIp>('cloud_ips', {name}),
    mapCloudIp: async (id, serverId) => {
      await rest.post(`cloud_ips/${id}/map`, {destination: serverId})
    },
    createImage: (input) =>
      rest.post<BrightboxImage>('images', {
        name: input.name,
        url: input.url,
        username: 'core',
        arch: input.arch,
        description: BRIGHTBOX_MARKER,
      }),
    deleteImage: (id) => rest.delete(`images/${id}`, {expect: [404]}),
    listServers: () => rest.get<BrightboxServer[]>('servers'),
    getServer: (id) => rest.get<BrightboxServer>(`servers/${id}`),
    deleteServer: (id) => rest.delete(`servers/${id}`, {expect: [404]}),
    listVolumes: () => rest.get<BrightboxVolume[]>('volumes'),
    deleteVolume: (id) => rest.delete(`volumes/${id}`, {expect: [404]}),
    listCloudIps: () => rest.get<BrightboxCloudIp[]>('cloud_ips'),
    unmapCloudIp: async (id) => {
      await rest.post(`cloud_ips/${id}/unmap`, {})
    },
    deleteCloudIp: (id) => rest.delete(`cloud_ips/${id}`, {expect: [404]}),
  }
}

const marked = (description: string | undefined) => (description ?? '').split(/\s+/).includes(BRIGHTBOX_MARKER)

/**
 * Registers an image from a URL (flatcar/mantle UploadImage: user "core",
 * x86_64) with our marker as its description and waits until it is
 * available; one that fails is deleted. An available image of ours with the
 * same name is reused.
 */
export async function createBrightboxImage(options: {
  api: BrightboxApi
  name: string
  url: string
  board?: string | undefined
  context: ServiceContext
}): Promise<{id: string; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  if (!/^https?:\/\//.test(options.url)) throw new UsageError(`brightbox: the image URL must be http(s), not "${options.url}"`)
  const existing = (await api.listImages()).find((i) => i.name === name && marked(i.description) && i.status === 'available')
  if (existing) {
    ctx.logger.notice(`image ${name} exists as ${existing.id}; reusing it`)
    return {id: existing.id, name, created: false}
  }
  const image = await api.createImage({name, url: options.url, arch: options.board === 'arm64-usr' ? 'arm64' : 'x86_64'})
  try {
    await pollUntil(
      async () => {
        const current = await api.getImage(image.id)
        if (current.status === 'available') return true
        if (current.status === 'failed' || current.status === 'deleted')
          throw new InfraError(`brightbox: registering image ${name} failed: it is ${current.status}`)
        return undefined
      },
      {what: `image ${name} to become available`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
    )
  } catch (error) {
    await api
      .deleteImage(image.id)
      .catch((e: unknown) => ctx.logger.warn(`brightbox: cannot delete the failed image ${image.id}: ${String(e)}; ore brightbox gc will`))
    throw error
  }
  return {id: image.id, name, created: true}
}

/** Deletes private images by id or name. */
export async function deleteBrightboxImages(options: {
  api: BrightboxApi
  images: string[]
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const ids = resolveRefs(
    (await options.api.listImages()).filter((i) => !i.public && i.status !== 'deleted'),
    options.images,
    {id: (i) => i.id, name: (i) => i.name, missing: (ref) => new UsageError(`brightbox: no private image "${ref}"`)},
  )
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

/** Unmaps a server's cloud IPs (Brightbox refuses to delete a server with a mapped IP), then deletes it. */
export async function deleteBrightboxServer(api: BrightboxApi, id: string): Promise<void> {
  const server = await api.getServer(id)
  for (const ip of server.cloud_ips ?? []) await api.unmapCloudIp(ip.id)
  await api.deleteServer(id)
}

export interface BrightboxGcResult {
  servers: string[]
  images: string[]
  volumes: string[]
  cloudIps: string[]
}

/**
 * Deletes our servers (kola-... names), images and volumes (our marker in
 * the description) older than the cutoff, then our unmapped cloud IPs
 * (kola-... names; Brightbox records no creation time for them, so an
 * unmapped one of ours is taken as left over).
 */
export async function gcBrightbox(options: GcOptions<BrightboxApi>): Promise<BrightboxGcResult> {
  const {api, context: ctx} = options
  const cutoff = gcCutoff(options)
  const old = (r: {created_at?: string | undefined}, ours: boolean) =>
    isExpired({marked: ours, created: r.created_at ? new Date(r.created_at) : undefined}, cutoff)
  const common = {
    dryRun: options.dryRun,
    logger: ctx.logger,
    id: (r: {id: string}) => r.id,
    name: (r: {name?: string | undefined}) => r.name,
  }
  const kola = (name: string | undefined) => (name ?? '').startsWith(BRIGHTBOX_NAME_PREFIX)
  const servers = await sweep(
    (await api.listServers()).filter((s) => s.status !== 'deleted' && s.status !== 'deleting' && old(s, kola(s.name))),
    {...common, kind: 'server', remove: (s) => deleteBrightboxServer(api, s.id)},
  )
  const images = await sweep(
    (await api.listImages()).filter((i) => !i.public && i.status !== 'deleted' && old(i, marked(i.description))),
    {...common, kind: 'image', remove: (i) => api.deleteImage(i.id)},
  )
  const volumes = await sweep(
    (await api.listVolumes()).filter((v) => v.status !== 'deleted' && old(v, marked(v.description))),
    {...common, kind: 'volume', remove: (v) => api.deleteVolume(v.id)},
  )
  const cloudIps = await sweep(
    (await api.listCloudIps()).filter((ip) => ip.status === 'unmapped' && kola(ip.name)),
    {...common, kind: 'cloud IP', remove: (ip) => api.deleteCloudIp(ip.id)},
  )
  return {servers, images, volumes, cloudIps}
}

/**
 * A kola machine: a server named by the run, a cloud IP of the same name
 * mapped to it once it is active; its public address returned. A launch
 * that fails half-way deletes what it made (the cloud IP, the server).
 */
export async function launchBrightboxServer(
  api: BrightboxApi,
  input: {name: string; image: string; serverType: string; userData: string},
  options: {intervalMs?: number | undefined; signal?: AbortSignal | undefined; logger: CallContext['logger']},
): Promise<{server: BrightboxServer; publicIp: string; privateIp: string; cloudIpId: string}> {
  const server = await api.createServer(input)
  let cloudIpId: string | undefined
  try {
    await pollUntil(
      async () => {
        const s = await api.getServer(server.id)
        if (s.status === 'active') return true
        if (s.status === 'failed' || s.status === 'deleted')
          throw new InfraError(`brightbox: server ${server.id} is ${s.status} instead of starting`)
        return undefined
      },
      {what: `server ${server.id} to be active`, intervalMs: options.intervalMs ?? 5000, timeoutMs: 1_200_000, signal: options.signal},
    )
    const ip = await api.createCloudIp(input.name)
    cloudIpId = ip.id
    await api.mapCloudIp(ip.id, server.id)
    const mapped = await pollUntil(async () => (await api.getServer(server.id)).cloud_ips?.find((c) => c.id === ip.id && c.public_ip), {
      what: `cloud IP ${ip.id} on ${server.id}`,
      intervalMs: options.intervalMs ?? 5000,
      timeoutMs: 300_000,
      signal: options.signal,
    })
    const current = await api.getServer(server.id)
    const privateIp = current.interfaces?.find((i) => i.ipv4_address)?.ipv4_address ?? mapped.public_ip!
    return {server: current, publicIp: mapped.public_ip!, privateIp, cloudIpId: ip.id}
  } catch (error) {
    await removeBrightboxMachine(api, server.id, cloudIpId).catch((e: unknown) =>
      options.logger.warn(`brightbox: cannot delete ${server.id}: ${String(e)}; ore brightbox gc will`),
    )
    throw error
  }
}

/** Unmaps and deletes a machine's cloud IP, then deletes the server. */
export async function removeBrightboxMachine(api: BrightboxApi, serverId: string, cloudIpId: string | undefined): Promise<void> {
  await deleteBrightboxServer(api, serverId)
  if (cloudIpId) await api.deleteCloudIp(cloudIpId)
}
