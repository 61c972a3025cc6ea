/**
 * GKE clusters through the Kubernetes Engine REST API v1
 * (container.googleapis.com/v1/projects/P/locations/L/clusters): create with
 * one default node pool, poll until RUNNING, kubeconfig from the cluster's
 * endpoint and CA (authenticated by gke-gcloud-auth-plugin, as `gcloud
 * container clusters get-credentials` writes it), delete and wait until gone.
 * Labels: created-by=mantle, created-at (GKE label values allow only
 * [a-z0-9_-]: the time as seconds since the epoch) and kola-run.
 */
import type {GceAuth} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {KOLA_RUN_TAG, kubeconfigYaml, type ManagedCluster, type ManagedClusterApi} from '../common/clusters.js'
import {restClient} from '../common/http.js'
import {CREATED_AT_KEY, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'
import {googleTokenSource} from './compute.js'

export interface GkeCluster {
  name: string
  /** The zone or region it lives in. */
  location?: string
  status?: 'STATUS_UNSPECIFIED' | 'PROVISIONING' | 'RUNNING' | 'RECONCILING' | 'STOPPING' | 'ERROR' | 'DEGRADED'
  statusMessage?: string
  endpoint?: string
  masterAuth?: {clusterCaCertificate?: string}
  resourceLabels?: Record<string, string>
  createTime?: string
  currentMasterVersion?: string
  currentNodeCount?: number
}

export interface GkeOptions extends CallContext {
  auth: GceAuth
  project?: string | undefined
  /** A zone (zonal cluster) or region; '-' (every location) for list and for deleting what list found (gc). */
  location: string
  endpoint?: string | undefined
  pollIntervalMs?: number | undefined
  /** A fixed clock for tests. */
  now?: (() => Date) | undefined
}

export async function gkeClusters(options: GkeOptions): Promise<ManagedClusterApi> {
  const project = options.project ?? ('projectId' in options.auth ? options.auth.projectId : undefined)
  if (!project) throw new UsageError('gke: no project given', {hint: 'pass --project, or use a key file that names its project_id'})
  if (!options.location)
    throw new UsageError('gke: no location given', {hint: 'pass --location (a zone such as us-central1-a, or a region)'})
  const rest = await restClient({
    ...options,
    service: 'gke',
    baseUrl: `${options.endpoint ?? 'https://container.googleapis.com'}/v1/projects/${project}/locations`,
    headers: await googleTokenSource(options.auth),
    credentialsHint: 'check --json-key and that its account may use Kubernetes Engine in the project',
  })
  const now = options.now ?? (() => new Date())
  // With location '-', a cluster's own location comes from the list that found it (GKE answers a get or delete only at a real location).
  const found = new Map<string, string>()
  const at = (name: string): string => {
    const location = options.location === '-' ? found.get(name) : options.location
    if (!location)
      throw new UsageError(`gke: cluster ${name} was not listed; its location is unknown`, {hint: 'pass --location (a zone or region)'})
    return `${location}/clusters/${name}`
  }

  const view = (c: GkeCluster): ManagedCluster => ({
    name: c.name,
    status: c.status ?? 'STATUS_UNSPECIFIED',
    ready: c.status === 'RUNNING',
    server: c.endpoint ? `https://${c.endpoint}` : undefined,
    caData: c.masterAuth?.clusterCaCertificate,
    marked: c.resourceLabels?.[MARKER_KEY] === MARKER_VALUE,
    runId: c.resourceLabels?.[KOLA_RUN_TAG],
    created: c.createTime ? new Date(c.createTime) : undefined,
    raw: c,
  })

  const get = async (name: string): Promise<GkeCluster | undefined> => {
    const r = await rest.request<GkeCluster>('GET', at(name), {expect: [404]})
    return r.status === 404 ? undefined : r.body
  }

  return {
    cloud: 'gke',
    async create(spec) {
      await rest.post(`${options.location}/clusters`, {
        cluster: {
          name: spec.name,
          initialNodeCount: spec.nodeCount,
          ...(spec.version ? {initialClusterVersion: spec.version} : {}),
          resourceLabels: {
            [MARKER_KEY]: MARKER_VALUE,
            [CREATED_AT_KEY]: String(Math.floor(now().getTime() / 1000)),
            [KOLA_RUN_TAG]: spec.runId,
          },
        },
      })
    },
    async waitReady(name, ctx) {
      return pollUntil(
        async () => {
          const c = await get(name)
          if (!c) throw new InfraError(`gke: cluster ${name} disappeared while being created`)
          if (c.status === 'ERROR' || c.status === 'DEGRADED')
            throw new InfraError(`gke: cluster ${name} is ${c.status}${c.statusMessage ? `: ${c.statusMessage}` : ''}`)
          return c.status === 'RUNNING' ? view(c) : undefined
        },
        {
          what: `GKE cluster ${name} to be RUNNING`,
          intervalMs: ctx.intervalMs ?? options.pollIntervalMs ?? 15_000,
          timeoutMs: ctx.timeoutMs ?? 45 * 60_000,
          signal: ctx.signal,
        },
      )
    },
    async get(name) {
      const c = await get(name)
      return c ? view(c) : undefined
    },
    kubeconfig(cluster) {
      if (!cluster.server || !cluster.caData) throw new InfraError(`gke: cluster ${cluster.name} has no endpoint yet`)
      return kubeconfigYaml(`gke_${project}_${options.location}_${cluster.name}`, cluster.server, cluster.caData, {
        exec: {command: 'gke-gcloud-auth-plugin', args: []},
      })
    },
    async delete(name, ctx) {
      const interval = options.pollIntervalMs ?? 15_000
      // A cluster still being created refuses deletion (400 FAILED_PRECONDITION: an operation is running): wait and ask again.
      const accepted = await pollUntil(
        async () => {
          const r = await rest.request<{error?: {message?: string}}>('DELETE', at(name), {expect: [404, 400]})
          if (r.status === 400 && !/operation/i.test(r.body?.error?.message ?? ''))
            throw new InfraError(`gke: deleting cluster ${name}: ${r.body?.error?.message ?? 'refused'}`)
          return r.status === 400 ? undefined : r.status !== 404
        },
        {what: `GKE to accept deleting cluster ${name}`, intervalMs: interval, timeoutMs: 45 * 60_000, signal: ctx.signal},
      )
      if (!accepted) return
      await pollUntil(async () => ((await get(name)) ? undefined : true), {
        what: `GKE cluster ${name} to be deleted`,
        intervalMs: interval,
        timeoutMs: 45 * 60_000,
        signal: ctx.signal,
      })
    },
    async list() {
      const r = await rest.get<{clusters?: GkeCluster[]}>(`${options.location}/clusters`).catch((e: unknown) => {
        // The Kubernetes Engine API switched off in the project (403 SERVICE_DISABLED): no cluster can exist there, so gc has nothing to do.
        if (/has not been used in project .* or it is disabled/.test(String((e as Error)?.message))) return {clusters: []}
        throw e
      })
      for (const c of r.clusters ?? []) if (c.location) found.set(c.name, c.location)
      return (r.clusters ?? []).map(view)
    },
  }
}
