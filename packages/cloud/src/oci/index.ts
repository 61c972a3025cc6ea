import {stat} from 'node:fs/promises'
import {createReadStream} from 'node:fs'
import {basename} from 'node:path'

import {InfraError, UsageError} from '@mantle/kit'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {restClient, type RestClient} from '../common/http.js'
import {isExpired, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {requireFile} from '../common/files.js'
import {gcCutoff, resolveRefs, sweep, type GcOptions} from '../common/sweep.js'
import {pollUntil} from '../common/wait.js'
import {ociPrivateKey, signOciRequest, type OciSigningKey} from './signer.js'

export {ociPrivateKey, ociSigningString, signOciRequest, type OciSigningKey} from './signer.js'

/**
 * Oracle Cloud Infrastructure over its REST API (Core Services 20160918 and
 * Object Storage), every request signed (signer.ts). Request and response
 * shapes: Oracle's API reference and flatcar/mantle platform/api/oraclecloud/api.go,
 * whose freeform tag marks what mantle made.
 */

/** Our marker as OCI freeform tags (the original's "managed-by": "mantle", plus ours). */
export const OCI_TAGS: Readonly<Record<string, string>> = {[MARKER_KEY]: MARKER_VALUE, 'managed-by': MARKER_VALUE}

export interface OciCredentials {
  tenancy: string
  user: string
  fingerprint: string
  /** The PEM private key itself (read from key_file by auth). */
  key: string
  pass_phrase?: string | undefined
  region: string
  compartment?: string | undefined
}

interface Tagged {
  id: string
  displayName?: string | undefined
  lifecycleState: string
  timeCreated?: string | undefined
  freeformTags?: Record<string, string> | undefined
}
export type OciInstance = Tagged & {availabilityDomain?: string; imageId?: string}
export type OciImage = Tagged
export type OciVolume = Tagged & {availabilityDomain?: string}
export interface OciVnic {
  id: string
  isPrimary?: boolean | undefined
  publicIp?: string | undefined
  privateIp?: string | undefined
}

export interface OciLaunchInput {
  availabilityDomain: string
  compartmentId: string
  displayName: string
  shape: string
  shapeConfig?: {ocpus: number; memoryInGBs: number} | undefined
  imageId: string
  subnetId: string
  /** The Ignition config; sent base64-encoded as metadata.user_data. */
  userData: string
  sshAuthorizedKeys?: string | undefined
}

/** The OCI calls these modules make. */
export interface OciApi {
  region: string
  compartmentId: string | undefined
  /** A cheap call that proves the credentials: GET /users/{user} of Identity. */
  checkCredentials(): Promise<void>
  launchInstance(input: OciLaunchInput): Promise<OciInstance>
  getInstance(id: string): Promise<OciInstance>
  listInstances(compartmentId: string): Promise<OciInstance[]>
  terminateInstance(id: string): Promise<void>
  primaryVnic(compartmentId: string, instanceId: string): Promise<OciVnic | undefined>
  /** The serial console through a console history capture. */
  consoleText(instanceId: string): Promise<string>
  getNamespace(): Promise<string>
  putObject(input: {namespace: string; bucket: string; object: string; file: string; onProgress?: (bytes: number) => void}): Promise<void>
  deleteObject(input: {namespace: string; bucket: string; object: string}): Promise<void>
  createImage(input: {
    compartmentId: string
    displayName: string
    namespace: string
    bucket: string
    object: string
    sourceImageType: 'QCOW2' | 'VMDK'
  }): Promise<OciImage>
  getImage(id: string): Promise<OciImage>
  /** Undefined when OCI answers 404 (NotAuthorizedOrNotFound). */
  getImageIfExists(id: string): Promise<OciImage | undefined>
  listImages(compartmentId: string): Promise<OciImage[]>
  deleteImage(id: string): Promise<void>
  listVolumes(compartmentId: string): Promise<OciVolume[]>
  deleteVolume(id: string): Promise<void>
  listBootVolumes(compartmentId: string, availabilityDomain: string): Promise<OciVolume[]>
  deleteBootVolume(id: string): Promise<void>
  listAvailabilityDomains(compartmentId: string): Promise<string[]>
}

export interface OciEndpoints {
  /** Core Services (compute, block storage, networking): https://iaas.<region>.oraclecloud.com */
  iaas?: string | undefined
  objectStorage?: string | undefined
  identity?: string | undefined
}

export async function ociApi(options: CallContext & {credentials: OciCredentials; endpoints?: OciEndpoints | undefined}): Promise<OciApi> {
  const c = options.credentials
  const key: OciSigningKey = {keyId: `${c.tenancy}/${c.user}/${c.fingerprint}`, privateKey: ociPrivateKey(c.key, c.pass_phrase)}
  const region = c.region
  const client = (service: string, baseUrl: string, unsignedBody = false): Promise<RestClient> =>
    restClient({
      ...options,
      service: `oci ${service}`,
      baseUrl,
      credentialsHint: 'check tenancy, user, fingerprint and key_file of the OCI profile (--oci-profile, --oci-config-file)',
      // OCI answers {code, message}; 404 NotAuthorizedOrNotFound stays an error of the call, not of the credentials.
      describeError: (body) => {
        const b = body as {code?: unknown; message?: unknown} | undefined
        return typeof b?.code === 'string' ? `${b.code}: ${String(b.message ?? '')}` : undefined
      },
      sign: (r) =>
        signOciRequest(
          {
            method: r.method,
            url: r.url,
            body: r.body,
            unsignedBody: unsignedBody || r.stream,
            contentType: r.stream ? 'application/octet-stream' : undefined,
          },
          key,
        ),
    })
  const iaas = await client('iaas', `${options.endpoints?.iaas ?? `https://iaas.${region}.oraclecloud.com`}/20160918`)
  const identity = await client('identity', `${options.endpoints?.identity ?? `https://identity.${region}.oci.oraclecloud.com`}/20160918`)
  const objectStorageBase = options.endpoints?.objectStorage ?? `https://objectstorage.${region}.oraclecloud.com`
  const objects = await client('objectstorage', objectStorageBase)
  const uploads = await client('objectstorage', objectStorageBase, true)

  // Lists are paged by the opc-next-page response header and ?page=.
  async function all<T>(path: string, searchParams: Record<string, string>): Promise<T[]> {
    const out: T[] = []
    let page: string | undefined
    do {
      const response = await iaas.request<T[]>('GET', path, {searchParams: {...searchParams, page}})
      out.push(...response.body)
      page = response.headers['opc-next-page'] as string | undefined
    } while (page)
    return out
  }
  const enc = encodeURIComponent

  return {
    region,
    compartmentId: c.compartment,
    checkCredentials: async () => {
      await identity.get(`users/${enc(c.user)}`)
    },
    launchInstance: (input) =>
      iaas.post<OciInstance>('instances', {
        availabilityDomain: input.availabilityDomain,
        compartmentId: input.compartmentId,
        displayName: input.displayName,
        freeformTags: OCI_TAGS,
        metadata: {
          user_data: Buffer.from(input.userData).toString('base64'),
          ...(input.sshAuthorizedKeys ? {ssh_authorized_keys: input.sshAuthorizedKeys} : {}),
        },
        shape: input.shape,
        ...(input.shapeConfig ? {shapeConfig: input.shapeConfig} : {}),
        sourceDetails: {sourceType: 'image', imageId: input.imageId},
        createVnicDetails: {assignPublicIp: true, displayName: input.displayName, freeformTags: OCI_TAGS, subnetId: input.subnetId},
      }),
    getInstance: (id) => iaas.get<OciInstance>(`instances/${enc(id)}`),
    listInstances: (compartmentId) => all<OciInstance>('instances', {compartmentId}),
    terminateInstance: (id) => iaas.delete(`instances/${enc(id)}`, {searchParams: {preserveBootVolume: false}, expect: [404]}),
    primaryVnic: async (compartmentId, instanceId) => {
      const attachments = await all<{vnicId?: string; lifecycleState?: string}>('vnicAttachments', {compartmentId, instanceId})
      for (const a of attachments) {
        if (!a.vnicId) continue
        const vnic = await iaas.get<OciVnic>(`vnics/${enc(a.vnicId)}`)
        if (vnic.isPrimary) return vnic
      }
      return undefined
    },
    consoleText: async (instanceId) => {
      const history = await iaas.post<{id: string; lifecycleState: string}>('instanceConsoleHistories', {
        instanceId,
        freeformTags: OCI_TAGS,
      })
      try {
        await pollUntil(
          async () => {
            const h = await iaas.get<{lifecycleState: string}>(`instanceConsoleHistories/${enc(history.id)}`)
            if (h.lifecycleState === 'SUCCEEDED') return true
            if (h.lifecycleState === 'FAILED') throw new InfraError(`oci: console capture of ${instanceId} failed`)
            return undefined
          },
          {what: `console history of ${instanceId}`, intervalMs: 1000, timeoutMs: 120_000, signal: options.signal},
        )
        // The capture holds the last 1 MB of serial output.
        return await iaas.get<string>(`instanceConsoleHistories/${enc(history.id)}/data`, {searchParams: {length: 1_048_576}})
      } finally {
        await iaas.delete(`instanceConsoleHistories/${enc(history.id)}`, {expect: [404]}).catch(() => undefined)
      }
    },
    getNamespace: async () => {
      const ns = await objects.get<unknown>('n/')
      if (typeof ns !== 'string' || !ns) throw new InfraError('oci: the Object Storage namespace answer is empty')
      return ns.replace(/^"|"$/g, '')
    },
    putObject: async (input) => {
      const size = (await stat(input.file)).size
      await uploads.request('PUT', `n/${enc(input.namespace)}/b/${enc(input.bucket)}/o/${enc(input.object)}`, {
        body: createReadStream(input.file),
        headers: {'content-length': String(size), 'content-type': 'application/octet-stream'},
        onUploadProgress: input.onProgress,
      })
    },
    deleteObject: (input) => objects.delete(`n/${enc(input.namespace)}/b/${enc(input.bucket)}/o/${enc(input.object)}`, {expect: [404]}),
    createImage: (input) =>
      iaas.post<OciImage>('images', {
        compartmentId: input.compartmentId,
        displayName: input.displayName,
        freeformTags: OCI_TAGS,
        imageSourceDetails: {
          sourceType: 'objectStorageTuple',
          namespaceName: input.namespace,
          bucketName: input.bucket,
          objectName: input.object,
          operatingSystem: 'Flatcar',
          operatingSystemVersion: 'Container Linux',
          sourceImageType: input.sourceImageType,
        },
        launchMode: 'PARAVIRTUALIZED',
      }),
    getImage: (id) => iaas.get<OciImage>(`images/${enc(id)}`),
    getImageIfExists: async (id) => {
      const r = await iaas.request<OciImage>('GET', `images/${enc(id)}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    listImages: (compartmentId) => all<OciImage>('images', {compartmentId}),
    deleteImage: (id) => iaas.delete(`images/${enc(id)}`, {expect: [404]}),
    listVolumes: (compartmentId) => all<OciVolume>('volumes', {compartmentId}),
    deleteVolume: (id) => iaas.delete(`volumes/${enc(id)}`, {expect: [404]}),
    listBootVolumes: (compartmentId, availabilityDomain) => all<OciVolume>('bootVolumes', {compartmentId, availabilityDomain}),
    deleteBootVolume: (id) => iaas.delete(`bootVolumes/${enc(id)}`, {expect: [404]}),
    listAvailabilityDomains: async (compartmentId) =>
      (await identity.get<{name: string}[]>('availabilityDomains', {searchParams: {compartmentId}})).map((d) => d.name),
  }
}

/** Polls an instance until it is in `state`; TERMINATED (while waiting for another state) is an error. */
export async function waitInstanceState(
  api: OciApi,
  id: string,
  state: 'RUNNING' | 'TERMINATED',
  options: {intervalMs?: number | undefined; timeoutMs?: number | undefined; signal?: AbortSignal | undefined},
): Promise<OciInstance> {
  return pollUntil(
    async () => {
      const instance = await api.getInstance(id)
      if (instance.lifecycleState === state) return instance
      if (state === 'RUNNING' && (instance.lifecycleState === 'TERMINATED' || instance.lifecycleState === 'TERMINATING'))
        throw new InfraError(`oci: instance ${id} is ${instance.lifecycleState} instead of starting`)
      return undefined
    },
    {
      what: `instance ${id} to be ${state}`,
      intervalMs: options.intervalMs ?? 5000,
      timeoutMs: options.timeoutMs ?? 1_200_000,
      signal: options.signal,
    },
  )
}

/** Launches an instance tagged as ours, waits until it runs, and returns it with its primary VNIC's addresses; terminates it if it never runs. */
export async function launchAndWait(
  api: OciApi,
  input: OciLaunchInput,
  options: {intervalMs?: number | undefined; signal?: AbortSignal | undefined; logger: CallContext['logger']},
): Promise<{instance: OciInstance; publicIp: string; privateIp: string}> {
  const launched = await api.launchInstance(input)
  try {
    const instance = await waitInstanceState(api, launched.id, 'RUNNING', options)
    const vnic = await api.primaryVnic(input.compartmentId, launched.id)
    if (!vnic?.publicIp) throw new InfraError(`oci: instance ${launched.id} has no public address on its primary VNIC`)
    return {instance, publicIp: vnic.publicIp, privateIp: vnic.privateIp ?? vnic.publicIp}
  } catch (error) {
    await api
      .terminateInstance(launched.id)
      .catch((e: unknown) => options.logger.warn(`oci: cannot terminate ${launched.id}: ${String(e)}; ore oci gc will`))
    throw error
  }
}

export function requireCompartment(api: OciApi, compartmentId: string | undefined): string {
  const id = compartmentId ?? api.compartmentId
  if (!id) throw new UsageError('oci: no compartment', {hint: 'pass --oci-compartment or set "compartment" in the OCI profile'})
  return id
}

/**
 * Uploads a QCOW2/VMDK disk to an Object Storage bucket, imports it as a
 * custom image tagged as ours, waits until it is AVAILABLE and deletes the
 * object (also when the import fails: a rerun uploads again). An image of
 * the same name that is AVAILABLE or IMPORTING is reused.
 */
export async function createOciImage(options: {
  api: OciApi
  name: string
  file: string
  bucket: string
  namespace?: string | undefined
  object?: string | undefined
  compartmentId?: string | undefined
  sourceImageType?: 'QCOW2' | 'VMDK' | undefined
  context: ServiceContext
}): Promise<{id: string; name: string; created: boolean}> {
  const {api, name, context: ctx} = options
  const compartmentId = requireCompartment(api, options.compartmentId)
  const size = await requireFile(options.file)
  const waitAvailable = (id: string) =>
    pollUntil(
      async () => {
        const image = await api.getImage(id)
        if (image.lifecycleState === 'AVAILABLE') return true
        if (image.lifecycleState === 'DELETED' || image.lifecycleState === 'DISABLED')
          throw new InfraError(`oci: import of image ${name} failed: the image is ${image.lifecycleState}`)
        return undefined
      },
      {what: `image ${name} to become AVAILABLE`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
    )
  const existing = (await api.listImages(compartmentId)).find(
    (i) =>
      i.displayName === name &&
      (i.lifecycleState === 'AVAILABLE' || i.lifecycleState === 'IMPORTING' || i.lifecycleState === 'PROVISIONING'),
  )
  if (existing) {
    ctx.logger.notice(`image ${name} exists as ${existing.id} (${existing.lifecycleState}); reusing it`)
    await waitAvailable(existing.id)
    return {id: existing.id, name, created: false}
  }
  const namespace = options.namespace ?? (await api.getNamespace())
  const object = options.object ?? basename(options.file)
  const progress = uploadProgress(ctx, `uploading ${object}`, size)
  try {
    await api.putObject({namespace, bucket: options.bucket, object, file: options.file, onProgress: progress.onProgress})
  } finally {
    progress.finish()
  }
  try {
    const image = await api.createImage({
      compartmentId,
      displayName: name,
      namespace,
      bucket: options.bucket,
      object,
      sourceImageType: options.sourceImageType ?? (/\.vmdk$/i.test(options.file) ? 'VMDK' : 'QCOW2'),
    })
    await waitAvailable(image.id)
    return {id: image.id, name, created: true}
  } finally {
    await api
      .deleteObject({namespace, bucket: options.bucket, object})
      .catch((e: unknown) => ctx.logger.warn(`oci: cannot delete the uploaded object ${object}: ${String(e)}`))
  }
}

/** Deletes images by OCID or display name. */
export async function deleteOciImages(options: {
  api: OciApi
  images: string[]
  compartmentId?: string | undefined
  context: ServiceContext
}): Promise<{deleted: string[]}> {
  const list = await options.api.listImages(requireCompartment(options.api, options.compartmentId))
  const ids = resolveRefs(
    list.filter((i) => i.lifecycleState !== 'DELETED'),
    options.images,
    {id: (i) => i.id, name: (i) => i.displayName, missing: (ref) => new UsageError(`oci: no image "${ref}" in the compartment`)},
  )
  for (const id of ids) await options.api.deleteImage(id)
  return {deleted: ids}
}

export interface OciGcResult {
  instances: string[]
  images: string[]
  volumes: string[]
  bootVolumes: string[]
}

/**
 * Deletes what carries our freeform tag and is older than the cutoff:
 * instances (with their boot volumes), images, block volumes, and boot
 * volumes left by an instance that kept its own. OCI has no SSH key
 * resource (keys travel in instance metadata): there are none to collect.
 */
export async function gcOci(options: GcOptions<OciApi> & {compartmentId?: string | undefined}): Promise<OciGcResult> {
  const {api, context: ctx} = options
  const compartmentId = requireCompartment(api, options.compartmentId)
  const cutoff = gcCutoff(options)
  const expired = (r: Tagged, gone: string[]) =>
    !gone.includes(r.lifecycleState) &&
    isExpired(
      {
        marked: r.freeformTags?.[MARKER_KEY] === MARKER_VALUE || r.freeformTags?.['managed-by'] === MARKER_VALUE,
        created: r.timeCreated ? new Date(r.timeCreated) : undefined,
      },
      cutoff,
    )
  const common = {dryRun: options.dryRun, logger: ctx.logger, id: (r: Tagged) => r.id, name: (r: Tagged) => r.displayName}
  const live = (r: Tagged) => expired(r, ['TERMINATED', 'TERMINATING'])
  const instances = await sweep((await api.listInstances(compartmentId)).filter(live), {
    ...common,
    kind: 'instance',
    remove: (i) => api.terminateInstance(i.id),
  })
  const images = await sweep(
    (await api.listImages(compartmentId)).filter((x) => expired(x, ['DELETED'])),
    {...common, kind: 'image', remove: (i) => api.deleteImage(i.id)},
  )
  const volumes = await sweep((await api.listVolumes(compartmentId)).filter(live), {
    ...common,
    kind: 'volume',
    remove: (v) => api.deleteVolume(v.id),
  })
  const bootVolumes: string[] = []
  for (const ad of await api.listAvailabilityDomains(compartmentId))
    bootVolumes.push(
      ...(await sweep((await api.listBootVolumes(compartmentId, ad)).filter(live), {
        ...common,
        kind: 'boot volume',
        remove: (v) => api.deleteBootVolume(v.id),
      })),
    )
  return {instances, images, volumes, bootVolumes}
}
