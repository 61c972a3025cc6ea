import {GOOGLE_TOKEN_URI, type GceAuth} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {restClient, type RestClient} from '../common/http.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'

/** The fields of Compute Engine resources these modules read and write (REST v1 names). */
export interface GceImage {
  name: string
  status?: 'PENDING' | 'READY' | 'FAILED' | 'DELETING' | undefined
  family?: string | undefined
  description?: string | undefined
  labels?: Record<string, string> | undefined
  creationTimestamp?: string | undefined
  selfLink?: string | undefined
  rawDisk?: {source: string} | undefined
  licenses?: string[] | undefined
  guestOsFeatures?: Array<{type: string}> | undefined
  architecture?: 'X86_64' | 'ARM64' | 'ARCHITECTURE_UNSPECIFIED' | undefined
  deprecated?: {state?: string; replacement?: string} | undefined
}

export interface GceInstance {
  name: string
  zone?: string | undefined
  status?: string | undefined
  labels?: Record<string, string> | undefined
  creationTimestamp?: string | undefined
  machineType?: string | undefined
  networkInterfaces?:
    | Array<{
        network?: string
        networkIP?: string
        nicType?: 'VIRTIO_NET' | 'GVNIC' | undefined
        accessConfigs?: Array<{natIP?: string; type?: string; name?: string}>
      }>
    | undefined
  disks?: unknown[] | undefined
  metadata?: {items?: Array<{key: string; value: string}>} | undefined
}

export interface GceOperation {
  name: string
  status: 'PENDING' | 'RUNNING' | 'DONE'
  zone?: string | undefined
  targetLink?: string | undefined
  error?: {errors?: Array<{code?: string; message?: string}>} | undefined
}

/** An IAM policy as Compute returns it (images.getIamPolicy); `etag` guards against lost updates. */
export interface GceIamPolicy {
  version?: number | undefined
  bindings?: Array<{role: string; members: string[]; condition?: unknown}> | undefined
  etag?: string | undefined
}

export type DeprecationState = 'ACTIVE' | 'DEPRECATED' | 'OBSOLETE' | 'DELETED'

/**
 * The Compute Engine calls ore, plume and kola make, over its REST API (v1).
 * REST through got rather than @google-cloud/compute: a dozen calls, the
 * exact request shapes visible (and recordable in tests), one retry policy,
 * and none of the SDK's start-up cost.
 */
export interface GceComputeApi {
  readonly project: string
  getImage(name: string): Promise<GceImage | undefined>
  insertImage(image: GceImage, options?: {forceCreate?: boolean}): Promise<GceOperation>
  listImages(filter?: string): Promise<GceImage[]>
  deleteImage(name: string): Promise<GceOperation>
  deprecateImage(name: string, status: {state: DeprecationState; replacement?: string | undefined}): Promise<GceOperation>
  /** images.getIamPolicy (GET); an image without a policy answers {etag} alone. */
  getImageIamPolicy(name: string): Promise<GceIamPolicy>
  /** images.setIamPolicy (POST {policy}): replaces the policy; a stale etag is refused with 412. */
  setImageIamPolicy(name: string, policy: GceIamPolicy): Promise<GceIamPolicy>
  listInstances(filter?: string): Promise<GceInstance[]>
  insertInstance(zone: string, instance: GceInstance): Promise<GceOperation>
  /** instances.get; undefined when there is no such instance (404). */
  getInstance(zone: string, name: string): Promise<GceInstance | undefined>
  /** instances.getSerialPortOutput of port 1, from byte `start` on. */
  getSerialPortOutput(zone: string, name: string, start?: number): Promise<{contents: string; next: number}>
  /** An image by name in the project, or by `projects/<p>/global/images/<name>` or `.../images/family/<family>` (images.getFromFamily). */
  findImage(ref: string): Promise<GceImage | undefined>
  deleteInstance(zone: string, name: string): Promise<GceOperation>
  /** Polls an operation until DONE; its error, if any, becomes an InfraError. */
  waitOperation(operation: GceOperation): Promise<void>
}

