/**
 * What run-tests does on a cluster, through @kubernetes/client-node (loaded
 * lazily): server-side apply, wait for workloads to be available, run one
 * test Job and follow it to its end, reading why a pod never started from its
 * status and events rather than waiting for a timeout.
 */
import {InfraError, UsageError, type Logger} from '@mantle/kit'

import {untilServiceAccount} from '../client.js'
import type {K8sObject} from './project.js'

type ClientNode = typeof import('@kubernetes/client-node')

export const FIELD_MANAGER = 'kola'
export const TEST_LABEL = 'mantle.io/kola-test'
/**
 * How often the Jobs of a namespace are looked at. One listing of the
 * namespace's Jobs and pods per interval serves every Job followed in it (see
 * `view`), so the API server's load does not grow with the parallelism cap.
 */
const POLL_MS = 500

/** Waiting reasons that mean the container will not start by itself: the test fails now with the reason. */
const NEVER_STARTS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'])
/**
 * Reasons the kubelet (or the scheduler) retries, which a busy node also shows
 * for a while ("CreateContainerConfigError: failed to sync configmap cache:
 * timed out waiting for the condition" while the ConfigMap exists): a verdict
 * only once they have lasted LASTING_MS.
 */
const RETRIED = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'Unschedulable'])
const LASTING_MS = 30_000

export interface JobOutcome {
  result: 'PASS' | 'FAIL'
  /** One line: why it failed (exit code, never started, timeout). */
  reason: string
  exitCode?: number | undefined
  pod?: string | undefined
  log: string
  events: string[]
  /** From submission until the first container ran (undefined when it never did). */
  startMs?: number | undefined
}

export interface TestCluster {
  apply(objects: readonly K8sObject[], namespace: string, file: (i: number) => string): Promise<void>
  waitAvailable(namespace: string, timeoutMs: number, signal: AbortSignal): Promise<void>
  /** With metricsPort: the test is its pod's Prometheus metrics (kubernetes-assert), read through the API server's pod proxy. */
  runJob(
    job: K8sObject,
    namespace: string,
    timeoutMs: number,
    signal: AbortSignal,
    extra?: K8sObject[],
    metricsPort?: number,
  ): Promise<JobOutcome>
  createNamespace(name: string, runId: string): Promise<void>
}

/** The API server's own message from an ApiException (its Status body), else the error's first line. */
export function serverMessage(error: unknown): {code?: number | undefined; message: string} {
  const e = error as {code?: number; body?: unknown; message?: string}
  let body = e.body
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch {
      // not JSON: keep the text
    }
  }
  const fromBody =
    body && typeof body === 'object' ? (body as {message?: string}).message : typeof body === 'string' && body ? body : undefined
  const message = (fromBody ?? e.message ?? String(error)).split('\n')[0]?.trim() ?? ''
  return {code: typeof e.code === 'number' ? e.code : undefined, message}
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      {once: true},
    )
  })
}

