import type {HetznerCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {gcCutoff, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'

/*
 * Hetzner Cloud API v1 (https://docs.hetzner.cloud/), the calls of flatcar/mantle
 * platform/api/hetzner/api.go (hcloud-go): servers, SSH keys, images, volumes,
 * each labelled with our marker so that gc finds them by label selector.
 */

export const HETZNER_API = 'https://api.hetzner.cloud/v1'
/** Our marker as a Hetzner label (values allow letters, digits, '-', '_', '.'). */
export const HETZNER_LABELS: Readonly<Record<string, string>> = {[MARKER_KEY]: MARKER_VALUE}
export const HETZNER_SELECTOR = `${MARKER_KEY}=${MARKER_VALUE}`

export interface HetznerAction {
  id: number
  command: string
  status: 'running' | 'success' | 'error'
  error?: {code: string; message: string} | null | undefined
}

export interface HetznerServer {
  id: number
  name: string
  status: string
  created: string
  labels: Record<string, string>
  public_net: {ipv4?: {ip: string} | null | undefined; ipv6?: {ip: string} | null | undefined}
  private_net?: Array<{ip: string}> | undefined
}

export interface HetznerImage {
  id: number
  name?: string | null | undefined
  description: string
  type: string
  status: string
  architecture: string
  created: string
  labels: Record<string, string>
}

export interface HetznerResource {
  id: number
  name: string
  created: string
  labels: Record<string, string>
}

export interface HetznerServerType {
  id: number
  name: string
  architecture: 'x86' | 'arm'
}

export interface CreateServerInput {
  name: string
  server_type: string
  image: string
  location: string
  user_data: string
  ssh_keys: number[]
  labels: Record<string, string>
  start_after_create: boolean
}

/** The Hetzner Cloud calls of ore and kola. */
export interface HetznerApi {
  serverType(name: string): Promise<HetznerServerType>
  location(name: string): Promise<{id: number; name: string}>
  /** An image by id, or by name for an architecture; undefined when there is none. */
  image(ref: string, architecture: string): Promise<HetznerImage | undefined>
  listImages(selector: string): Promise<HetznerImage[]>
  deleteImage(id: number): Promise<void>
  createServer(input: CreateServerInput): Promise<{server: HetznerServer; action: HetznerAction; next_actions: HetznerAction[]}>
  getServer(id: number): Promise<HetznerServer | undefined>
  listServers(selector: string): Promise<HetznerServer[]>
  /** Deletes a server; the action to wait for, or undefined when it was already gone. */
  deleteServer(id: number): Promise<HetznerAction | undefined>
  createSshKey(input: {name: string; public_key: string; labels: Record<string, string>}): Promise<HetznerResource>
  listSshKeys(selector: string): Promise<HetznerResource[]>
  deleteSshKey(id: number): Promise<void>
  listVolumes(selector: string): Promise<HetznerResource[]>
  deleteVolume(id: number): Promise<void>
  action(id: number): Promise<HetznerAction>
}

const CREDENTIALS_HINT = 'check the token (--hetzner-profile, --hetzner-config-file or HCLOUD_TOKEN)'

/** Hetzner's error body: {"error": {"code": "...", "message": "..."}}. */
function hetznerError(body: unknown): string | undefined {
  const e = (body as {error?: {code?: string; message?: string}} | undefined)?.error
  return e && typeof e === 'object' && e.code ? `${e.code}: ${e.message ?? ''}`.trim() : undefined
}

export async function hetznerApi(
  options: CallContext & {credentials: HetznerCredentials; endpoint?: string | undefined},
): Promise<HetznerApi> {
  const rest: RestClient = await restClient({
    ...options,
    service: 'hetzner',
    baseUrl: options.endpoint ?? HETZNER_API,
    headers: {authorization: `Bearer ${options.credentials.token}`},
    credentialsHint: CREDENTIALS_HINT,
    describeError: hetznerError,
  })
  // Lists are paged: ?page=N&per_page=50, meta.pagination.next_page null on the last page.
  async function all<T>(path: string, field: string, searchParams: Record<string, string> = {}): Promise<T[]> {
    const out: T[] = []
    for (let page = 1; ;) {
      const body = await rest.get<Record<string, unknown> & {meta?: {pagination?: {next_page?: number | null}}}>(path, {
        searchParams: {...searchParams, page, per_page: 50},
      })
      out.push(...((body[field] as T[] | undefined) ?? []))
      const next = body.meta?.pagination?.next_page
      if (!next) return out
      page = next
    }
  }
  const one = async <T>(path: string, field: string, name: string, what: string): Promise<T> => {
    const [found] = await all<T>(path, field, {name})
    if (!found) throw new UsageError(`hetzner: no ${what} "${name}"`)
    return found
  }
  const gone = async <T>(path: string, field: string): Promise<T | undefined> => {
    const r = await rest.request<Record<string, T>>('GET', path, {expect: [404]})
    return r.status === 404 ? undefined : r.body[field]
  }
  return {
    serverType: (name) => one<HetznerServerType>('server_types', 'server_types', name, 'server type'),
    location: (name) => one<{id: number; name: string}>('locations', 'locations', name, 'location'),
    image: async (ref, architecture) =>
      /^\d+$/.test(ref)
        ? gone<HetznerImage>(`images/${ref}`, 'image')
        : (await all<HetznerImage>('images', 'images', {name: ref, architecture}))[0],
    listImages: (selector) => all<HetznerImage>('images', 'images', {label_selector: selector, type: 'snapshot'}),
    deleteImage: (id) => rest.delete(`images/${id}`),
    createServer: async (input) => {
      // 403 resource_limit_exceeded is a quota (exit 3); any other 403 the credentials (exit 2).
      const r = await rest.request<{server: HetznerServer; action: HetznerAction; next_actions: HetznerAction[]}>('POST', 'servers', {
        json: input,
        expect: [403],
      })
      if (r.status !== 403) return r.body
      const detail = hetznerError(r.body) ?? 'forbidden'
      if (detail.startsWith('resource_limit_exceeded')) throw new InfraError(`hetzner POST /v1/servers: 403 ${detail}`)
      throw new UsageError(`hetzner POST /v1/servers: hetzner refused the credentials (403: ${detail})`, {hint: CREDENTIALS_HINT})
    },
    getServer: (id) => gone<HetznerServer>(`servers/${id}`, 'server'),
    listServers: (selector) => all<HetznerServer>('servers', 'servers', {label_selector: selector}),
    deleteServer: async (id) => {
      const r = await rest.request<{action: HetznerAction}>('DELETE', `servers/${id}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body.action
    },
    createSshKey: async (input) => (await rest.post<{ssh_key: HetznerResource}>('ssh_keys', input)).ssh_key,
    listSshKeys: (selector) => all<HetznerResource>('ssh_keys', 'ssh_keys', {label_selector: selector}),
    deleteSshKey: (id) => rest.delete(`ssh_keys/${id}`, {expect: [404]}),
    listVolumes: (selector) => all<HetznerResource>('volumes', 'volumes', {label_selector: selector}),
    deleteVolume: (id) => rest.delete(`volumes/${id}`, {expect: [404]}),
    action: async (id) => (await rest.get<{action: HetznerAction}>(`actions/${id}`)).action,
  }
}

/** Waits until an action succeeded; an action in error is an infrastructure error naming its code. */
export async function waitAction(api: HetznerApi, action: HetznerAction, ctx: ServiceContext): Promise<void> {
  await pollUntil(
    async () => {
      const current = action.status === 'running' ? await api.action(action.id) : action
      action = current
      if (current.status === 'success') return true
      if (current.status === 'error')
        throw new InfraError(
          `hetzner: ${current.command} failed: ${current.error?.code ?? 'error'}: ${current.error?.message ?? ''}`.trim(),
        )
      return undefined
    },
    {what: `hetzner action ${action.command} ${action.id}`, intervalMs: ctx.pollIntervalMs ?? 1000, signal: ctx.signal},
  )
}

/** Deletes a server and waits until it is gone; a server already gone is fine. */
export async function deleteServer(api: HetznerApi, id: number, ctx: ServiceContext): Promise<void> {
  const action = await api.deleteServer(id)
  if (action) await waitAction(api, action, ctx)
}

/** Deletes snapshot images by id or description/name. */
export async function deleteHetznerImages(options: {
  api: HetznerApi
  images: string[]
  context: ServiceContext
}): Promise<{deleted: number[]}> {
  const ids: number[] = []
  for (const ref of options.images) {
    const image = /^\d+$/.test(ref)
      ? await options.api.image(ref, '')
      : (await options.api.listImages(HETZNER_SELECTOR)).find((i) => i.description === ref || i.name === ref)
    if (!image) throw new UsageError(`hetzner: no image "${ref}"`)
    ids.push(image.id)
  }
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

export interface HetznerGcResult {
  servers: number[]
  images: number[]
  sshKeys: number[]
  volumes: number[]
}

/**
 * Deletes what carries our label and is older than the cutoff: servers
 * first (waiting for each), then snapshot images, SSH keys and volumes.
 */
export async function gcHetzner(options: GcOptions<HetznerApi>): Promise<HetznerGcResult> {
  const {api, context: ctx} = options
  const cutoff = gcCutoff(options)
  const expired = <T extends {created: string; labels: Record<string, string>}>(list: T[]) =>
    list.filter((r) => isExpired({marked: r.labels[MARKER_KEY] === MARKER_VALUE, created: new Date(r.created)}, cutoff))
  const sweepOf = async (kind: string, list: HetznerResource[], remove: (id: number) => Promise<void>): Promise<number[]> =>
    sweep(expired(list), {
      kind,
      id: (r) => r.id,
      name: (r) => r.name,
      remove: (r) => remove(r.id),
      dryRun: options.dryRun,
      logger: ctx.logger,
    })
  return {
    servers: await sweepOf('server', await api.listServers(HETZNER_SELECTOR), (id) => deleteServer(api, id, ctx)),
    images: await sweepOf(
      'image',
      (await api.listImages(HETZNER_SELECTOR)).map((i) => ({...i, name: i.description})),
      api.deleteImage,
    ),
    sshKeys: await sweepOf('ssh key', await api.listSshKeys(HETZNER_SELECTOR), api.deleteSshKey),
    volumes: await sweepOf('volume', await api.listVolumes(HETZNER_SELECTOR), api.deleteVolume),
  }
}
