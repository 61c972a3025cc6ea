import {createSign, randomUUID} from 'node:crypto'
import {createReadStream} from 'node:fs'

import type {StackitAuth} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient} from '../common/http.js'
import {isExpired, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {gcCutoff, resolveRefs, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'

/**
 * STACKIT's IaaS API v2 (https://iaas.api.stackit.cloud/v2/projects/{projectId}/regions/{region}/...),
 * with the paths and shapes of stackit-sdk-go services/iaas/v2api and the
 * calls of flatcar/mantle platform/api/stackit/api.go, whose "managed-by"
 * label marks what mantle made. Access tokens come from the service account
 * key flow (stackit-sdk-go core/clients/key_flow.go): a self-signed RS512 JWT
 * exchanged at the token endpoint, or a long-lived token.
 */

export const STACKIT_LABELS: Readonly<Record<string, string>> = {[MARKER_KEY]: MARKER_VALUE, 'managed-by': MARKER_VALUE}
export const STACKIT_TOKEN_URL = 'https://service-account.api.stackit.cloud/token'

interface Labelled {
  id: string
  name?: string | undefined
  createdAt?: string | undefined
  labels?: Record<string, unknown> | undefined
  status?: string | undefined
}
export type StackitImage = Labelled & {diskFormat?: string}
export type StackitServer = Labelled & {
  nics?: Array<{ipv4?: string | undefined; publicIp?: string | undefined}> | undefined
  errorMessage?: string | undefined
}
export type StackitPublicIp = Labelled & {ip?: string | undefined; networkInterface?: string | null | undefined}
export type StackitVolume = Labelled
export interface StackitKeypair {
  name: string
  createdAt?: string | undefined
  labels?: Record<string, unknown> | undefined
}

export interface StackitApi {
  projectId: string
  region: string
  listImages(): Promise<StackitImage[]>
  getImage(id: string): Promise<StackitImage>
  createImage(input: {name: string; architecture: 'x86' | 'arm64'}): Promise<{id: string; uploadUrl: string}>
  uploadImage(uploadUrl: string, file: string, onProgress?: (bytes: number) => void): Promise<void>
  deleteImage(id: string): Promise<void>
  listServers(): Promise<StackitServer[]>
  deleteServer(id: string): Promise<void>
  serverLog(id: string): Promise<string>
  listVolumes(): Promise<StackitVolume[]>
  deleteVolume(id: string): Promise<void>
  listKeypairs(): Promise<StackitKeypair[]>
  createKeypair(name: string, publicKey: string): Promise<StackitKeypair>
  getImageIfExists(id: string): Promise<StackitImage | undefined>
  createServer(input: {
    name: string
    machineType: string
    availabilityZone: string
    imageId: string
    networkId: string
    keypairName?: string | undefined
    securityGroups?: string[] | undefined
    userData: string
  }): Promise<StackitServer>
  getServer(id: string): Promise<StackitServer>
  createPublicIp(): Promise<StackitPublicIp>
  attachPublicIp(serverId: string, publicIpId: string): Promise<void>
  listPublicIps(): Promise<StackitPublicIp[]>
  deletePublicIp(id: string): Promise<void>
  deleteKeypair(name: string): Promise<void>
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/** The key flow's assertion: RS512, kid in the header, iss/sub/aud of the key, one hour (key_flow.go generateSelfSignedJWT). */
export function stackitAssertion(key: NonNullable<StackitAuth['key']>, now = new Date()): string {
  const iat = Math.floor(now.getTime() / 1000)
  const header = b64url(JSON.stringify({alg: 'RS512', typ: 'JWT', kid: key.kid}))
  const claims = b64url(JSON.stringify({iss: key.iss, sub: key.sub, jti: randomUUID(), aud: key.aud, iat, exp: iat + 3600}))
  const signature = createSign('RSA-SHA512').update(`${header}.${claims}`).sign(key.privateKey, 'base64url')
  return `${header}.${claims}.${signature}`
}

export async function stackitApi(
  options: CallContext & {credentials: StackitAuth; endpoint?: string | undefined; tokenUrl?: string | undefined},
): Promise<StackitApi> {
  const c = options.credentials
  const hint = 'check the service account key or token of the STACKIT profile (--stackit-profile, --stackit-config-file)'
  const tokenUrl = options.tokenUrl ?? c.key?.tokenEndpoint ?? STACKIT_TOKEN_URL
  const tokens = await restClient({...options, service: 'stackit token', baseUrl: tokenUrl, credentialsHint: hint})
  let cached: {token: string; until: number} | undefined
  async function accessToken(): Promise<string> {
    if (c.token) return c.token
    if (cached && cached.until > Date.now()) return cached.token
    const form = new URLSearchParams({grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: stackitAssertion(c.key!)})
    let answer: {access_token?: string; expires_in?: number}
    try {
      answer = (
        await tokens.request<{access_token?: string; expires_in?: number}>('POST', tokenUrl, {
          body: Buffer.from(form.toString()),
          headers: {'content-type': 'application/x-www-form-urlencoded'},
        })
      ).body
    } catch (error) {
      // The token endpoint refuses an unknown or revoked key with 400 invalid_grant.
      if ((error as {statusCode?: number}).statusCode === 400)
        throw new UsageError(
          `stackit: the token endpoint refused the service account key (${(error as Error).message.split(': ').pop()})`,
          {hint},
        )
      throw error
    }
    if (!answer.access_token) throw new InfraError('stackit: the token endpoint answered without an access_token')
    options.logger.debug?.('stackit: access token obtained')
    cached = {token: answer.access_token, until: Date.now() + Math.max(60, (answer.expires_in ?? 600) - 60) * 1000}
    return cached.token
  }
  const base = `${(options.endpoint ?? 'https://iaas.api.stackit.cloud').replace(/\/+$/, '')}/v2`
  const rest = await restClient({
    ...options,
    service: 'stackit',
    baseUrl: base,
    headers: async () => ({authorization: `Bearer ${await accessToken()}`}),
    credentialsHint: hint,
    // The IaaS API's errors are {code, msg} (stackit-sdk-go iaas model Error).
    describeError: (body) => {
      const msg = (body as {msg?: unknown} | undefined)?.msg
      return typeof msg === 'string' ? msg : undefined
    },
  })
  const uploads = await restClient({...options, service: 'stackit upload', baseUrl: base})
  const p = `projects/${encodeURIComponent(c.projectId)}/regions/${encodeURIComponent(c.region)}`
  const items = async <T>(path: string) => (await rest.get<{items?: T[]}>(path)).items ?? []

  return {
    projectId: c.projectId,
    region: c.region,
    listImages: () => items<StackitImage>(`${p}/images`),
    getImage: (id) => rest.get<StackitImage>(`${p}/images/${id}`),
    createImage: (input) =>
      rest.post<{id: string; uploadUrl: string}>(`${p}/images`, {
        name: input.name,
        diskFormat: 'qcow2',
        labels: STACKIT_LABELS,
        config: {architecture: input.architecture, operatingSystem: 'linux', operatingSystemDistro: 'Flatcar'},
      }),
    uploadImage: async (uploadUrl, file, onProgress) => {
      const size = await requireFile(file)
      // The upload URL is pre-signed: it carries its own authorization.
      await uploads.request('PUT', uploadUrl, {
        body: createReadStream(file),
        headers: {'content-type': 'application/octet-stream', 'content-length': String(size)},
        onUploadProgress: onProgress,
      })
    },
    deleteImage: (id) => rest.delete(`${p}/images/${id}`, {expect: [404]}),
    listServers: () => items<StackitServer>(`${p}/servers`),
    deleteServer: (id) => rest.delete(`${p}/servers/${id}`, {expect: [404]}),
    serverLog: async (id) => (await rest.get<{output?: string}>(`${p}/servers/${id}/log`)).output ?? '',
    listVolumes: () => items<StackitVolume>(`${p}/volumes`),
    deleteVolume: (id) => rest.delete(`${p}/volumes/${id}`, {expect: [404]}),
    listKeypairs: () => items<StackitKeypair>('keypairs'),
    createKeypair: (name, publicKey) => rest.post<StackitKeypair>('keypairs', {name, publicKey, labels: STACKIT_LABELS}),
    getImageIfExists: async (id) => {
      const r = await rest.request<StackitImage>('GET', `${p}/images/${encodeURIComponent(id)}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    // flatcar/mantle CreateServer: a 50 GB boot volume from the image, deleted with the server; user data base64.
    createServer: (input) =>
      rest.post<StackitServer>(`${p}/servers`, {
        name: input.name,
        machineType: input.machineType,
        availabilityZone: input.availabilityZone,
        bootVolume: {deleteOnTermination: true, size: 50, source: {type: 'image', id: input.imageId}},
        networking: {networkId: input.networkId},
        ...(input.keypairName ? {keypairName: input.keypairName} : {}),
        ...(input.securityGroups?.length ? {securityGroups: input.securityGroups} : {}),
        userData: Buffer.from(input.userData).toString('base64'),
        labels: STACKIT_LABELS,
      }),
    getServer: (id) => rest.get<StackitServer>(`${p}/servers/${id}`, {searchParams: {details: true}}),
    createPublicIp: () => rest.post<StackitPublicIp>(`${p}/public-ips`, {labels: STACKIT_LABELS}),
    attachPublicIp: async (serverId, publicIpId) => {
      await rest.request('PUT', `${p}/servers/${serverId}/public-ips/${publicIpId}`)
    },
    listPublicIps: () => items<StackitPublicIp>(`${p}/public-ips`),
    deletePublicIp: (id) => rest.delete(`${p}/public-ips/${id}`, {expect: [404]}),
    deleteKeypair: (name) => rest.delete(`keypairs/${encodeURIComponent(name)}`, {expect: [404]}),
  }
}

const ours = (labels: Record<string, unknown> | undefined) =>
  labels?.[MARKER_KEY] === MARKER_VALUE || labels?.['managed-by'] === MARKER_VALUE

/**
 * Creates an image record labelled as ours, uploads the qcow2 disk to the URL
 * it returns and waits until the image is AVAILABLE (flatcar/mantle
 * UploadImage). An image of the same name that is AVAILABLE is reused; one
 * whose upload failed is deleted so that nothing half-made stays.
 */
export async function createStackitImage(options: {
  api: StackitApi
  name: string
  file: string
  board?: string | undefined
  context: ServiceContext
}): Promise<{id: string; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  const size = await requireFile(options.file)
  const existing = (await api.listImages()).find((i) => i.name === name && i.status === 'AVAILABLE')
  if (existing) {
    ctx.logger.notice(`image ${name} exists as ${existing.id}; reusing it`)
    return {id: existing.id, name, created: false}
  }
  const created = await api.createImage({name, architecture: options.board === 'arm64-usr' ? 'arm64' : 'x86'})
  try {
    const progress = uploadProgress(ctx, `uploading ${name}`, size)
    try {
      await api.uploadImage(created.uploadUrl, options.file, progress.onProgress)
    } finally {
      progress.finish()
    }
    await pollUntil(
      async () => {
        const image = await api.getImage(created.id)
        if (image.status === 'AVAILABLE') return true
        if (image.status === 'ERROR' || image.status === 'DELETED')
          throw new InfraError(`stackit: image ${name} is ${image.status} after its upload`)
        return undefined
      },
      {what: `image ${name} to become AVAILABLE`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
    )
  } catch (error) {
    await api
      .deleteImage(created.id)
      .catch((e: unknown) => ctx.logger.warn(`stackit: cannot delete the failed image ${created.id}: ${String(e)}; ore stackit gc will`))
    throw error
  }
  return {id: created.id, name, created: true}
}

/** Deletes images by id or name. */
export async function deleteStackitImages(options: {
  api: StackitApi
  images: string[]
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const ids = resolveRefs(await options.api.listImages(), options.images, {
    id: (i) => i.id,
    name: (i) => i.name,
    missing: (ref) => new UsageError(`stackit: no image "${ref}" in the project`),
  })
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

export interface StackitGcResult {
  servers: string[]
  images: string[]
  volumes: string[]
  keypairs: string[]
  publicIps: string[]
}

/** Deletes servers, images, volumes and key pairs labelled as ours and older than the cutoff. */
export async function gcStackit(options: GcOptions<StackitApi>): Promise<StackitGcResult> {
  const {api, context: ctx} = options
  const cutoff = gcCutoff(options)
  const expired = (r: {labels?: Record<string, unknown> | undefined; createdAt?: string | undefined}) =>
    isExpired({marked: ours(r.labels), created: r.createdAt ? new Date(r.createdAt) : undefined}, cutoff)
  const kinds: Array<[keyof StackitGcResult, string, () => Promise<Labelled[]>, (id: string) => Promise<void>]> = [
    ['servers', 'server', () => api.listServers(), (id) => api.deleteServer(id)],
    ['images', 'image', () => api.listImages(), (id) => api.deleteImage(id)],
    ['volumes', 'volume', () => api.listVolumes(), (id) => api.deleteVolume(id)],
    // Key pairs are named, not numbered: the name is their id.
    ['keypairs', 'key pair', async () => (await api.listKeypairs()).map((k) => ({...k, id: k.name})), (name) => api.deleteKeypair(name)],
    ['publicIps', 'public IP', () => api.listPublicIps(), (id) => api.deletePublicIp(id)],
  ]
  const result: StackitGcResult = {servers: [], images: [], volumes: [], keypairs: [], publicIps: []}
  for (const [field, kind, list, remove] of kinds)
    result[field] = await sweep(
      (await list()).filter((r) => r.status !== 'DELETING' && r.status !== 'DELETED' && expired(r)),
      {
        kind,
        id: (r) => r.id,
        name: (r) => (r.name === r.id ? undefined : r.name),
        remove: (r) => remove(r.id),
        dryRun: options.dryRun,
        logger: ctx.logger,
      },
    )
  return result
}

/**
 * A kola machine (flatcar/mantle platform/machine/stackit/cluster.go): a
 * public IP and a server labelled as ours, the IP attached once the server
 * is ACTIVE; its public and private addresses returned. A launch failing
 * half-way deletes what it made.
 */
export async function launchStackitServer(
  api: StackitApi,
  input: Parameters<StackitApi['createServer']>[0],
  options: {intervalMs?: number | undefined; signal?: AbortSignal | undefined; logger: CallContext['logger']},
): Promise<{server: StackitServer; publicIp: string; privateIp: string; publicIpId: string}> {
  const ip = await api.createPublicIp()
  let serverId: string | undefined
  try {
    serverId = (await api.createServer(input)).id
    const id = serverId
    const wait = {intervalMs: options.intervalMs ?? 5000, timeoutMs: 1_200_000, signal: options.signal}
    await pollUntil(
      async () => {
        const s = await api.getServer(id)
        if (s.status === 'ACTIVE') return true
        if (s.status === 'ERROR') throw new InfraError(`stackit: server ${id} failed: ${s.errorMessage ?? 'ERROR'}`)
        return undefined
      },
      {...wait, what: `server ${id} to be ACTIVE`},
    )
    await api.attachPublicIp(id, ip.id)
    const server = await pollUntil(
      async () => {
        const s = await api.getServer(id)
        return s.nics?.some((n) => n.publicIp) ? s : undefined
      },
      {...wait, what: `public IP ${ip.id} on ${id}`},
    )
    const nic = server.nics!.find((n) => n.publicIp)!
    return {server, publicIp: nic.publicIp!, privateIp: nic.ipv4 ?? nic.publicIp!, publicIpId: ip.id}
  } catch (error) {
    await removeStackitMachine(api, serverId, ip.id).catch((e: unknown) =>
      options.logger.warn(`stackit: cannot delete ${serverId ?? ip.id}: ${String(e)}; ore stackit gc will`),
    )
    throw error
  }
}

/** Deletes a machine's server (its boot volume goes with it) and its public IP. */
export async function removeStackitMachine(api: StackitApi, serverId: string | undefined, publicIpId: string | undefined): Promise<void> {
  if (serverId) await api.deleteServer(serverId)
  if (publicIpId) await api.deletePublicIp(publicIpId)
}
