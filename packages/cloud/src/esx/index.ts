import {basename} from 'node:path'
import {createReadStream} from 'node:fs'

import type {EsxCredentials} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {restClient, type RestClient} from '../common/http.js'
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
  uploadToItem(item: string, file: string, size: number, onProgress: (bytes: number) => void, pollIntervalMs?: number): Promise<void>
  deployItem(item: string, target: {name: string; resourcePool: string; datastore: string}): Promise<string>
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
    listVms: (names) => rest.get<EsxVm[]>('vcenter/vm', {searchParams: names?.length ? {names: names.join(',')} : {}}),
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
    deployItem: async (item, target) => {
      const out = await rest.post<{
        succeeded: boolean
        resource_id?: {id: string}
        error?: {errors?: Array<{message?: {default_message?: string}}>}
      }>(
        `vcenter/ovf/library-item/${item}`,
        {
          target: {resource_pool_id: target.resourcePool},
          deployment_spec: {name: target.name, accept_all_EULA: true, default_datastore_id: target.datastore, storage_provisioning: 'thin'},
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
