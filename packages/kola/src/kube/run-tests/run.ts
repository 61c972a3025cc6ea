/**
 * `kola kube run-tests`: kubernetes-ci-cd's run over any deployer. Up; a
 * fresh namespace for the run; the project's manifests by server-side apply;
 * its Helm charts with the real helm; wait until every Deployment,
 * StatefulSet and DaemonSet is available; the test Jobs, at most
 * `parallelism` at once, each followed to its end or its timeout; each test's
 * log, exit code and events; reports; down (unless keep).
 *
 * Output directory (beside kola run's names):
 *   test.tap, reports/report.json, reports/junit.xml
 *   tests/<test>.log        the test pod's log, then its exit code and events
 *   logs/cluster/<ns>/      every pod's log and the events of the run's namespaces
 *   kubeconfig, state.json  (kept with --keep: `kola kube down` removes the cluster)
 */
import {randomBytes} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {CheckFailedError, InfraError, InterruptedError, isMantleError, UsageError, type Logger} from '@mantle/kit'

import type {TestRecord} from '../../harness/h.js'
import {Limiter} from '../../harness/limiter.js'
import {jsonReport, junitReport, tapLines} from '../../harness/reports.js'
import {clusterClient} from '../client.js'
import {runProgram} from '../process.js'
import {makeDeployer, type DeployerSpec} from '../registry.js'
import {STATE_FILE} from '../run.js'
import {testCluster, TEST_LABEL, type JobOutcome, type TestCluster} from './cluster.js'
import type {ChartSpec, K8sObject, Project, TestSpec} from './project.js'

export interface RunTestsOptions {
  spec: DeployerSpec
  project: Project
  outputDir: string
  logger: Logger
  signal: AbortSignal
  /** Keep the namespace (and the cluster) afterwards. */
  keep: boolean
  /** The helm binary (charts only). */
  helm?: string | undefined
  /** Environment of helm (PATH, HOME). */
  env: NodeJS.ProcessEnv
  runId?: string | undefined
  /** Each test's record as it ends (kola's TestMetrics: the same metrics as `kola run --metrics-port`). */
  onResult?: ((record: TestRecord) => void) | undefined
}

export interface TestResultRow {
  name: string
  result: 'PASS' | 'FAIL'
  seconds: number
  reason: string
  exitCode?: number | undefined
  namespace: string
  log: string
  /** Submission until the first container ran. */
  startSeconds?: number | undefined
}

export interface RunTestsResult {
  runId: string
  namespace: string
  kept: boolean
  passed: number
  failed: number
  tests: TestResultRow[]
  outputDir: string
  kubeconfig?: string | undefined
}

/** The table printed on the terminal: test, result, duration, reason. */
export function resultsTable(rows: readonly TestResultRow[]): string {
  const head = ['TEST', 'RESULT', 'DURATION', 'REASON']
  const cells = rows.map((r) => [r.name, r.result, `${r.seconds.toFixed(1)}s`, r.reason])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)))
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(head), ...cells.map(line)].join('\n')
}

const SCRIPT_DIR = '/kola-test'

/** A test as the Job (and ConfigMap, for a script) that kola submits. */
export function testJob(test: TestSpec, project: Project, runId: string, timeoutSeconds: number): {job: K8sObject; extra: K8sObject[]} {
  const labels = {[TEST_LABEL]: test.name, 'mantle.io/kola-run': runId}
  if (test.kind === 'job') {
    const j = structuredClone(test.job) as K8sObject & {spec?: {activeDeadlineSeconds?: number}}
    j.metadata = {...j.metadata, name: test.name, labels: {...((j.metadata.labels as object) ?? {}), ...labels}}
    j.spec = {...(j.spec ?? {}), activeDeadlineSeconds: j.spec?.activeDeadlineSeconds ?? timeoutSeconds}
    return {job: j, extra: []}
  }
  const cm = `${test.name}-script`
  const env = Object.entries(project.settings.env).map(([name, value]) => ({name, value}))
  const job: K8sObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {name: test.name, labels},
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: timeoutSeconds,
      template: {
        metadata: {labels},
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'test',
              image: project.settings.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', `${SCRIPT_DIR}/script`],
              env,
              volumeMounts: [{name: 'script', mountPath: SCRIPT_DIR}],
            },
          ],
          volumes: [{name: 'script', configMap: {name: cm}}],
        },
      },
    },
  }
  return {job, extra: [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: cm, labels}, data: {script: test.script}}]}
}

