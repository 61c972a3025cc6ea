/**
 * What a cluster test gets (pluton's cluster, on a deployer): the kubeconfig,
 * a @kubernetes/client-node KubeConfig, `kubectl(args)`, `apply(yaml)`
 * (server-side apply into the test's namespace) and `waitReady()` (every node
 * Ready, and every Deployment, StatefulSet and DaemonSet of the namespace
 * available). What a cluster test of kola's harness gets as `c.kube`
 * (services/kube-clusters.ts).
 */
import {InfraError, type Logger} from '@mantle/kit'

import {runProgram} from '../process.js'
import {testCluster} from './cluster.js'
import {parseObjects} from './project.js'

export interface KubeTestContext {
  kubeconfig: string
  namespace: string
  /** A KubeConfig of @kubernetes/client-node loaded from `kubeconfig` (makeApiClient for any API). */
  client: import('@kubernetes/client-node').KubeConfig
  /** kubectl with the cluster's kubeconfig and the test's namespace; rejects with its stderr when it fails. */
  kubectl(args: readonly string[]): Promise<string>
  /** Server-side apply of every document of `yaml` into the test's namespace. */
  apply(yaml: string): Promise<void>
  /** Every node Ready, and every workload of the namespace available. */
  waitReady(timeoutMs?: number): Promise<void>
}

export interface KubeTestContextOptions {
  kubeconfig: string
  namespace: string
  kubectl: string
  env: NodeJS.ProcessEnv
  logger: Logger
  signal: AbortSignal
}

export async function kubeTestContext(options: KubeTestContextOptions): Promise<KubeTestContext> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(options.kubeconfig)
  const cluster = await testCluster(options.kubeconfig, options.logger)
  const core = kc.makeApiClient(k8s.CoreV1Api)
  return {
    kubeconfig: options.kubeconfig,
    namespace: options.namespace,
    client: kc,
    async kubectl(args) {
      const r = await runProgram(options.kubectl, ['--kubeconfig', options.kubeconfig, '--namespace', options.namespace, ...args], {
        env: options.env,
        stdio: 'pipe',
        signal: options.signal,
      })
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`)
      return r.stdout
    },
    async apply(yaml) {
      await cluster.apply(parseObjects('(apply)', yaml), options.namespace, () => '(apply)')
    },
    async waitReady(timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const nodes = (await core.listNode()).items
        const notReady = nodes.filter((n) => !n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        if (nodes.length > 0 && notReady.length === 0) break
        if (Date.now() > deadline)
          throw new InfraError(
            `nodes not Ready after ${Math.round(timeoutMs / 1000)} s: ${notReady.map((n) => n.metadata?.name).join(', ') || 'no nodes'}`,
          )
        await new Promise((r) => setTimeout(r, 1000))
      }
      await cluster.waitAvailable(options.namespace, Math.max(1000, deadline - Date.now()), options.signal)
    },
  }
}
