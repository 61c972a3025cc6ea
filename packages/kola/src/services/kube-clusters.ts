/**
 * Cluster tests in kola's harness (pluton's, #20 part 3): a test whose record
 * has `kube` gets a Kubernetes cluster from the run's deployer instead of
 * machines. Tests asking for the same share one cluster, one after another,
 * each in a namespace of its own (a cluster costs ~30 s and more here, a
 * namespace nothing); `kube: {exclusive: true}` gets a cluster of its own.
 * Each test is its own test of the suite: its own record in TAP, report.json,
 * JUnit and report.html, its own timeout (not counting the cluster's start),
 * denylist entries and reruns as for machine tests.
 *
 * Every cluster started is taken down at the run's end whatever happened to
 * the tests that used it (`KubeClusters.downAll`), and at once when the run is
 * stopped (SIGINT): a test abandoned after its grace time never leaves one.
 */
import {randomBytes} from 'node:crypto'
import {join, resolve} from 'node:path'

import type {Logger} from '@mantle/kit'

import type {SuiteTest} from '../harness/suite.js'
import {stableJson} from '../harness/buckets.js'
import {clusterClient} from '../kube/client.js'
import type {Deployer} from '../kube/deployer.js'
import {makeDeployer, type DeployerSpec} from '../kube/registry.js'
import {kubeTestContext} from '../kube/run-tests/kube-test.js'
import {type KolaTest, TestCluster} from '../register/test.js'
import {machinelessCluster, timeoutOf} from './schedule.js'

export interface KubeRunSettings {
  /** The deployer of `kola run --deployer` (and its flags); asked once, only when cluster tests are selected. */
  spec: () => Promise<DeployerSpec>
  /** Environment of kubectl and the deployer's scripts (PATH, HOME). */
  env: NodeJS.ProcessEnv
}

export interface KubeScheduleOptions {
  spec: DeployerSpec
  env: NodeJS.ProcessEnv
  clusters: KubeClusters
  /** The suite's output directory: a cluster's files go in `_<host name>` inside. */
  outputDir: string
  defaultTimeoutMs: number
  extendTimeoutPercent?: number | undefined
  logger: Logger
}

interface UpCluster {
  deployer: Deployer
  kubeconfig: string
  kubectl: string
  runId: string
}

/** The clusters a run started; each goes down once, however many callers ask. */
export class KubeClusters {
  private readonly live = new Map<Deployer, Promise<void> | undefined>()
  /** How many clusters the run started (reported in --json as kubeClusters). */
  started = 0

  async up(spec: DeployerSpec, outputDir: string, logger: Logger, signal: AbortSignal): Promise<UpCluster> {
    const runId = randomBytes(6).toString('hex')
    const deployer = makeDeployer(spec, {logger, signal, runId, outputDir: resolve(outputDir)})
    signal.throwIfAborted()
    this.live.set(deployer, undefined)
    this.started++
    try {
      const kubeconfig = await deployer.up()
      const binDir = deployer.state().binDir
      return {deployer, kubeconfig, runId, kubectl: typeof binDir === 'string' && binDir ? join(binDir, 'kubectl') : 'kubectl'}
    } catch (error) {
      // up cleans up after itself; down is idempotent, and the run's end must not try again.
      await this.down(deployer)
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : error
      throw error
    }
  }

  /** Takes a cluster down (its component logs first, into `<its output dir>/logs`); later calls wait for the first. */
  down(deployer: Deployer, logsDir?: string): Promise<void> {
    let done = this.live.get(deployer)
    if (!done) {
      done = (async () => {
        if (logsDir) await deployer.dumpLogs(logsDir).catch(() => undefined)
        await deployer.down()
      })()
      this.live.set(deployer, done)
    }
    return done
  }

