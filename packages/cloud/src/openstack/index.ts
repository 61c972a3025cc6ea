import {createReadStream} from 'node:fs'
import {basename} from 'node:path'

import type {OpenStackCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, isMarked, MARKER_VALUE} from '../common/marker.js'
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
  metadata?: Record<string, string> | undefined
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
  const nova: RestClient = await restClient({...options, service: 'nova', baseUrl: endpoint('compute'), headers})
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
  }
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

/** Deletes servers whose metadata carries our marker and that are older than the cutoff. */
export async function gcOpenStack(options: {
  api: OpenStackApi
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{deletedServers: string[]}> {
  const {api, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const doomed = (await api.listServers()).filter((s) => isExpired({marked: isMarked(s.metadata), created: new Date(s.created)}, cutoff))
  for (const s of doomed) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} server ${s.name} (${s.id})`)
    if (!options.dryRun) await api.deleteServer(s.id)
  }
  return {deletedServers: doomed.map((s) => s.id)}
}