export interface GceClientOptions extends CallContext {
  auth: GceAuth
  /** Default: the project of the credentials. */
  project?: string | undefined
  /** For tests and private endpoints. */
  endpoint?: string | undefined
  pollIntervalMs?: number | undefined
}

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform']

/** A bearer token source for the resolved Google credentials (google-auth-library, loaded on first use). */
export async function googleTokenSource(auth: GceAuth): Promise<() => Promise<Record<string, string>>> {
  if (auth.kind === 'none') return async () => ({})
  const gal = await import('google-auth-library')
  const client =
    auth.kind === 'service-account'
      ? withTokenUri(new gal.JWT({email: auth.clientEmail, key: auth.privateKey, scopes: SCOPES}), auth.tokenUri)
      : auth.kind === 'authorized-user'
        ? new gal.UserRefreshClient({clientId: auth.clientId, clientSecret: auth.clientSecret, refreshToken: auth.refreshToken})
        : new gal.Compute({scopes: SCOPES})
  return async () => {
    let token: string | null | undefined
    try {
      token = (await client.getAccessToken()).token
    } catch (error) {
      throw tokenError(error)
    }
    if (!token) throw new UsageError('gce: the credentials gave no access token')
    return {authorization: `Bearer ${token}`}
  }
}

/**
 * A key's own token_uri: google-auth-library always posts the JWT grant to
 * Google's endpoint, Go's oauth2 (flatcar/mantle auth/google.go) to the key's
 * token_uri; ours does what the key says (private deployments, test fakes).
 */
function withTokenUri<C extends object>(client: C, tokenUri: string | undefined): C {
  type Interceptable = {
    transporter: {interceptors: {request: {add(i: {resolved: (c: {url?: unknown}) => Promise<{url?: unknown}>}): void}}}
  }
  if (tokenUri)
    (client as unknown as Interceptable).transporter.interceptors.request.add({
      resolved: async (config) => (String(config.url) === GOOGLE_TOKEN_URI ? {...config, url: new URL(tokenUri)} : config),
    })
  return client
}

/** The token endpoint's refusals (a revoked key, a bad signature) are the user's to fix: exit 2. */
function tokenError(error: unknown): Error {
  const e = error as {status?: number; response?: {status?: number; data?: {error?: string; error_description?: string}}; message?: string}
  const status = e.response?.status ?? e.status
  const data = e.response?.data
  if (status !== undefined && status >= 400 && status < 500) {
    return new UsageError(
      `gce: Google refused the credentials (${data?.error ?? status}${data?.error_description ? `: ${data.error_description}` : ''})`,
      {
        cause: error,
        hint: 'check --json-key; `ore credentials gce` shows which key is used',
      },
    )
  }
  return error as Error
}

type Paged<T> = {items?: T[]; nextPageToken?: string}