export async function testCluster(kubeconfig: string, logger: Logger): Promise<TestCluster> {
  const k8s: ClientNode = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(kubeconfig)
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc)
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  const batch = kc.makeApiClient(k8s.BatchV1Api)
  const core = kc.makeApiClient(k8s.CoreV1Api)

  async function events(namespace: string, names: Set<string>): Promise<string[]> {
    const list = await core.listNamespacedEvent({namespace})
    return list.items
      .filter((e) => names.has(e.involvedObject.name ?? ''))
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
      .map((e) => `${e.type ?? ''} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`)
  }

  /** The namespace's Jobs and pods, listed at most once per POLL_MS/2 whoever asks (in-flight listings are shared). */
  const views = new Map<string, {at: number; listing: Promise<{jobs: Job[]; pods: Pod[]}>}>()
  function view(namespace: string): Promise<{jobs: Job[]; pods: Pod[]}> {
    const last = views.get(namespace)
    if (last && Date.now() - last.at < POLL_MS / 2) return last.listing
    const listing = Promise.all([batch.listNamespacedJob({namespace}), core.listNamespacedPod({namespace})]).then(([j, p]) => ({
      jobs: j.items,
      pods: p.items,
    }))
    views.set(namespace, {at: Date.now(), listing})
    // A failed listing is not cached: the next caller asks again.
    listing.catch(() => views.delete(namespace))
    return listing
  }

  return {
    async createNamespace(name, runId) {
      await core.createNamespace({body: {metadata: {name, labels: {'mantle.io/kola-run': runId}}}})
      await untilServiceAccount(core, name)
    },

    async apply(list, namespace, file) {
      for (const [i, object] of list.entries()) {
        const body = {...object, metadata: {...object.metadata, namespace}} as K8sObject
        try {
          await objects.patch(body as never, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply)
          logger.info(`applied ${object.kind}/${object.metadata.name} (${file(i)})`)
        } catch (error) {
          const {code, message} = serverMessage(error)
          const what = `${file(i)}: ${object.kind}/${object.metadata.name ?? ''} rejected by the API server`
          // 4xx: the manifest is wrong (bad input, exit 2); anything else: the cluster failed (exit 3).
          if (code !== undefined && code >= 400 && code < 500) throw new UsageError(`${what}: ${message}`)
          throw new InfraError(`${what}: ${message}`)
        }
      }
    },

    async waitAvailable(namespace, timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs
      const starts = new NeverStarts()
      for (;;) {
        const pending: string[] = []
        for (const d of (await apps.listNamespacedDeployment({namespace})).items) {
          const want = d.spec?.replicas ?? 1
          if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0) || (d.status?.availableReplicas ?? 0) < want)
            pending.push(`Deployment/${d.metadata?.name} (${d.status?.availableReplicas ?? 0}/${want} available)`)
        }
        for (const s of (await apps.listNamespacedStatefulSet({namespace})).items) {
          const want = s.spec?.replicas ?? 1
          if ((s.status?.readyReplicas ?? 0) < want)
            pending.push(`StatefulSet/${s.metadata?.name} (${s.status?.readyReplicas ?? 0}/${want} ready)`)
        }
        for (const d of (await apps.listNamespacedDaemonSet({namespace})).items) {
          const want = d.status?.desiredNumberScheduled ?? 0
          if ((d.status?.numberAvailable ?? 0) < want || (d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
            pending.push(`DaemonSet/${d.metadata?.name} (${d.status?.numberAvailable ?? 0}/${want} available)`)
        }
        if (pending.length === 0) return
        signal.throwIfAborted()
        // A pod that will never start makes its workload never available: say why now.
        const stuck = starts.check((await core.listNamespacedPod({namespace})).items)
        if (stuck) throw new InfraError(`${pending[0]} will not become available: ${stuck}`)
        if (Date.now() > deadline) throw new InfraError(`not available after ${Math.round(timeoutMs / 1000)} s: ${pending.join(', ')}`)
        await sleep(POLL_MS, signal)
      }
    },

    async runJob(job, namespace, timeoutMs, signal, extra = [], metricsPort) {
      const name = job.metadata.name as string
      for (const o of extra) await core.createNamespacedConfigMap({namespace, body: {...o, metadata: {...o.metadata, namespace}} as never})
      const t0 = Date.now()
      await batch
        .createNamespacedJob({namespace, body: {...job, metadata: {...job.metadata, namespace}} as never})
        .catch((error: unknown) => {
          throw new UsageError(`Job ${name} rejected by the API server: ${serverMessage(error).message}`)
        })
      const deadline = t0 + timeoutMs
      let outcome: Omit<JobOutcome, 'log' | 'events'> | undefined
      let startMs: number | undefined
      const starts = new NeverStarts()
      while (!outcome) {
        const now = await view(namespace)
        const j = now.jobs.find((x) => x.metadata?.name === name) ?? (await batch.readNamespacedJob({name, namespace}))
        const pods = now.pods.filter((p) => p.metadata?.labels?.['job-name'] === name)
        const running = pods.some((p) => [...(p.status?.containerStatuses ?? [])].some((c) => c.state?.running || c.state?.terminated))
        if (running && startMs === undefined) startMs = Date.now() - t0
        const failedCond = j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')
        const verdict = metricsPort && running ? await scrape(namespace, pods, metricsPort) : undefined
        if (verdict) {
          outcome = verdict
          // The runner serves until stopped: its verdict is in.
          await batch.deleteNamespacedJob({name, namespace, propagationPolicy: 'Background'}).catch(() => undefined)
        } else if ((j.status?.succeeded ?? 0) > 0)
          outcome = {
            result: metricsPort ? 'FAIL' : 'PASS',
            reason: metricsPort ? `ended before tests_run was above 0 on port ${metricsPort}` : '',
          }
        else if ((j.status?.failed ?? 0) > 0 || failedCond)
          outcome = {result: 'FAIL', reason: failedCond?.message ?? failedCond?.reason ?? 'failed'}
        else {
          const why = starts.check(pods)
          if (why) outcome = {result: 'FAIL', reason: `never started: ${why}`}
          else if (Date.now() > deadline) outcome = {result: 'FAIL', reason: `timed out after ${Math.round(timeoutMs / 1000)} s`}
          else if (signal.aborted) outcome = {result: 'FAIL', reason: 'interrupted'}
          else await sleep(POLL_MS, signal)
        }
      }
      const pods = (await core.listNamespacedPod({namespace, labelSelector: `job-name=${name}`})).items
      const pod = pods.at(-1)
      const podName = pod?.metadata?.name
      const terminated = pod?.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated
      const exitCode = terminated?.exitCode
      let log = ''
      if (podName && (terminated || metricsPort)) {
        log = await core
          .readNamespacedPodLog({name: podName, namespace})
          .catch((error: unknown) => `(no log: ${serverMessage(error).message})`)
      }
      const evs = await events(namespace, new Set([name, ...pods.map((p) => p.metadata?.name ?? '')])).catch(() => [])
      let reason = outcome.reason
      if (outcome.result === 'FAIL' && exitCode !== undefined && exitCode !== 0) {
        const last = log.trimEnd().split('\n').at(-1)?.trim()
        reason = `exit code ${exitCode}${last ? `: ${last}` : ''}`
      }
      if (outcome.result === 'FAIL' && reason.startsWith('timed out')) {
        // Stop the Job so it does not run on in the namespace.
        await batch.deleteNamespacedJob({name, namespace, propagationPolicy: 'Background'}).catch(() => undefined)
      }
      return {...outcome, reason, exitCode, pod: podName, log, events: evs, startMs}
    },
  }

  /** PASS when assertions_failed is 0 and tests_run above 0, FAIL with the failing count; undefined until tests_run > 0. */
  async function scrape(
    namespace: string,
    pods: readonly Pod[],
    port: number,
  ): Promise<{result: 'PASS' | 'FAIL'; reason: string} | undefined> {
    for (const p of pods) {
      if (p.status?.phase !== 'Running') continue
      const text = await core
        .connectGetNamespacedPodProxyWithPath({name: `${p.metadata?.name ?? ''}:${port}`, namespace, path: 'metrics'})
        .catch(() => undefined)
      if (typeof text !== 'string') continue
      const failed = metricValue(text, 'assertions_failed')
      const run = metricValue(text, 'tests_run')
      if (run === undefined || run <= 0 || failed === undefined) continue
      return failed === 0 ? {result: 'PASS', reason: ''} : {result: 'FAIL', reason: `assertions_failed ${failed} of tests_run ${run}`}
    }
    return undefined
  }
}

