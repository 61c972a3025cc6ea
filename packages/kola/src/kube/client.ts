/**
 * What kola itself asks of a cluster, through @kubernetes/client-node (loaded
 * lazily: commands that never talk to a cluster do not pay for it): is the API
 * server there, which namespaces exist, make and remove the run's namespaces,
 * and copy pods' logs and events out.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {InfraError, UsageError, type Logger} from '@mantle/kit'

import {RUN_LABEL} from './deployer.js'

type ClientNode = typeof import('@kubernetes/client-node')

export interface ClusterClient {
  /** The API server's version (gitVersion), or an InfraError naming the server. */
  version(): Promise<string>
  namespaces(): Promise<{name: string; labels: Record<string, string>}[]>
  createRunNamespace(name: string, runId: string): Promise<void>
  /** Deletes namespaces carrying RUN_LABEL (= runId, or any value when runId is undefined); returns their names. */
  deleteRunNamespaces(runId: string | undefined): Promise<string[]>
  /** Pods' logs (every container, and the previous instance when it restarted) and the events of `namespace`, under dir/<namespace>/. */
  dumpNamespace(namespace: string, dir: string): Promise<void>
  /** Nodes as the API describes them, into dir/nodes.json. */
  dumpNodes(dir: string): Promise<void>
}

const CALL_TIMEOUT_MS = 15_000

export async function clusterClient(kubeconfigPath: string, logger: Logger): Promise<ClusterClient> {
  const k8s: ClientNode = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  try {
    kc.loadFromFile(kubeconfigPath)
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${kubeconfigPath}: ${firstLine(error)}`, {hint: 'pass an existing kubeconfig file'})
  }
  const server = kc.getCurrentCluster()?.server
  if (!server) throw new UsageError(`kubeconfig ${kubeconfigPath} names no current cluster`)
  const core = kc.makeApiClient(k8s.CoreV1Api)
  const versionApi = kc.makeApiClient(k8s.VersionApi)
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new InfraError(`${what}: no answer from ${server} in ${CALL_TIMEOUT_MS / 1000} s`)),
            CALL_TIMEOUT_MS,
          )
        }),
      ])
    } catch (error) {
      if (error instanceof InfraError) throw error
      throw new InfraError(`${what} at ${server}: ${firstLine(error)}`, {cause: error})
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    async version() {
      const v = await call('asking the API server its version', () => versionApi.getCode())
      return v.gitVersion
    },
    async namespaces() {
      const list = await call('listing namespaces', () => core.listNamespace())
      return list.items.map((n) => ({name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {}}))
    },
    async createRunNamespace(name, runId) {
      await call(`creating namespace ${name}`, () => core.createNamespace({body: {metadata: {name, labels: {[RUN_LABEL]: runId}}}}))
      await untilServiceAccount(core, name)
    },
    async deleteRunNamespaces(runId) {
      const selector = runId === undefined ? RUN_LABEL : `${RUN_LABEL}=${runId}`
      const list = await call('listing our namespaces', () => core.listNamespace({labelSelector: selector}))
      const names = list.items.map((n) => n.metadata?.name ?? '').filter(Boolean)
      for (const name of names) {
        await call(`deleting namespace ${name}`, () => core.deleteNamespace({name})).catch((error: unknown) => {
          if (!/404|not found/i.test(firstLine(error))) throw error
        })
      }
      return names
    },
    async dumpNamespace(namespace, dir) {
      const out = join(dir, namespace)
      await mkdir(out, {recursive: true})
      const pods = await call(`listing pods of ${namespace}`, () => core.listNamespacedPod({namespace}))
      await writeFile(join(out, 'pods.json'), JSON.stringify(pods.items, null, 2) + '\n')
      // Every log at once: one after another, they were most of a run's tail.
      const reads = pods.items.flatMap((pod) => {
        const name = pod.metadata?.name ?? ''
        const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
        return statuses.flatMap((c) =>
          [false, ...(c.restartCount > 0 ? [true] : [])].map(async (previous) => {
            try {
              const log = await call(`reading the log of ${namespace}/${name}/${c.name}`, () =>
                core.readNamespacedPodLog({name, namespace, container: c.name, previous}),
              )
              await writeFile(join(out, `${name}_${c.name}${previous ? '.previous' : ''}.log`), log)
            } catch (error) {
              logger.debug(`no log for ${namespace}/${name}/${c.name}: ${firstLine(error)}`)
            }
          }),
        )
      })
      await Promise.all(reads)
      const events = await call(`listing events of ${namespace}`, () => core.listNamespacedEvent({namespace}))
      const lines = events.items
        .map((e) => {
          const at = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp
          return `${at ? new Date(at as unknown as string).toISOString() : '-'} ${e.type ?? ''} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`
        })
        .sort()
      await writeFile(join(out, 'events.txt'), lines.join('\n') + (lines.length ? '\n' : ''))
    },
    async dumpNodes(dir) {
      await mkdir(dir, {recursive: true})
      const nodes = await call('listing nodes', () => core.listNode())
      await writeFile(join(dir, 'nodes.json'), JSON.stringify(nodes.items, null, 2) + '\n')
    },
  }
}

/** A namespace's `default` ServiceAccount (and, before 1.24, its token) appears a moment after the namespace. */
const SERVICE_ACCOUNT_TIMEOUT_MS = 60_000

/**
 * Waits until the API server admits a pod in a namespace just made: its
 * `default` ServiceAccount exists and, on clusters that still make token
 * Secrets (before 1.24), has its token. Until then pods are refused, and a
 * Job controller that was refused tries again only after 10 s (its back-off
 * in 1.20): every Job submitted at once into a fresh namespace would lose
 * them. Asked with a dry-run pod, so the answer is the admission chain's own,
 * whatever the cluster's version; any other refusal (RBAC, a policy) is not
 * waited for.
 */
export async function untilServiceAccount(
  core: import('@kubernetes/client-node').CoreV1Api,
  namespace: string,
  timeoutMs = SERVICE_ACCOUNT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const body = {metadata: {name: 'kola-admission-probe'}, spec: {containers: [{name: 'probe', image: 'mantle.local/pause:3.4'}]}}
  for (;;) {
    const refusal = await core.createNamespacedPod({namespace, body, dryRun: 'All'}).then(
      () => undefined,
      // The reason is in the Status body (client-node's message is its HTTP code, then the body, on several lines).
      (error: unknown) => `${String((error as Error)?.message ?? error)} ${JSON.stringify((error as {body?: unknown})?.body ?? '')}`,
    )
    if (refusal === undefined || !/service ?account|API token/i.test(refusal)) return
    if (Date.now() > deadline)
      throw new InfraError(`namespace ${namespace} admits no pod after ${Math.round(timeoutMs / 1000)} s (its default ServiceAccount)`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function firstLine(error: unknown): string {
  const e = error as {message?: string; cause?: {code?: string; message?: string}}
  const message = e?.message ?? String(error)
  const line = message.split('\n')[0]?.trim() || 'unknown error'
  // fetch says only "fetch failed"; what failed is in its cause (ECONNREFUSED, a certificate, ...).
  const cause = e?.cause?.code ?? e?.cause?.message
  return cause && !line.includes(cause) ? `${line} (${cause})` : line
}
