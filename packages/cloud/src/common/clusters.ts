/**
 * Managed Kubernetes clusters (GKE, EKS, AKS) behind one narrow interface, for
 * kola's cloud deployers and for `gc`. Every cluster made through it carries
 * the marker (created-by: mantle, created-at) and the kola run id
 * (KOLA_RUN_TAG), in whatever form the cloud calls labels or tags.
 */
import type {ServiceContext} from './context.js'
import {isExpired} from './marker.js'
import type {CallContext} from './retry.js'

/** The label or tag naming the kola run that made a cluster (GKE labels allow no '.' or '/'). */
export const KOLA_RUN_TAG = 'kola-run'

export interface ManagedClusterSpec {
  name: string
  runId: string
  nodeCount: number
  /** A version the cloud offers; default: the cloud's default. */
  version?: string | undefined
}

export interface ManagedCluster {
  name: string
  /** The API server is serving and the nodes exist. */
  ready: boolean
  /** The cloud's own word for where it is (RUNNING, ACTIVE, Succeeded, ...). */
  status: string
  /** The API server's URL and its CA (base64 PEM), once known. */
  server?: string | undefined
  caData?: string | undefined
  /** Carries our marker. */
  marked: boolean
  runId?: string | undefined
  created?: Date | undefined
  /** The cloud's answer, as it came: dumped into the logs. */
  raw: unknown
  /** AKS hands out a whole kubeconfig; the others are built from server and CA. */
  kubeconfig?: string | undefined
}

export interface ManagedClusterApi {
  readonly cloud: 'gke' | 'eks' | 'aks'
  /** Asks for the cluster (and its node pool); returns once the cloud accepted it. */
  create(spec: ManagedClusterSpec, ctx: CallContext): Promise<void>
  /** Polls until the cluster and its nodes are usable; throws when the cloud reports failure or time runs out. */
  waitReady(name: string, ctx: CallContext & {timeoutMs?: number | undefined; intervalMs?: number | undefined}): Promise<ManagedCluster>
  /** The cluster, or undefined when it does not exist. */
  get(name: string, ctx: CallContext): Promise<ManagedCluster | undefined>
  /** A kubeconfig for the cluster, from the API's answer. */
  kubeconfig(cluster: ManagedCluster): string
  /** Deletes the cluster (node pools first where the cloud needs it) and waits until it is gone; nothing there is not an error. */
  delete(name: string, ctx: CallContext): Promise<void>
  /** Every cluster in the project/region/resource group, for `gc` and `down --all`. */
  list(ctx: CallContext): Promise<ManagedCluster[]>
}

/** A kubeconfig with one cluster, one user authenticated by `user` (token or exec plugin). */
export function kubeconfigYaml(
  name: string,
  server: string,
  caData: string,
  user: {token: string} | {exec: {command: string; args: string[]; env?: Record<string, string>}},
): string {
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    `- name: ${name}`,
    '  user:',
  ]
  if ('token' in user) lines.push(`    token: ${user.token}`)
  else {
    lines.push('    exec:', '      apiVersion: client.authentication.k8s.io/v1beta1', `      command: ${user.exec.command}`, '      args:')
    for (const a of user.exec.args) lines.push(`      - ${JSON.stringify(a)}`)
    if (user.exec.env) {
      lines.push('      env:')
      for (const [k, v] of Object.entries(user.exec.env)) lines.push(`      - name: ${k}`, `        value: ${JSON.stringify(v)}`)
    }
    lines.push('      interactiveMode: Never')
  }
  lines.push('contexts:', `- name: ${name}`, '  context:', `    cluster: ${name}`, `    user: ${name}`, `current-context: ${name}`, '')
  return lines.join('\n')
}

/**
 * `gc` of managed clusters: deletes those that carry our marker and were
 * created before now - olderThanMs (a cluster whose age is unknown is kept),
 * one after the other (each delete waits until the cloud has removed it).
 * Returns the names deleted, or that would be with dryRun.
 */
export async function gcManagedClusters(options: {
  clusters: ManagedClusterApi
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<string[]> {
  const {clusters, context: ctx} = options
  const cutoff = new Date((ctx.now?.() ?? new Date()).getTime() - options.olderThanMs)
  const expired = (await clusters.list(ctx)).filter((c) => isExpired({marked: c.marked, created: c.created}, cutoff)).map((c) => c.name)
  for (const name of expired) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} ${clusters.cloud.toUpperCase()} cluster ${name}`)
    if (!options.dryRun) await clusters.delete(name, ctx)
  }
  return expired
}
