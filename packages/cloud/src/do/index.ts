import type {DoCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {restClient} from '../common/http.js'
import {isExpired, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'
import {markedKeyCreated} from './droplets.js'

/** DigitalOcean tags are plain names: ours is "mantle". */
export const DO_TAG = MARKER_VALUE

export interface DoImage {
  id: number
  name: string
  status?: string | undefined
  error_message?: string | undefined
  created_at?: string | undefined
  tags?: string[] | undefined
  regions?: string[] | undefined
}

export interface DoKey {
  id: number
  name: string
  fingerprint: string
}

export interface DoDroplet {
  id: number
  name: string
  created_at: string
  tags?: string[] | undefined
  status?: string | undefined
  networks?: {v4?: Array<{ip_address: string; type: 'public' | 'private'}> | undefined} | undefined
}

/** POST /v2/droplets as flatcar/mantle platform/api/do/api.go sends it (godo.DropletCreateRequest). */
export interface DoDropletCreate {
  name: string
  region: string
  size: string
  /** An image id, or a slug. */
  image: number | string
  ssh_keys: number[]
  user_data: string
  ipv6: boolean
  tags: string[]
}

/** A droplet action (create, ...): in-progress, completed or errored. */
export interface DoAction {
  id: number
  status: 'in-progress' | 'completed' | 'errored'
  type: string
}

/** The DigitalOcean API v2 calls these modules make. */
export interface DoApi {
  listImages(): Promise<DoImage[]>
  getImage(id: number): Promise<DoImage>
  createImage(input: {
    name: string
    url: string
    region: string
    distribution: string
    description?: string | undefined
    tags: string[]
  }): Promise<DoImage>
  deleteImage(id: number): Promise<void>
  listKeys(): Promise<DoKey[]>
  deleteKey(id: number): Promise<void>
  listDroplets(tag: string): Promise<DoDroplet[]>
  deleteDroplet(id: number): Promise<void>
  /** GET /v2/account: checks the token before anything is made. */
  getAccount(): Promise<{uuid?: string; email?: string; droplet_limit?: number; status?: string}>
  /** GET /v2/images/:id; undefined when there is none (404). */
  findImage(id: number): Promise<DoImage | undefined>
  createKey(name: string, publicKey: string): Promise<DoKey>
  /** The droplet and its create action (links.actions). */
  createDroplet(request: DoDropletCreate): Promise<{droplet: DoDroplet; actionId: number | undefined}>
  /** undefined once the droplet is gone (404). */
  getDroplet(id: number): Promise<DoDroplet | undefined>
  getAction(id: number): Promise<DoAction>
}

export async function doApi(options: CallContext & {credentials: DoCredentials; endpoint?: string | undefined}): Promise<DoApi> {
  const rest = await restClient({
    ...options,
    service: 'digitalocean',
    baseUrl: options.endpoint ?? 'https://api.digitalocean.com/v2',
    headers: {authorization: `Bearer ${options.credentials.token}`},
    credentialsHint: 'check the token in the DigitalOcean profile (--do-profile, --do-config-file)',
  })
  // Lists are paged by ?page=N&per_page=200 with links.pages.next.
  async function all<T>(path: string, field: string, searchParams: Record<string, string> = {}): Promise<T[]> {
    const out: T[] = []
    for (let page = 1; ; page++) {
      const body = await rest.get<Record<string, unknown> & {links?: {pages?: {next?: string}}}>(path, {
        searchParams: {...searchParams, page, per_page: 200},
      })
      out.push(...((body[field] as T[] | undefined) ?? []))
      if (!body.links?.pages?.next) return out
    }
  }
  return {
    listImages: () => all<DoImage>('images', 'images', {private: 'true'}),
    getImage: async (id) => (await rest.get<{image: DoImage}>(`images/${id}`)).image,
    createImage: async (input) => (await rest.post<{image: DoImage}>('images', input)).image,
    deleteImage: (id) => rest.delete(`images/${id}`),
    listKeys: () => all<DoKey>('account/keys', 'ssh_keys'),
    deleteKey: (id) => rest.delete(`account/keys/${id}`),
    listDroplets: (tag) => all<DoDroplet>('droplets', 'droplets', {tag_name: tag}),
    deleteDroplet: (id) => rest.delete(`droplets/${id}`),
    getAccount: async () =>
      (await rest.get<{account: {uuid?: string; email?: string; droplet_limit?: number; status?: string}}>('account')).account,
    findImage: async (id) => {
      const r = await rest.request<{image: DoImage}>('GET', `images/${id}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body.image
    },
    createKey: async (name, publicKey) => (await rest.post<{ssh_key: DoKey}>('account/keys', {name, public_key: publicKey})).ssh_key,
    createDroplet: async (request) => {
      const body = await rest.post<{droplet: DoDroplet; links?: {actions?: Array<{id: number; rel: string}>}}>('droplets', request)
      return {droplet: body.droplet, actionId: body.links?.actions?.find((a) => a.rel === 'create')?.id}
    },
    getDroplet: async (id) => {
      const r = await rest.request<{droplet: DoDroplet}>('GET', `droplets/${id}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body.droplet
    },
    getAction: async (id) => (await rest.get<{action: DoAction}>(`actions/${id}`)).action,
  }
}

/**
 * Imports a custom image from a URL and waits until it is available. An
 * image of the same name is reused (a rerun after a timeout waits again).
 */
export async function createDoImage(options: {
  api: DoApi
  name: string
  url: string
  region: string
  distribution?: string | undefined
  description?: string | undefined
  context: ServiceContext
}): Promise<{id: number; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  if (!/^https?:\/\//.test(options.url)) throw new UsageError(`digitalocean: the image URL must be http(s), not "${options.url}"`)
  const existing = (await api.listImages()).find((i) => i.name === name)
  let image = existing
  if (existing)
    ctx.logger.notice(`image ${name} exists as ${existing.id}; ${existing.status === 'available' ? 'reusing it' : 'waiting for it'}`)
  else
    image = await api.createImage({
      name,
      url: options.url,
      region: options.region,
      distribution: options.distribution ?? 'Unknown',
      description: options.description,
      tags: [DO_TAG],
    })
  const id = image!.id
  await pollUntil(
    async () => {
      const current = await api.getImage(id)
      if (current.status === 'available') return true
      if (current.status === 'deleted' || current.error_message)
        throw new InfraError(`digitalocean: import of image ${name} failed: ${current.error_message ?? current.status}`)
      return undefined
    },
    {what: `image ${name} to become available`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
  )
  return {id, name, created: !existing}
}

/** Deletes images by id or name. */
export async function deleteDoImages(options: {api: DoApi; images: string[]; context: ServiceContext}): Promise<{deleted: number[]}> {
  const list = await options.api.listImages()
  const ids = options.images.map((ref) => {
    const found = list.find((i) => String(i.id) === ref || i.name === ref)
    if (!found) throw new UsageError(`digitalocean: no private image "${ref}"`)
    return found.id
  })
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

/** Deletes SSH keys named in `names`, or whose name starts with `prefix` (kola's are "kola-..."). */
export async function deleteDoKeys(options: {
  api: DoApi
  names?: string[] | undefined
  prefix?: string | undefined
  context: ServiceContext
}): Promise<{deleted: DoKey[]}> {
  const keys = await options.api.listKeys()
  const doomed = keys.filter((k) => options.names?.includes(k.name) || (options.prefix !== undefined && k.name.startsWith(options.prefix)))
  for (const k of doomed) {
    options.context.logger.info(`deleting key ${k.name} (${k.id})`)
    await options.api.deleteKey(k.id)
  }
  return {deleted: doomed}
}

/** Deletes droplets tagged as ours, and SSH keys named as ours (kola's run keys), that are older than the cutoff. */
export async function gcDo(options: {
  api: DoApi
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{deletedDroplets: number[]; deletedKeys: number[]}> {
  const {api, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const droplets = await api.listDroplets(DO_TAG)
  const doomed = droplets.filter((d) => isExpired({marked: d.tags?.includes(DO_TAG) ?? false, created: new Date(d.created_at)}, cutoff))
  for (const d of doomed) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} droplet ${d.name} (${d.id})`)
    if (!options.dryRun) await api.deleteDroplet(d.id)
  }
  const keys = (await api.listKeys()).filter((k) => {
    const created = markedKeyCreated(k)
    return isExpired({marked: created !== undefined, created}, cutoff)
  })
  for (const k of keys) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} key ${k.name} (${k.id})`)
    if (!options.dryRun) await api.deleteKey(k.id)
  }
  return {deletedDroplets: doomed.map((d) => d.id), deletedKeys: keys.map((k) => k.id)}
}

export * from './droplets.js'
