import type {PacketCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {restClient} from '../common/http.js'
import {isExpired, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'

/** Equinix Metal tags are plain strings: ours is "mantle". */
export const PACKET_TAG = MARKER_VALUE

export interface PacketDevice {
  id: string
  hostname: string
  state: string
  created_at: string
  tags?: string[] | undefined
  ip_addresses?: Array<{address: string; public: boolean; address_family: number}> | undefined
}

export interface PacketKey {
  id: string
  label: string
  fingerprint?: string | undefined
}

export interface CreateDeviceInput {
  hostname: string
  plan: string
  metro: string
  operating_system: string
  billing_cycle: 'hourly'
  userdata?: string | undefined
  ipxe_script_url?: string | undefined
  always_pxe?: boolean | undefined
  tags: string[]
}

/** The Equinix Metal (Packet) API calls these modules make. */
export interface PacketApi {
  readonly project: string
  createDevice(input: CreateDeviceInput): Promise<PacketDevice>
  getDevice(id: string): Promise<PacketDevice>
  listDevices(): Promise<PacketDevice[]>
  deleteDevice(id: string): Promise<void>
  listKeys(): Promise<PacketKey[]>
  deleteKey(id: string): Promise<void>
}

export async function packetApi(
  options: CallContext & {credentials: PacketCredentials; endpoint?: string | undefined},
): Promise<PacketApi> {
  const project = options.credentials.project
  const rest = await restClient({
    ...options,
    service: 'packet',
    baseUrl: options.endpoint ?? 'https://api.equinix.com/metal/v1',
    headers: {'x-auth-token': options.credentials.api_key},
    credentialsHint: 'check api_key in the Packet profile (--packet-profile, --packet-config-file)',
    describeError: (b) =>
      b && typeof b === 'object' && Array.isArray((b as {errors?: unknown}).errors)
        ? (b as {errors: string[]}).errors.join('; ')
        : undefined,
  })
  return {
    project,
    createDevice: (input) => rest.post<PacketDevice>(`projects/${project}/devices`, input),
    getDevice: (id) => rest.get<PacketDevice>(`devices/${id}`),
    listDevices: async () => {
      const out: PacketDevice[] = []
      for (let page = 1; ; page++) {
        const body = await rest.get<{devices: PacketDevice[]; meta?: {next?: unknown}}>(`projects/${project}/devices`, {
          searchParams: {page, per_page: 100},
        })
        out.push(...body.devices)
        if (!body.meta?.next) return out
      }
    },
    deleteDevice: (id) => rest.delete(`devices/${id}`),
    listKeys: async () => (await rest.get<{ssh_keys: PacketKey[]}>(`projects/${project}/ssh-keys`)).ssh_keys,
    deleteKey: (id) => rest.delete(`ssh-keys/${id}`),
  }
}

/** Creates a device tagged as ours and waits until it is active; a device that fails is deleted again. */
export async function createPacketDevice(options: {
  api: PacketApi
  input: Omit<CreateDeviceInput, 'tags' | 'billing_cycle'>
  context: ServiceContext
}): Promise<PacketDevice> {
  const {api, context: ctx} = options
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(options.input.hostname))
    throw new UsageError(`packet: invalid hostname "${options.input.hostname}"`)
  const device = await api.createDevice({...options.input, billing_cycle: 'hourly', tags: [PACKET_TAG]})
  ctx.logger.info(`device ${device.id} (${device.hostname}) ${device.state}`)
  try {
    return await pollUntil(
      async () => {
        const d = await api.getDevice(device.id)
        if (d.state === 'active') return d
        if (d.state === 'failed') throw new InfraError(`packet: device ${device.id} failed to provision`)
        return undefined
      },
      {what: `device ${device.id} to become active`, intervalMs: ctx.pollIntervalMs, timeoutMs: 30 * 60_000, signal: ctx.signal},
    )
  } catch (error) {
    // A device that never came up still bills by the hour.
    ctx.logger.warn(`deleting device ${device.id} that did not become active`)
    await api
      .deleteDevice(device.id)
      .catch((e: unknown) => ctx.logger.warn(`could not delete device ${device.id}: ${(e as Error).message}`))
    throw error
  }
}

export async function deletePacketKeys(options: {
  api: PacketApi
  labels?: string[] | undefined
  prefix?: string | undefined
  context: ServiceContext
}): Promise<{deleted: PacketKey[]}> {
  const keys = await options.api.listKeys()
  const doomed = keys.filter(
    (k) => options.labels?.includes(k.label) || (options.prefix !== undefined && k.label.startsWith(options.prefix)),
  )
  for (const k of doomed) await options.api.deleteKey(k.id)
  return {deleted: doomed}
}

/** Deletes devices tagged as ours and older than the cutoff. */
export async function gcPacket(options: {
  api: PacketApi
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{deletedDevices: string[]}> {
  const {api, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const doomed = (await api.listDevices()).filter((d) =>
    isExpired({marked: d.tags?.includes(PACKET_TAG) ?? false, created: new Date(d.created_at)}, cutoff),
  )
  for (const d of doomed) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} device ${d.hostname} (${d.id})`)
    if (!options.dryRun) await api.deleteDevice(d.id)
  }
  return {deletedDevices: doomed.map((d) => d.id)}
}