export async function gceComputeApi(options: GceClientOptions): Promise<GceComputeApi> {
  const project = options.project ?? ('projectId' in options.auth ? options.auth.projectId : undefined)
  if (!project) throw new UsageError('gce: no project given', {hint: 'pass --project, or use a key file that names its project_id'})
  const computeRoot = `${options.endpoint ?? 'https://compute.googleapis.com'}/compute/v1`
  const rest: RestClient = await restClient({
    ...options,
    service: 'gce',
    baseUrl: `${computeRoot}/projects/${project}`,
    headers: await googleTokenSource(options.auth),
    credentialsHint: 'check --json-key and that its account may use the project; `ore credentials gce` shows which key is used',
  })

  async function all<T>(path: string, filter?: string): Promise<T[]> {
    const out: T[] = []
    let pageToken: string | undefined
    do {
      const page = await rest.get<Paged<T>>(path, {searchParams: {filter, pageToken, maxResults: 500}})
      out.push(...(page.items ?? []))
      pageToken = page.nextPageToken
    } while (pageToken)
    return out
  }

  return {
    project,
    getImage: async (name) => {
      const r = await rest.request<GceImage>('GET', `global/images/${name}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    insertImage: (image, o) =>
      rest.post<GceOperation>('global/images', image, {searchParams: {forceCreate: o?.forceCreate ? true : undefined}}),
    listImages: (filter) => all<GceImage>('global/images', filter),
    deleteImage: async (name) => (await rest.request<GceOperation>('DELETE', `global/images/${name}`)).body,
    deprecateImage: (name, status) => rest.post<GceOperation>(`global/images/${name}/deprecate`, status),
    getImageIamPolicy: (name) => rest.get<GceIamPolicy>(`global/images/${name}/getIamPolicy`),
    setImageIamPolicy: (name, policy) => rest.post<GceIamPolicy>(`global/images/${name}/setIamPolicy`, {policy}),
    listInstances: async (filter) => {
      // aggregatedList answers {items: {"zones/us-central1-a": {instances: [...]}}}.
      const out: GceInstance[] = []
      let pageToken: string | undefined
      do {
        const page = await rest.get<{items?: Record<string, {instances?: GceInstance[]}>; nextPageToken?: string}>('aggregated/instances', {
          searchParams: {filter, pageToken, maxResults: 500},
        })
        for (const scope of Object.values(page.items ?? {})) out.push(...(scope.instances ?? []))
        pageToken = page.nextPageToken
      } while (pageToken)
      return out
    },
    insertInstance: (zone, instance) => rest.post<GceOperation>(`zones/${zone}/instances`, instance),
    getInstance: async (zone, name) => {
      const r = await rest.request<GceInstance>('GET', `zones/${zone}/instances/${name}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    getSerialPortOutput: async (zone, name, start) => {
      const out = await rest.get<{contents?: string; next?: string | number}>(`zones/${zone}/instances/${name}/serialPort`, {
        searchParams: {port: 1, start},
      })
      return {contents: out.contents ?? '', next: Number(out.next ?? 0)}
    },
    findImage: async (ref) => {
      const path = imagePath(ref, project)
      const r = await rest.request<GceImage>('GET', `${computeRoot}/${path}`, {expect: [404]})
      return r.status === 404 ? undefined : r.body
    },
    deleteInstance: async (zone, name) => (await rest.request<GceOperation>('DELETE', `zones/${zone}/instances/${name}`)).body,
    waitOperation: async (operation) => {
      const zone = operation.zone?.split('/').pop()
      const path = zone ? `zones/${zone}/operations/${operation.name}` : `global/operations/${operation.name}`
      const done =
        operation.status === 'DONE'
          ? operation
          : await pollUntil(
              async () => {
                const op = await rest.get<GceOperation>(path)
                return op.status === 'DONE' ? op : undefined
              },
              {what: `operation ${operation.name}`, intervalMs: options.pollIntervalMs, signal: options.signal},
            )
      const errors = done.error?.errors ?? []
      if (errors.length > 0)
        throw new InfraError(
          `gce: operation ${operation.name} on ${done.targetLink?.split('/projects/')[1] ?? 'its target'} failed: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
        )
    },
  }
}

/**
 * `name` (in the project), `projects/<p>/global/images/<name>`, `.../family/<f>`,
 * or a full https://.../compute/v1/projects/... URL (as kola's --gce-image takes them): the path under compute/v1.
 */
export function imagePath(ref: string, project: string): string {
  const path = ref.replace(/^https:\/\/[^/]+\/compute\/v1\//, '')
  if (/^projects\/[a-z0-9-]+(?:\.[a-z0-9-]+)?(?::[a-z0-9-]+)?\/global\/images\/(?:family\/)?[a-z0-9-]+$/.test(path)) return path
  if (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(ref)) return `projects/${project}/global/images/${ref}`
  throw new UsageError(`gce: cannot read the image reference "${ref}"`, {
    hint: 'give an image name, projects/<project>/global/images/<name> or projects/<project>/global/images/family/<family>',
  })
}