async function installChart(c: ChartSpec, namespace: string, kubeconfig: string, options: RunTestsOptions): Promise<void> {
  if (!options.helm)
    throw new UsageError(`chart ${c.name}: no helm binary`, {hint: 'pass --helm (the local cluster service writes MANTLE_KUBE_HELM)'})
  const args = [
    'upgrade',
    '--install',
    c.name,
    c.chart,
    '--namespace',
    namespace,
    '--kubeconfig',
    kubeconfig,
    '--wait',
    '--timeout',
    `${options.project.settings.readyTimeoutSeconds}s`,
  ]
  for (const v of c.values) args.push('-f', v)
  for (const [k, v] of Object.entries(c.set)) args.push('--set', `${k}=${String(v)}`)
  options.logger.info(`helm ${args.join(' ')}`)
  const r = await runProgram(options.helm, args, {env: options.env, stdio: 'pipe', signal: options.signal}).catch((error: unknown) => {
    throw new UsageError(`cannot run helm ${options.helm}: ${(error as Error).message}`)
  })
  if (r.aborted) throw new InterruptedError('SIGINT')
  if (r.code !== 0) {
    const msg = (r.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${r.code}`).replace(/^Error:\s*/, '')
    throw new InfraError(`chart ${c.name} (${c.chart}) failed to install: ${msg}`)
  }
}

export async function runTests(options: RunTestsOptions): Promise<RunTestsResult> {
  const {project, logger, signal} = options
  const runId = options.runId ?? randomBytes(6).toString('hex')
  const outputDir = resolve(options.outputDir)
  await mkdir(join(outputDir, 'tests'), {recursive: true})
  const deployer = makeDeployer(options.spec, {logger, signal, runId, outputDir})
  const namespace = `kola-${runId}`
  const rows: TestResultRow[] = []
  let failure: unknown
  let kubeconfig: string | undefined
  try {
    kubeconfig = await deployer.up().catch((error: unknown) => {
      if (isMantleError(error)) throw error
      throw new InfraError(`the cluster did not come up: ${(error as Error).message}`, {cause: error})
    })
    const cluster = await testCluster(kubeconfig, logger)
    await infra('creating the run namespace', () => cluster.createNamespace(namespace, runId))
    logger.notice(`run ${runId}: namespace ${namespace}`)
    await cluster.apply(
      project.manifests.map((m) => m.object),
      namespace,
      (i) => project.manifests[i]?.file ?? '',
    )
    for (const c of project.settings.charts) await installChart(c, namespace, kubeconfig, options)
    await cluster.waitAvailable(namespace, project.settings.readyTimeoutSeconds * 1000, signal)
    await runAll(cluster, namespace, runId, options, rows)
    await dumpNamespaces(kubeconfig, runId, join(outputDir, 'logs', 'cluster'), logger)
  } catch (error) {
    failure = error
  } finally {
    if (options.keep) {
      // `kola kube down --output-dir <dir>` removes what was kept.
      await writeFile(join(outputDir, STATE_FILE), JSON.stringify(deployer.state(), null, 2) + '\n')
      logger.notice(
        `--keep: namespace ${namespace} and the cluster stay (KUBECONFIG=${kubeconfig ?? '?'}); kola kube down --output-dir ${outputDir} removes them`,
      )
    } else {
      await deployer.down().catch((error: unknown) => {
        logger.error(`down: ${(error as Error).message}`)
        failure ??= error
      })
    }
    await writeReports(outputDir, rows, options.spec.deployer)
  }
  if (failure) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new InterruptedError('SIGINT')
    if (isMantleError(failure)) throw failure
    throw new InfraError((failure as Error).message, {cause: failure})
  }
  const failed = rows.filter((r) => r.result === 'FAIL').length
  return {runId, namespace, kept: options.keep, passed: rows.length - failed, failed, tests: rows, outputDir, kubeconfig}
}

async function infra<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw new InfraError(`${what}: ${(error as Error).message.split('\n')[0]}`, {cause: error})
  }
}

async function runAll(
  cluster: TestCluster,
  runNamespace: string,
  runId: string,
  options: RunTestsOptions,
  rows: TestResultRow[],
): Promise<void> {
  const {project, logger, signal, outputDir} = options
  const limiter = new Limiter(project.settings.parallelism)
  const timeoutMs = project.settings.timeoutSeconds * 1000
  await Promise.all(
    project.tests.map(async (test) => {
      await limiter.acquire()
      try {
        if (signal.aborted) return
        const ns = project.settings.namespacePerTest ? `${runNamespace}-${test.name}`.slice(0, 63).replace(/-+$/, '') : runNamespace
        if (ns !== runNamespace) await cluster.createNamespace(ns, runId)
        const {job, extra} = testJob(test, project, runId, project.settings.timeoutSeconds)
        const t0 = Date.now()
        logger.info(`test ${test.name}: submitted`)
        let out: JobOutcome
        try {
          out = await cluster.runJob(job, ns, timeoutMs, signal, extra, test.kind === 'job' ? test.metricsPort : undefined)
        } catch (error) {
          if (error instanceof UsageError) throw error
          out = {result: 'FAIL', reason: `cluster error: ${(error as Error).message.split('\n')[0]}`, log: '', events: []}
        }
        const row: TestResultRow = {
          name: test.name,
          result: out.result,
          seconds: (Date.now() - t0) / 1000,
          reason: out.reason,
          exitCode: out.exitCode,
          namespace: ns,
          log: out.log,
          startSeconds: out.startMs === undefined ? undefined : out.startMs / 1000,
        }
        rows.push(row)
        const [record] = records([row])
        if (record) options.onResult?.(record)
        logger.info(`test ${test.name}: ${out.result}${out.reason ? ` (${out.reason})` : ''}`)
        const text = `${out.log}${out.log && !out.log.endsWith('\n') ? '\n' : ''}--- kola: ${out.result}${out.exitCode !== undefined ? `, exit code ${out.exitCode}` : ''}${out.reason && !out.reason.startsWith('exit code') ? `, ${out.reason}` : ''}\n--- events:\n${out.events.join('\n')}\n`
        await writeFile(join(outputDir, 'tests', `${test.name}.log`), text)
      } finally {
        limiter.release()
      }
    }),
  )
  const order = new Map(project.tests.map((t, i) => [t.name, i]))
  rows.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0))
}

async function dumpNamespaces(kubeconfig: string, runId: string, dir: string, logger: Logger): Promise<void> {
  try {
    const client = await clusterClient(kubeconfig, logger)
    for (const ns of (await client.namespaces()).filter((n) => n.labels['mantle.io/kola-run'] === runId))
      await client.dumpNamespace(ns.name, dir)
  } catch (error) {
    logger.warn(`dumping logs: ${(error as Error).message}`)
  }
}

function records(rows: readonly TestResultRow[]): TestRecord[] {
  return rows.map((r) => {
    const output = `${r.log}${r.log && !r.log.endsWith('\n') ? '\n' : ''}${r.result === 'FAIL' ? `${r.reason}\n` : ''}`
    return {
      name: r.name,
      result: r.result,
      durationMs: Math.round(r.seconds * 1000),
      output,
      message: r.result === 'FAIL' ? r.reason : undefined,
      failure: r.result === 'FAIL' ? 'test' : undefined,
      subtest: false,
    }
  })
}

async function writeReports(outputDir: string, rows: readonly TestResultRow[], platform: string): Promise<void> {
  const recs = records(rows)
  const info = {
    platform: `kube-${platform}`,
    version: '',
    result: recs.some((r) => r.result === 'FAIL') || recs.length === 0 ? ('FAIL' as const) : ('PASS' as const),
    records: recs,
  }
  await mkdir(join(outputDir, 'reports'), {recursive: true})
  await writeFile(join(outputDir, 'test.tap'), `1..${recs.length}\n${recs.map(tapLines).join('')}`)
  await writeFile(
    join(outputDir, 'reports', 'report.json'),
    JSON.stringify(
      {
        ...jsonReport(info),
        tests: rows.map((r, i) => ({
          ...(jsonReport(info) as {tests: object[]}).tests[i],
          reason: r.reason,
          exitCode: r.exitCode,
          namespace: r.namespace,
        })),
      },
      null,
      2,
    ) + '\n',
  )
  await writeFile(join(outputDir, 'reports', 'junit.xml'), junitReport(info, 'kola-kube'))
}

/** Some test failed: exit 1, after the table. */
export class TestsFailedError extends CheckFailedError {
  constructor(failed: number, total: number) {
    super(`${failed} of ${total} tests failed`)
  }
}