type Pod = import('@kubernetes/client-node').V1Pod
type Job = import('@kubernetes/client-node').V1Job

/** The value of an unlabelled sample (or the sum of a metric's labelled samples) in Prometheus' text format. */
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m || m[1] !== name) continue
    const v = Number(m[3])
    if (Number.isFinite(v)) sum = (sum ?? 0) + v
  }
  return sum
}

/**
 * Why a pod will never start by itself (image cannot be pulled, bad config,
 * unschedulable), told from successive looks at the pods of one wait: a
 * reason the kubelet retries counts only once it has lasted.
 */
export class NeverStarts {
  private readonly since = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** The first lasting reason among `pods` (one line), or undefined. */
  check(pods: readonly Pod[]): string | undefined {
    const now = this.now()
    const seen = new Set<string>()
    let verdict: string | undefined
    for (const {key, reason, line} of problems(pods)) {
      seen.add(key)
      const first = this.since.get(key) ?? now
      this.since.set(key, first)
      if (NEVER_STARTS.has(reason) || (RETRIED.has(reason) && now - first >= LASTING_MS)) verdict ??= line
    }
    for (const key of this.since.keys()) if (!seen.has(key)) this.since.delete(key)
    return verdict
  }
}

function* problems(pods: readonly Pod[]): Iterable<{key: string; reason: string; line: string}> {
  for (const p of pods) {
    const pod = p.metadata?.name ?? ''
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')
    if (sched) yield {key: `${pod}/Unschedulable`, reason: 'Unschedulable', line: `Unschedulable: ${sched.message ?? ''}`.trim()}
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      const w = c.state?.waiting
      if (w?.reason)
        yield {key: `${pod}/${c.name}/${w.reason}`, reason: w.reason, line: `${w.reason}: ${(w.message ?? c.image).split('\n')[0]}`}
    }
  }
}
