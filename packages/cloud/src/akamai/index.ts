import {createReadStream} from 'node:fs'
import type {Readable} from 'node:stream'
import {createGzip} from 'node:zlib'

import type {AkamaiCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {gcCutoff, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'

/*
 * Akamai Cloud through the Linode API v4 (https://techdocs.akamai.com/linode-api/reference/api), the
 * calls of flatcar/mantle platform/api/akamai/{image,instance}.go (linodego): images uploaded with
 * POST /images/upload and a PUT of the gzipped disk to the upload_to URL; instances created
 * unbooted with the Ignition config as base64 metadata.user_data, a disk from the image, a
 * direct-disk configuration, then booted. Tags are plain strings: ours is "mantle", as Flatcar's.
 */

export const AKAMAI_API = 'https://api.linode.com/v4'
export const AKAMAI_TAG = MARKER_VALUE

export interface AkamaiInstance {
  id: number
  label: string
  status: string
  created: string
  tags: string[]
  ipv4: string[]
}

export interface AkamaiImage {
  id: string
  label: string
  status: string
  created: string
  is_public: boolean
  tags?: string[] | undefined
}

export interface AkamaiResource {
  id: number | string
  label: string
  created: string
  tags?: string[] | undefined
  status?: string | undefined
}

export interface AkamaiApi {
  createInstance(input: {
    label: string
    region: string
    type: string
    tags: string[]
    metadata: {user_data: string}
    booted: boolean
    private_ip: boolean
  }): Promise<AkamaiInstance>
  getType(type: string): Promise<{id: string; disk: number}>
  createDisk(
    instance: number,
    input: {size: number; label: string; image: string; root_pass: string},
  ): Promise<{id: number; status: string}>
  getDisk(instance: number, disk: number): Promise<{id: number; status: string}>
  createConfig(instance: number, input: Record<string, unknown>): Promise<{id: number}>
  boot(instance: number, config: number): Promise<void>
  getInstance(id: number): Promise<AkamaiInstance | undefined>
  listInstances(tag: string): Promise<AkamaiInstance[]>
  deleteInstance(id: number): Promise<void>
  getImage(id: string): Promise<AkamaiImage | undefined>
  listImages(tag: string): Promise<AkamaiImage[]>
  uploadImage(input: {
    label: string
    region: string
    description: string
    cloud_init: boolean
    tags: string[]
  }): Promise<{image: AkamaiImage; upload_to: string}>
  /** PUTs the gzipped disk to the pre-signed upload_to URL (no API token on it). */
  putImage(url: string, body: Readable, onProgress?: (bytes: number) => void): Promise<void>
  deleteImage(id: string): Promise<void>
  listVolumes(tag: string): Promise<AkamaiResource[]>
  deleteVolume(id: number): Promise<void>
}

const CREDENTIALS_HINT = 'check the token (--akamai-profile, --akamai-config-file or LINODE_TOKEN)'

/** Linode's error body: {"errors": [{"reason": "...", "field": "..."}]}. */
function linodeError(body: unknown): string | undefined {
  const errors = (body as {errors?: Array<{reason?: string; field?: string}>} | undefined)?.errors
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  return errors.map((e) => (e.field ? `${e.field}: ${e.reason ?? ''}` : (e.reason ?? ''))).join('; ')
}

export async function akamaiApi(
  options: CallContext & {credentials: AkamaiCredentials; endpoint?: string | undefined},
): Promise<AkamaiApi> {
  const rest: RestClient = await restClient({
    ...options,
    service: 'akamai',
    baseUrl: options.endpoint ?? AKAMAI_API,
    headers: {authorization: `Bearer ${options.credentials.token}`},
    credentialsHint: CREDENTIALS_HINT,
    describeError: linodeError,
  })
  const upload = await restClient({...options, service: 'akamai upload', baseUrl: options.endpoint ?? AKAMAI_API})
  // Lists are paged by ?page=N&page_size=500 ({data, page, pages}); X-Filter selects by tag.
  async function all<T>(path: string, filter: Record<string, unknown>): Promise<T[]> {
    const out: T[] = []
    for (let page = 1; ; page++) {
      const body = await rest.get<{data: T[]; page: number; pages: number}>(path, {
        searchParams: {page, page_size: 500},
        headers: {'x-filter': JSON.stringify(filter)},
      })
      out.push(...body.data)
      if (body.page >= body.pages) return out
    }
  }
  const maybe = async <T>(path: string): Promise<T | undefined> => {
    const r = await rest.request<T>('GET', path, {expect: [404]})
    return r.status === 404 ? undefined : r.body
  }
  return {
    createInstance: (input) => rest.post('linode/instances', input),
    getType: (type) => rest.get(`linode/types/${type}`),
    createDisk: (instance, input) => rest.post(`linode/instances/${instance}/disks`, input),
    getDisk: (instance, disk) => rest.get(`linode/instances/${instance}/disks/${disk}`),
    createConfig: (instance, input) => rest.post(`linode/instances/${instance}/configs`, input),
    boot: async (instance, config) => {
      await rest.post(`linode/instances/${instance}/boot`, {config_id: config})
    },
    getInstance: (id) => maybe<AkamaiInstance>(`linode/instances/${id}`),
    listInstances: (tag) => all<AkamaiInstance>('linode/instances', {tags: tag}),
    deleteInstance: (id) => rest.delete(`linode/instances/${id}`, {expect: [404]}),
    getImage: (id) => maybe<AkamaiImage>(`images/${id}`),
    listImages: (tag) => all<AkamaiImage>('images', {is_public: false, tags: tag}),
    uploadImage: (input) => rest.post('images/upload', input),
    putImage: async (url, body, onProgress) => {
      await upload.request('PUT', url, {body, headers: {'content-type': 'application/octet-stream'}, onUploadProgress: onProgress})
    },
    deleteImage: (id) => rest.delete(`images/${id}`, {expect: [404]}),
    listVolumes: (tag) => all<AkamaiResource>('volumes', {tags: tag}),
    deleteVolume: (id) => rest.delete(`volumes/${id}`, {expect: [404]}),
  }
}

/**
 * Creates a machine the way flatcar/mantle does: an unbooted instance with the
 * user data as base64 metadata, a disk from the image filling the type's disk,
 * a direct-disk configuration booting it, then boot. On any failure after the
 * instance exists, it is deleted again (the caller gets the error).
 */
export async function launchInstance(
  api: AkamaiApi,
  input: {label: string; region: string; type: string; image: string; userData: string; tags: string[]},
  ctx: ServiceContext,
): Promise<AkamaiInstance> {
  const instance = await api.createInstance({
    label: input.label,
    region: input.region,
    type: input.type,
    tags: input.tags,
    metadata: {user_data: Buffer.from(input.userData).toString('base64')},
    booted: false,
    private_ip: true,
  })
  try {
    const type = await api.getType(input.type)
    // The API wants a root password for a disk from an image; Flatcar does not use it.
    const disk = await api.createDisk(instance.id, {
      size: type.disk,
      label: input.label,
      image: input.image,
      root_pass: 'ThisPasswordIsNotUsedButRequiredByAkamai1234',
    })
    await pollUntil(async () => ((await api.getDisk(instance.id, disk.id)).status === 'ready' ? true : undefined), {
      what: `akamai disk ${disk.id} of ${input.label} to be ready`,
      intervalMs: ctx.pollIntervalMs ?? 2000,
      signal: ctx.signal,
      timeoutMs: 20 * 60_000,
    })
    const config = await api.createConfig(instance.id, {
      label: 'default',
      comments: 'Created by Mantle',
      devices: {sda: {disk_id: disk.id}},
      helpers: {devtmpfs_automount: false, network: false, modules_dep: false, distro: false, updatedb_disabled: true},
      kernel: 'linode/direct-disk',
      root_device: '/dev/sda',
    })
    await api.boot(instance.id, config.id)
    return await pollUntil(
      async () => {
        const current = await api.getInstance(instance.id)
        if (!current) throw new InfraError(`akamai: instance ${instance.id} vanished while booting`)
        return current.status === 'running' ? current : undefined
      },
      {what: `akamai instance ${input.label} to run`, intervalMs: ctx.pollIntervalMs ?? 2000, signal: ctx.signal, timeoutMs: 20 * 60_000},
    )
  } catch (error) {
    await api
      .deleteInstance(instance.id)
      .catch((e: unknown) => ctx.logger.warn(`akamai: cannot delete instance ${instance.id}: ${String(e)}; ore akamai gc will`))
    throw error
  }
}

/**
 * Uploads a disk image (raw, or gzipped already: a .gz file is sent as it
 * is, anything else gzipped on the way) with POST /images/upload and a PUT to
 * its upload_to URL, then waits until the image is available.
 */
export async function createAkamaiImage(options: {
  api: AkamaiApi
  file: string
  name: string
  region: string
  context: ServiceContext
}): Promise<{id: string; name: string}> {
  const {api, context: ctx} = options
  const size = await requireFile(options.file)
  const {image, upload_to: url} = await api.uploadImage({
    label: options.name,
    region: options.region,
    description: 'Created by Mantle',
    cloud_init: true,
    tags: [AKAMAI_TAG],
  })
  const progress = uploadProgress(ctx, `uploading ${options.name}`, /\.gz$/i.test(options.file) ? size : undefined)
  const source = createReadStream(options.file)
  await api.putImage(url, /\.gz$/i.test(options.file) ? source : source.pipe(createGzip()), progress.onProgress)
  progress.finish()
  await pollUntil(
    async () => {
      const current = await api.getImage(image.id)
      if (!current || current.status === 'deleted')
        throw new InfraError(`akamai: upload of image ${options.name} failed (${current?.status ?? 'gone'})`)
      return current.status === 'available' ? true : undefined
    },
    {what: `image ${options.name} to become available`, intervalMs: ctx.pollIntervalMs ?? 5000, signal: ctx.signal},
  )
  return {id: image.id, name: options.name}
}

/** Deletes private images by id (private/NNN) or label. */
export async function deleteAkamaiImages(options: {
  api: AkamaiApi
  images: string[]
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const list = await options.api.listImages(AKAMAI_TAG)
  const ids = options.images.map((ref) => {
    const found = list.find((i) => i.id === ref || i.label === ref)
    if (!found) throw new UsageError(`akamai: no private image "${ref}" tagged ${AKAMAI_TAG}`)
    return found.id
  })
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

export interface AkamaiGcResult {
  instances: number[]
  images: string[]
  volumes: number[]
}

/** Deletes instances, private images and volumes tagged as ours that are older than the cutoff. */
export async function gcAkamai(options: GcOptions<AkamaiApi>): Promise<AkamaiGcResult> {
  const {api, context: ctx} = options
  const cutoff = gcCutoff(options)
  // Linode's times are UTC without a zone ("2026-05-01T12:00:00").
  const created = (t: string) => new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`)
  const sweepOf = async <T extends AkamaiResource, I extends string | number>(
    kind: string,
    list: T[],
    id: (r: T) => I,
    remove: (r: T) => Promise<void>,
  ): Promise<I[]> =>
    sweep(
      list.filter((r) => isExpired({marked: r.tags?.includes(AKAMAI_TAG) ?? false, created: created(r.created)}, cutoff)),
      {kind, id, name: (r) => r.label, remove, dryRun: options.dryRun, logger: ctx.logger},
    )
  return {
    instances: await sweepOf(
      'instance',
      await api.listInstances(AKAMAI_TAG),
      (i) => i.id,
      (i) => api.deleteInstance(i.id),
    ),
    images: await sweepOf(
      'image',
      (await api.listImages(AKAMAI_TAG)).filter((i) => !i.is_public),
      (i) => i.id,
      (i) => api.deleteImage(i.id),
    ),
    volumes: await sweepOf(
      'volume',
      await api.listVolumes(AKAMAI_TAG),
      (v) => Number(v.id),
      (v) => api.deleteVolume(Number(v.id)),
    ),
  }
}
