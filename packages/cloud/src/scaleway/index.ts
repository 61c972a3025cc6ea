import {createReadStream} from 'node:fs'

import type {ScalewayCredentials} from '@mantle/auth'
import {InfraError, openBucket, UsageError} from '@mantle/kit'
import type {Bucket} from '@mantle/kit/storage/types'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {gcCutoff, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'

/*
 * Scaleway's Instance API v1 (https://www.scaleway.com/en/developers/api/instance/), the calls of
 * flatcar/mantle platform/api/scaleway/{api,instance}.go (scaleway-sdk-go): servers from a
 * snapshot with the Ignition config as the "cloud-init" user data, power actions, snapshots
 * imported from Object Storage. Scaleway tags are plain strings: ours is "mantle", as Flatcar's.
 */

export const SCALEWAY_API = 'https://api.scaleway.com'
export const SCALEWAY_TAG = MARKER_VALUE
/** The user-data key Scaleway's images read (Flatcar's userDataKey). */
export const USER_DATA_KEY = 'cloud-init'

export interface ScalewayServer {
  id: string
  name: string
  state: string
  creation_date: string
  tags: string[]
  public_ip?: {address: string} | null | undefined
  private_ip?: string | null | undefined
  volumes?: Record<string, {id: string}> | undefined
}

export interface ScalewayResource {
  id: string
  name: string
  creation_date: string
  tags?: string[] | undefined
  state?: string | undefined
}

export interface ScalewayApi {
  readonly zone: string
  createServer(input: {
    name: string
    commercial_type: string
    project: string
    tags: string[]
    volumes: Record<string, {base_snapshot: string; volume_type: string; name: string}>
  }): Promise<ScalewayServer>
  setUserData(id: string, key: string, content: string): Promise<void>
  /** poweron, poweroff, terminate: returns once the task is accepted. */
  action(id: string, action: 'poweron' | 'poweroff' | 'terminate'): Promise<void>
  getServer(id: string): Promise<ScalewayServer | undefined>
  listServers(tag: string): Promise<ScalewayServer[]>
  deleteServer(id: string): Promise<void>
  createSnapshot(input: {
    name: string
    project: string
    volume_type: string
    bucket: string
    key: string
    tags: string[]
  }): Promise<ScalewayResource>
  getSnapshot(id: string): Promise<ScalewayResource | undefined>
  listSnapshots(tag: string): Promise<ScalewayResource[]>
  deleteSnapshot(id: string): Promise<void>
  listImages(tag: string): Promise<ScalewayResource[]>
  deleteImage(id: string): Promise<void>
  listVolumes(tag: string): Promise<ScalewayResource[]>
  deleteVolume(id: string): Promise<void>
}

const CREDENTIALS_HINT = 'check the API key (--scaleway-profile, --scaleway-config-file or SCW_ACCESS_KEY/SCW_SECRET_KEY)'

/** Scaleway's error body: {"type": "...", "message": "..."}. */
function scalewayError(body: unknown): string | undefined {
  const b = body as {type?: string; message?: string} | undefined
  return b && typeof b === 'object' && b.type ? `${b.type}: ${b.message ?? ''}`.trim() : undefined
}

export async function scalewayApi(
  options: CallContext & {credentials: ScalewayCredentials; zone: string; endpoint?: string | undefined},
): Promise<ScalewayApi> {
  const rest: RestClient = await restClient({
    ...options,
    service: 'scaleway',
    baseUrl: `${(options.endpoint ?? SCALEWAY_API).replace(/\/+$/, '')}/instance/v1/zones/${options.zone}`,
    headers: {'x-auth-token': options.credentials.secret_key},
    credentialsHint: CREDENTIALS_HINT,
    describeError: scalewayError,
  })
  // Lists are paged by ?page=N&per_page=100 with the total in X-Total-Count.
  async function all<T>(path: string, field: string, searchParams: Record<string, string>): Promise<T[]> {
    const out: T[] = []
    for (let page = 1; ; page++) {
      const r = await rest.request<Record<string, T[]>>('GET', path, {searchParams: {...searchParams, page, per_page: 100}})
      const items = r.body[field] ?? []
      out.push(...items)
      const total = Number(r.headers['x-total-count'] ?? out.length)
      if (items.length === 0 || out.length >= total) return out
    }
  }
  const maybe = async <T>(path: string, field: string): Promise<T | undefined> => {
    const r = await rest.request<Record<string, T>>('GET', path, {expect: [404]})
    return r.status === 404 ? undefined : r.body[field]
  }
  const post = async <T>(path: string, json: unknown, field: string, what: string): Promise<T> => {
    // 403 quotas_exceeded is a quota (exit 3); any other 403 the credentials (exit 2).
    const r = await rest.request<Record<string, T>>('POST', path, {json, expect: [403]})
    if (r.status !== 403) return r.body[field] as T
    const detail = scalewayError(r.body) ?? 'forbidden'
    const where = `scaleway POST ${new URL(`${SCALEWAY_API}/instance/v1/zones/${options.zone}/${path}`).pathname}`
    if (detail.startsWith('quotas_exceeded')) throw new InfraError(`${where}: 403 ${detail}`)
    throw new UsageError(`${where}: scaleway refused the credentials (403: ${detail}) creating ${what}`, {hint: CREDENTIALS_HINT})
  }
  return {
    zone: options.zone,
    createServer: (input) => post<ScalewayServer>('servers', input, 'server', 'a server'),
    setUserData: async (id, key, content) => {
      await rest.request('PATCH', `servers/${id}/user_data/${key}`, {body: Buffer.from(content), headers: {'content-type': 'text/plain'}})
    },
    action: async (id, action) => {
      await post(`servers/${id}/action`, {action}, 'task', `a ${action} task`)
    },
    getServer: (id) => maybe<ScalewayServer>(`servers/${id}`, 'server'),
    listServers: (tag) => all<ScalewayServer>('servers', 'servers', {tags: tag}),
    deleteServer: (id) => rest.delete(`servers/${id}`, {expect: [404]}),
    createSnapshot: (input) => post<ScalewayResource>('snapshots', input, 'snapshot', 'a snapshot'),
    getSnapshot: (id) => maybe<ScalewayResource>(`snapshots/${id}`, 'snapshot'),
    listSnapshots: (tag) => all<ScalewayResource>('snapshots', 'snapshots', {tags: tag}),
    deleteSnapshot: (id) => rest.delete(`snapshots/${id}`, {expect: [404]}),
    listImages: (tag) => all<ScalewayResource>('images', 'images', {tags: tag, public: 'false'}),
    deleteImage: (id) => rest.delete(`images/${id}`, {expect: [404]}),
    listVolumes: (tag) => all<ScalewayResource>('volumes', 'volumes', {tags: tag}),
    deleteVolume: (id) => rest.delete(`volumes/${id}`, {expect: [404]}),
  }
}

/** Scaleway Object Storage (S3 at s3.<region>.scw.cloud, the API key as S3 credentials), where images are staged for import. */
export function scalewayObjectStore(options: {
  credentials: ScalewayCredentials
  region: string
  bucket: string
  endpoint?: string | undefined
  context: ServiceContext
}): Promise<Pick<Bucket, 'write' | 'delete'>> {
  const {credentials, region, context} = options
  return openBucket(`s3://${options.bucket}/`, {
    s3: {
      credentials: {accessKeyId: credentials.access_key, secretAccessKey: credentials.secret_key},
      region,
      endpoint: options.endpoint ?? `https://s3.${region}.scw.cloud`,
      forcePathStyle: true,
    },
    logger: context.logger,
    signal: context.signal,
  })
}

/** Waits until a server is in `state` (running, stopped). */
export async function waitServerState(api: ScalewayApi, id: string, state: string, ctx: ServiceContext): Promise<ScalewayServer> {
  return pollUntil(
    async () => {
      const server = await api.getServer(id)
      if (!server) throw new InfraError(`scaleway: server ${id} vanished while waiting for it to be ${state}`)
      if (server.state === 'locked') throw new InfraError(`scaleway: server ${id} is locked`)
      return server.state === state ? server : undefined
    },
    {what: `scaleway server ${id} to be ${state}`, intervalMs: ctx.pollIntervalMs ?? 2000, signal: ctx.signal, timeoutMs: 20 * 60_000},
  )
}

/**
 * Removes a server and its volumes: "terminate" when it runs (Scaleway deletes the
 * server and its local volumes), else deletes it and then its volumes (Flatcar's
 * DeleteServer). Waits until it is gone; a server already gone is fine.
 */
export async function deleteServer(api: ScalewayApi, id: string, ctx: ServiceContext): Promise<void> {
  let server = await api.getServer(id)
  if (!server) return
  // A server powering on can only be terminated once it runs.
  if (server.state === 'starting') server = await waitServerState(api, id, 'running', ctx)
  if (server.state === 'running') await api.action(id, 'terminate')
  else {
    if (server.state !== 'stopped') server = await waitServerState(api, id, 'stopped', ctx)
    await api.deleteServer(id)
    for (const v of Object.values(server.volumes ?? {})) await api.deleteVolume(v.id)
  }
  await pollUntil(async () => ((await api.getServer(id)) ? undefined : true), {
    what: `scaleway server ${id} to be deleted`,
    intervalMs: ctx.pollIntervalMs ?? 2000,
    signal: ctx.signal,
    timeoutMs: 20 * 60_000,
  })
}

/**
 * Imports a qcow2 disk as a snapshot (Flatcar's create-image): the file is
 * staged in an Object Storage bucket, imported with POST /snapshots
 * {bucket, key}, waited for until available, and the object deleted again,
 * also when the import fails.
 */
export async function createScalewayImage(options: {
  api: ScalewayApi
  store: Pick<Bucket, 'write' | 'delete'>
  bucket: string
  key: string
  file: string
  name: string
  project: string
  context: ServiceContext
}): Promise<{id: string; name: string}> {
  const {api, store, context: ctx} = options
  const size = await requireFile(options.file)
  const progress = uploadProgress(ctx, `uploading ${options.key}`, size)
  await store.write(options.key, createReadStream(options.file), {onProgress: progress.onProgress})
  progress.finish()
  try {
    const snapshot = await api.createSnapshot({
      name: options.name,
      project: options.project,
      volume_type: 'l_ssd',
      bucket: options.bucket,
      key: options.key,
      tags: [SCALEWAY_TAG],
    })
    await pollUntil(
      async () => {
        const current = await api.getSnapshot(snapshot.id)
        if (!current || current.state === 'error')
          throw new InfraError(`scaleway: import of snapshot ${options.name} failed (${current?.state ?? 'gone'})`)
        return current.state === 'available' ? true : undefined
      },
      {what: `snapshot ${options.name} to become available`, intervalMs: ctx.pollIntervalMs ?? 5000, signal: ctx.signal},
    )
    return {id: snapshot.id, name: options.name}
  } finally {
    await store
      .delete(options.key)
      .catch((e: unknown) => ctx.logger.warn(`scaleway: cannot delete the staged object ${options.key}: ${String(e)}`))
  }
}

/** Deletes snapshots (kola boots from them) or images, by id or name. */
export async function deleteScalewayImages(options: {
  api: ScalewayApi
  images: string[]
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const {api} = options
  const snapshots = await api.listSnapshots(SCALEWAY_TAG)
  const images = await api.listImages(SCALEWAY_TAG)
  const doomed = options.images.map((ref) => {
    const snapshot = snapshots.find((s) => s.id === ref || s.name === ref)
    const image = images.find((i) => i.id === ref || i.name === ref)
    if (!snapshot && !image) throw new UsageError(`scaleway: no snapshot or image "${ref}" tagged ${SCALEWAY_TAG}`)
    return snapshot ? {id: snapshot.id, remove: api.deleteSnapshot} : {id: image!.id, remove: api.deleteImage}
  })
  for (const d of doomed) await d.remove(d.id)
  return {deleted: doomed.map((d) => d.id)}
}

export interface ScalewayGcResult {
  servers: string[]
  images: string[]
  snapshots: string[]
  volumes: string[]
}

/** Deletes what carries our tag and is older than the cutoff: servers (with their volumes), images, snapshots, volumes. */
export async function gcScaleway(options: GcOptions<ScalewayApi>): Promise<ScalewayGcResult> {
  const {api, context: ctx} = options
  const cutoff = gcCutoff(options)
  const sweepOf = async (kind: string, list: ScalewayResource[], remove: (id: string) => Promise<void>): Promise<string[]> =>
    sweep(
      list.filter((r) => isExpired({marked: r.tags?.includes(SCALEWAY_TAG) ?? false, created: new Date(r.creation_date)}, cutoff)),
      {kind, id: (r) => r.id, name: (r) => r.name, remove: (r) => remove(r.id), dryRun: options.dryRun, logger: ctx.logger},
    )
  return {
    servers: await sweepOf('server', await api.listServers(SCALEWAY_TAG), (id) => deleteServer(api, id, ctx)),
    images: await sweepOf('image', await api.listImages(SCALEWAY_TAG), api.deleteImage),
    snapshots: await sweepOf('snapshot', await api.listSnapshots(SCALEWAY_TAG), api.deleteSnapshot),
    volumes: await sweepOf('volume', await api.listVolumes(SCALEWAY_TAG), api.deleteVolume),
  }
}
