import {basename} from 'node:path'
import {createReadStream} from 'node:fs'

import type {EsxCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'

export interface EsxVm {
  vm: string
  name: string
  power_state: 'POWERED_ON' | 'POWERED_OFF' | 'SUSPENDED'
}

/** The library our base images are kept in. */
export const LIBRARY_NAME = 'mantle'

/**
 * The vSphere Automation REST API (vCenter 7.0U2 and later, under /api) calls
 * these modules make. A standalone ESXi host has no REST API; it is reached
 * through its vCenter.
 */
export interface EsxApi {
  listVms(names?: string[]): Promise<EsxVm[]>
  powerOff(vm: string): Promise<void>
  deleteVm(vm: string): Promise<void>
  datastore(name?: string): Promise<string>
  resourcePool(name?: string): Promise<string>
  findLibrary(): Promise<string | undefined>
  createLibrary(datastore: string): Promise<string>
  findLibraryItem(library: string, name: string): Promise<string | undefined>
  createLibraryItem(library: string, name: string): Promise<string>
  deleteLibraryItem(item: string): Promise<void>
  /** The library's items, with their names and creation times. */
  listLibraryItems(library: string): Promise<Array<{id: string; name: string; creation_time?: string | undefined}>>
  uploadToItem(item: string, file: string, size: number, onProgress: (bytes: number) => void, pollIntervalMs?: number): Promise<void>
  /** Deploys the OVF item as a VM (powered off); `properties` set the OVF's vApp properties (PropertyParams). */
  deployItem(
    item: string,
    target: {name: string; resourcePool: string; datastore: string; properties?: Array<{id: string; value: string}> | undefined},
  ): Promise<string>
  powerOn(vm: string): Promise<void>
  /** The first datacenter's name (datastore file URLs name it). */
  datacenterName(): Promise<string>
  /** A datastore's name, by its id. */
  datastoreName(id: string): Promise<string>
  /** Adds a serial port writing to a datastore file (`[datastore] dir/file`); the VM must be powered off. */
  addSerialFile(vm: string, file: string): Promise<void>
  /** A datastore file through vCenter's file access (/folder); '' when it does not exist (yet). */
  readDatastoreFile(file: {datacenter: string; datastore: string; path: string}): Promise<string>
  /** The guest's identity as VMware Tools report it; undefined while the tools do not run yet (503). */
  guestIdentity(vm: string): Promise<{ip_address?: string | undefined; host_name?: string | undefined} | undefined>
}

export async function esxApi(options: CallContext & {credentials: EsxCredentials; insecure?: boolean | undefined}): Promise<EsxApi> {
  const {server, user, password} = options.credentials
  const base = `${/^https?:\/\//.test(server) ? server.replace(/\/+$/, '') : `https://${server}`}/api`
  const common = {
    ...options,
    service: 'vsphere',
    baseUrl: base,
    rejectUnauthorized: options.insecure ? false : undefined,
    credentialsHint: 'check user and password in the ESX profile (--esx-profile, --esx-config-file)',
  }
  const login = await restClient({...common, headers: {authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`}})
  const session = await login.post<string>('session')
  const rest: RestClient = await restClient({...common, headers: {'vmware-api-session-id': session}})

  const one = async (path: string, what: string, name?: string): Promise<string> => {
    const list = await rest.get<Array<Record<string, string>>>(path, {searchParams: name ? {names: name} : {}})
    const key = Object.keys(list[0] ?? {}).find((k) => ['datastore', 'resource_pool'].includes(k))
    if (!list[0] || !key) throw new UsageError(`vsphere: no ${what}${name ? ` named "${name}"` : ''}`)
    return list[0][key]!
  }
  return {
    // A set filter is the parameter repeated (names=a&names=b), not one comma-joined value.
    listVms: (names) =>
      rest.get<EsxVm[]>(`vcenter/vm${names?.length ? `?${names.map((n) => `names=${encodeURIComponent(n)}`).join('&')}` : ''}`),
    powerOff: async (vm) => {
      await rest.request('POST', `vcenter/vm/${vm}/power`, {searchParams: {action: 'stop'}})
    },
    deleteVm: (vm) => rest.delete(`vcenter/vm/${vm}`),
    datastore: (name) => one('vcenter/datastore', 'datastore', name),
    resourcePool: (name) => one('vcenter/resource-pool', 'resource pool', name),
    findLibrary: async () => (await rest.post<string[]>('content/library', {name: LIBRARY_NAME}, {searchParams: {action: 'find'}}))[0],
    createLibrary: (datastore) =>
      rest.post<string>('content/local-library', {
        name: LIBRARY_NAME,
        type: 'LOCAL',
        storage_backings: [{type: 'DATASTORE', datastore_id: datastore}],
      }),
    findLibraryItem: async (library, name) =>
      (await rest.post<string[]>('content/library/item', {library_id: library, name}, {searchParams: {action: 'find'}}))[0],
    createLibraryItem: (library, name) => rest.post<string>('content/library/item', {library_id: library, name, type: 'ovf'}),
    deleteLibraryItem: (item) => rest.delete(`content/library/item/${item}`),
    listLibraryItems: async (library) =>
      Promise.all(
        (await rest.get<string[]>('content/library/item', {searchParams: {library_id: library}})).map((id) =>
          rest.get<{id: string; name: string; creation_time?: string}>(`content/library/item/${id}`),
        ),
      ),
    uploadToItem: async (item, file, size, onProgress, pollIntervalMs) => {
      // An update session takes the OVA pushed over HTTP, then validates and completes it.
      const sessionId = await rest.post<string>('content/library/item/update-session', {library_item_id: item})
      try {
        const target = await rest.post<{upload_endpoint?: {uri: string}}>(`content/library/item/update-session/${sessionId}/file`, {
          name: basename(file),
          source_type: 'PUSH',
          size,
        })
        if (!target.upload_endpoint?.uri) throw new InfraError('vsphere: the update session gave no upload URL')
        await rest.request('PUT', target.upload_endpoint.uri, {
          body: createReadStream(file),
          headers: {'content-type': 'application/octet-stream', 'content-length': String(size)},
          onUploadProgress: onProgress,
        })
        await pollUntil(
          async () => {
            const s = await rest.get<{state: string; error_message?: {default_message?: string}}>(
              `content/library/item/update-session/${sessionId}`,
            )
            if (s.state === 'ERROR')
              throw new InfraError(`vsphere: upload of ${basename(file)} failed: ${s.error_message?.default_message ?? 'unknown error'}`)
            const files = await rest.get<Array<{status?: string}>>(`content/library/item/update-session/${sessionId}/file`)
            return files.every((f) => f.status === 'READY') ? true : undefined
          },
          {what: `the upload of ${basename(file)}`, intervalMs: pollIntervalMs},
        )
        await rest.request('POST', `content/library/item/update-session/${sessionId}`, {searchParams: {action: 'complete'}})
      } catch (error) {
        await rest
          .request('POST', `content/library/item/update-session/${sessionId}`, {searchParams: {action: 'cancel'}})
          .catch(() => undefined)
        throw error
      }
    },
    datacenterName: async () => {
      const list = await rest.get<Array<{datacenter: string; name: string}>>('vcenter/datacenter')
      if (!list[0]) throw new UsageError('vsphere: no datacenter')
      return list[0].name
    },
    datastoreName: async (id) => {
      const found = (await rest.get<Array<{datastore: string; name: string}>>('vcenter/datastore')).find((d) => d.datastore === id)
      if (!found) throw new InfraError(`vsphere: no datastore ${id}`)
      return found.name
    },
    addSerialFile: async (vm, file) => {
      await rest.post(`vcenter/vm/${vm}/hardware/serial`, {
        backing: {type: 'FILE', file},
        start_connected: true,
        allow_guest_control: false,
      })
    },
    readDatastoreFile: async ({datacenter, datastore, path}) => {
      // vCenter's file access takes Basic auth, not the API session.
      const url = `${base.replace(/\/api$/, '')}/folder/${path.split('/').map(encodeURIComponent).join('/')}`
      const r = await login.request<string>('GET', url, {searchParams: {dcPath: datacenter, dsName: datastore}, expect: [404]})
      return r.status === 404 ? '' : String(r.body ?? '')
    },
    powerOn: async (vm) => {
      await rest.request('POST', `vcenter/vm/${vm}/power`, {searchParams: {action: 'start'}})
    },
    guestIdentity: async (vm) => {
      const r = await rest.request<{ip_address?: string; host_name?: string}>('GET', `vcenter/vm/${vm}/guest/identity`, {expect: [503]})
      return r.status === 503 ? undefined : r.body
    },
    deployItem: async (item, target) => {
      const out = await rest.post<{
        succeeded: boolean
        resource_id?: {id: string}
        error?: {errors?: Array<{message?: {default_message?: string}}>}
      }>(
        `vcenter/ovf/library-item/${item}`,
        {
          target: {resource_pool_id: target.resourcePool},
          deployment_spec: {
            name: target.name,
            accept_all_EULA: true,
            default_datastore_id: target.datastore,
            storage_provisioning: 'thin',
            ...(target.properties
              ? {
                  additional_parameters: [
                    {'@class': 'com.vmware.vcenter.ovf.property_params', type: 'PropertyParams', properties: target.properties},
                  ],
                }
              : {}),
          },
        },
        {searchParams: {action: 'deploy'}},
      )
      if (!out.succeeded || !out.resource_id)
        throw new InfraError(
          `vsphere: deploying ${target.name} failed: ${out.error?.errors?.map((e) => e.message?.default_message).join('; ') ?? 'no reason given'}`,
        )
      return out.resource_id.id
    },
  }
}

/**
 * Creates the base VM from an OVA: the OVA goes into our content library (as
 * an item named like the VM) and is deployed from there. A VM of that name is
 * reused; an upload that fails leaves no half-made item behind.
 */
export async function createBaseVm(options: {
  api: EsxApi
  name: string
  file: string
  datastore?: string | undefined
  resourcePool?: string | undefined
  context: ServiceContext
}): Promise<{vm: string; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  if (!options.file.endsWith('.ova')) throw new UsageError(`esx: ${options.file} is not an .ova file`)
  const size = await requireFile(options.file)
  const existing = (await api.listVms([name]))[0]
  if (existing) {
    ctx.logger.notice(`VM ${name} exists as ${existing.vm}; reusing it (remove-base removes it)`)
    return {vm: existing.vm, name, created: false}
  }
  const datastore = await api.datastore(options.datastore)
  const pool = await api.resourcePool(options.resourcePool)
  const library = (await api.findLibrary()) ?? (await api.createLibrary(datastore))
  const stale = await api.findLibraryItem(library, name)
  if (stale) await api.deleteLibraryItem(stale)
  const item = await api.createLibraryItem(library, name)
  const progress = uploadProgress(ctx, `upload ${basename(options.file)}`, size)
  try {
    await api.uploadToItem(item, options.file, size, progress.onProgress, ctx.pollIntervalMs)
  } catch (error) {
    await api.deleteLibraryItem(item).catch(() => ctx.logger.warn(`could not delete library item ${item}`))
    throw error
  } finally {
    progress.finish()
  }
  const vm = await api.deployItem(item, {name, resourcePool: pool, datastore})
  ctx.logger.info(`deployed ${name} as ${vm}`)
  return {vm, name, created: true}
}

/** Powers off and deletes VMs by name (or every VM whose name starts with the prefix). */
export async function removeVms(options: {
  api: EsxApi
  names?: string[] | undefined
  prefix?: string | undefined
  context: ServiceContext
}): Promise<{removed: EsxVm[]}> {
  const {api, context: ctx} = options
  if (!options.names?.length && !options.prefix) throw new UsageError('esx: name the VMs to remove, or give a prefix')
  const all = await api.listVms(options.names?.length ? options.names : undefined)
  const doomed = options.prefix ? all.filter((v) => v.name.startsWith(options.prefix!)) : all
  for (const v of doomed) {
    if (v.power_state === 'POWERED_ON') await api.powerOff(v.vm)
    await api.deleteVm(v.vm)
    ctx.logger.info(`removed ${v.name} (${v.vm})`)
  }
  return {removed: doomed}
}

/** Removes the base VM and its library item. */
export async function removeBaseVm(options: {
  api: EsxApi
  name: string
  context: ServiceContext
}): Promise<{removed: EsxVm[]; libraryItem?: string | undefined}> {
  const {api, name} = options
  const removed = (await removeVms({api, names: [name], context: options.context})).removed
  if (removed.length === 0) throw new UsageError(`esx: no VM named "${name}"`)
  const library = await api.findLibrary()
  const item = library ? await api.findLibraryItem(library, name) : undefined
  if (item) await api.deleteLibraryItem(item)
  return {removed, libraryItem: item}
}

/**
 * The names of the VMs kola deploys: `<run resource name>-t<creation time,
 * base-36 seconds>`. vSphere's REST API shows neither tags nor a creation
 * time for a VM, so the name carries both the run (`kola-<8 hex>-`, the
 * marker) and the age that `ore esx gc` needs.
 */
export function runVmName(name: string, now: Date = new Date()): string {
  return `${name}-t${Math.floor(now.getTime() / 1000).toString(36)}`
}

/** When a VM named by runVmName was made; undefined for any other name. */
export function runVmCreated(name: string): Date | undefined {
  const m = /^kola-[0-9a-f]{8}-.*-t([0-9a-z]{6,8})$/.exec(name)
  return m ? new Date(parseInt(m[1]!, 36) * 1000) : undefined
}

/**
 * Deploys a VM from the OVF library item with the Ignition config in the
 * guestinfo vApp properties Flatcar's VMware image reads
 * (guestinfo.ignition.config.data, base64, and its .encoding), gives it a
 * serial port writing to serial.out in its directory (as flatcar/mantle's
 * addSerialPort), powers it on and waits until VMware Tools report an IPv4
 * address. On any failure the VM is removed again.
 */
export async function launchVm(
  api: EsxApi,
  options: {
    item: string
    name: string
    resourcePool: string
    datastore: string
    ignition: string
    /** Where the serial console goes: a file in the VM's directory on this datastore, read through vCenter's file access. */
    console?: {datacenter: string; datastoreName: string} | undefined
    context: ServiceContext
  },
): Promise<{vm: string; ip: string; console: () => Promise<string>}> {
  const ctx = options.context
  const vm = await api.deployItem(options.item, {
    name: options.name,
    resourcePool: options.resourcePool,
    datastore: options.datastore,
    properties: [
      {id: 'guestinfo.ignition.config.data', value: Buffer.from(options.ignition).toString('base64')},
      {id: 'guestinfo.ignition.config.data.encoding', value: 'base64'},
    ],
  })
  const serial = options.console && {
    datacenter: options.console.datacenter,
    datastore: options.console.datastoreName,
    path: `${options.name}/serial.out`,
  }
  try {
    if (serial) await api.addSerialFile(vm, `[${serial.datastore}] ${serial.path}`)
    await api.powerOn(vm)
    const ip = await pollUntil(
      async () => {
        const address = (await api.guestIdentity(vm))?.ip_address
        return address && /^\d+\.\d+\.\d+\.\d+$/.test(address) ? address : undefined
      },
      {
        what: `VM ${options.name} to report its address`,
        intervalMs: ctx.pollIntervalMs ?? 2000,
        timeoutMs: 15 * 60_000,
        signal: ctx.signal,
      },
    )
    return {vm, ip, console: async () => (serial ? api.readDatastoreFile(serial) : '')}
  } catch (error) {
    await removeVm(api, vm).catch((e: unknown) => ctx.logger.warn(`esx: cannot remove VM ${options.name}: ${String(e)}; ore esx gc will`))
    throw error
  }
}

/** Powers the VM off (if it is on) and deletes it. */
export async function removeVm(api: EsxApi, vm: string): Promise<void> {
  await api.powerOff(vm).catch(() => undefined)
  await api.deleteVm(vm)
}

/**
 * Removes kola's VMs (named by runVmName) made before the cutoff, then the
 * library items kola runs uploaded (--esx-ova-path: named by the run id, aged
 * by their creation_time).
 */
export async function gcEsx(options: {
  api: EsxApi
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{removedVms: string[]; removedLibraryItems: string[]}> {
  const {api, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const doomed = (await api.listVms()).filter((v) => isExpired({marked: true, created: runVmCreated(v.name)}, cutoff))
  for (const v of doomed) {
    ctx.logger.notice(`${options.dryRun ? 'would remove' : 'removing'} VM ${v.name} (${v.vm})`)
    if (!options.dryRun) await removeVm(api, v.vm)
  }
  const library = await api.findLibrary()
  const items = (library ? await api.listLibraryItems(library) : []).filter(
    (i) => RUN_ITEM.test(i.name) && isExpired({marked: true, created: i.creation_time ? new Date(i.creation_time) : undefined}, cutoff),
  )
  for (const i of items) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} library item ${i.name} (${i.id})`)
    if (!options.dryRun) await api.deleteLibraryItem(i.id)
  }
  return {removedVms: doomed.map((v) => v.name), removedLibraryItems: items.map((i) => i.name)}
}

/** A kola run's uploaded image: the library item is named by the run id. */
const RUN_ITEM = /^kola-[0-9a-f]{8}$/

/**
 * Uploads an OVA for one run (kola --esx-ova-path) as an item of our content
 * library named by the run id; a failed upload leaves no item behind. The
 * caller deletes the item when the run ends (`ore esx gc` after a SIGKILL).
 */
export async function uploadRunImage(
  api: EsxApi,
  options: {runId: string; file: string; datastore: string; context: ServiceContext},
): Promise<string> {
  const ctx = options.context
  if (!options.file.endsWith('.ova')) throw new UsageError(`esx: ${options.file} is not an .ova file`)
  const size = await requireFile(options.file)
  const library = (await api.findLibrary()) ?? (await api.createLibrary(options.datastore))
  const item = await api.createLibraryItem(library, options.runId)
  const progress = uploadProgress(ctx, `upload ${basename(options.file)}`, size)
  try {
    await api.uploadToItem(item, options.file, size, progress.onProgress, ctx.pollIntervalMs)
  } catch (error) {
    await api.deleteLibraryItem(item).catch(() => ctx.logger.warn(`esx: could not delete library item ${item}; ore esx gc will`))
    throw error
  } finally {
    progress.finish()
  }
  return item
}