  /** Every cluster of the run, down: the run's last word. */
  async downAll(): Promise<void> {
    const results = await Promise.allSettled([...this.live.keys()].map((d) => this.down(d)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  }
}

/** Cluster tests that run go onto clusters; denied and inapplicable ones stay alone so they are skipped without starting any. */
export function kubeSuiteTests(
  tests: readonly KolaTest[],
  denied: (name: string) => string | undefined,
  options: KubeScheduleOptions,
): SuiteTest[] {
  const groups = new Map<string, KolaTest[]>()
  const plan: KolaTest[][] = []
  for (const test of tests) {
    if (denied(test.name) !== undefined || test.kube?.exclusive) {
      plan.push([test])
      continue
    }
    const key = stableJson({...test.kube, exclusive: undefined})
    const group = groups.get(key)
    if (group) group.push(test)
    else {
      const fresh = [test]
      groups.set(key, fresh)
      plan.push(fresh)
    }
  }
  return plan.map((group, i) => clusterHost(`kube-cluster-${i + 1}`, group, options))
}

/**
 * A hidden test of the suite that starts one cluster (when one of its tests
 * is to run), runs its tests one after another, each its own test in the
 * reports, and takes the cluster down. When the cluster never comes up, each
 * of its tests fails with that reason (exit 3, as a machine that never boots).
 */
function clusterHost(name: string, tests: readonly KolaTest[], options: KubeScheduleOptions): SuiteTest {
  const dir = join(options.outputDir, `_${name}`)
  const alone = tests.length === 1 ? tests[0] : undefined
  return {
    // A lone test is the suite's test itself, so that a denied one is skipped by the harness without starting anything.
    name: alone ? alone.name : name,
    hidden: !alone,
    timeoutMs: alone ? timeoutOf(alone, options) : undefined,
    run: async (host) => {
      let up: UpCluster | undefined
      const stop = (): void => void (up && options.clusters.down(up.deployer, join(dir, 'logs')))
      host.signal.addEventListener('abort', stop, {once: true})
      try {
        options.logger.notice(`${name}: one Kubernetes cluster for ${tests.map((t) => t.name).join(', ')}`)
        try {
          up = await options.clusters.up(options.spec, dir, options.logger, host.signal)
        } catch (error) {
          if (alone) throw error
          for (const t of tests) host.recordFailedTest(t.name, error)
          return
        }
        const cluster = up
        options.logger.info(`${name}: ${cluster.deployer.name} cluster up, kubeconfig ${cluster.kubeconfig}`)
        for (const test of tests) {
          const run = (h: typeof host): Promise<void> => runOnCluster(h, test, cluster, options)
          if (alone) await run(host)
          else await host.runTest(test.name, run, timeoutOf(test, options))
          if (host.signal.aborted) break
        }
      } finally {
        host.signal.removeEventListener('abort', stop)
        if (up) await options.clusters.down(up.deployer, join(dir, 'logs'))
      }
    },
  }
}

/** One cluster test in a fresh namespace; the namespace's pods' logs and events are kept in the test's output directory. */
async function runOnCluster(
  h: Parameters<SuiteTest['run']>[0],
  test: KolaTest,
  up: UpCluster,
  options: KubeScheduleOptions,
): Promise<void> {
  const namespace = namespaceFor(test.name)
  const client = await clusterClient(up.kubeconfig, options.logger)
  await client.createRunNamespace(namespace, up.runId)
  h.log(`on the ${up.deployer.name} cluster, namespace ${namespace}`)
  const context = await kubeTestContext({
    kubeconfig: up.kubeconfig,
    namespace,
    kubectl: up.kubectl,
    env: options.env,
    logger: options.logger,
    signal: h.signal,
  })
  const machines = machinelessCluster(test.name, h.outputDir(), `${test.name} is a cluster test: it has no machines`)
  try {
    await test.run(new TestCluster(h, machines, context))
  } finally {
    if (!h.signal.aborted) {
      await client.dumpNamespace(namespace, join(h.outputDir(), 'cluster')).catch((error: unknown) => {
        h.log(`could not copy the logs of namespace ${namespace}: ${error instanceof Error ? error.message : String(error)}`)
      })
      // The cluster may outlive the test (shared, or an existing one): its namespace goes now. After a
      // stop, the cluster's down removes it (a local or command cluster goes; kubeconfig's deletes the run's namespaces).
      await context.kubectl(['delete', 'namespace', namespace, '--wait=false']).catch((error: unknown) => {
        h.error(`deleting namespace ${namespace}: ${error instanceof Error ? error.message : String(error)}`)
      })
    }
  }
}

/** `kola-<test name>-<random>`: a DNS label (63 characters at most) that says whose it is. */
function namespaceFor(test: string): string {
  const slug = test
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '')
  return `kola-${slug}-${randomBytes(3).toString('hex')}`
}
