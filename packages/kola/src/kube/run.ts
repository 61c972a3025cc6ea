/**
 * The services behind `kola kube up|down|status|exec`: a deployer's life
 * cycle with kubetest2's contract around it. Every way out of `exec` and
 * `up --interactive` (success, a failing script, a failed up, SIGINT,
 * SIGTERM) ends with `down`; the phases go to junit_runner.xml.
 *
 * Output directory:
 *   state.json          the deployer's state (what `down` and `status` read)
 *   kubeconfig          the cluster's kubeconfig
 *   junit_runner.xml    the phases Up, Test, DumpLogs, Down
 *   artifacts/          $ARTIFACTS for the script
 *   logs/cluster/<ns>/  pods' logs, pods.json and events.txt of the touched namespaces
 *   logs/nodes.json     the nodes as the API server describes them
 *   logs/deployer/      the deployer's own logs (a local cluster's components)
 */
import {randomBytes} from 'node:crypto'
import {copyFile, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {once} from 'node:events'

import {CheckFailedError, InfraError, InterruptedError, UsageError, type Logger} from '@mantle/kit'

import type {TestRecord} from '../harness/h.js'
import {junitReport} from '../harness/reports.js'
import {clusterClient} from './client.js'
import type {Deployer, DeployerContext, DeployerState} from './deployer.js'
import {localLeftovers, LocalDeployer} from './local.js'
import {runProgram} from './process.js'
import {makeDeployer, restoreDeployer, type DeployerSpec} from './registry.js'

export interface KubeRunOptions {
  spec: DeployerSpec
  outputDir: string
  logger: Logger
  signal: AbortSignal
  /** Fixed for tests; default: random. */
  runId?: string | undefined
}

export interface KubeExecOptions extends KubeRunOptions {
  command: string
  args: readonly string[]
  /** The environment the script starts from (kola adds KUBECONFIG and the rest). */
  env: NodeJS.ProcessEnv
  cwd: string
}

export interface KubeExecResult {
  runId: string
  deployer: string
  exitCode: number
  outputDir: string
  kubeconfig?: string | undefined
  junit: string
  logs: string
  phases: {name: string; result: 'PASS' | 'FAIL'; seconds: number}[]
}

export const STATE_FILE = 'state.json'

function newRunId(): string {
  return randomBytes(6).toString('hex')
}

function context(options: KubeRunOptions, runId: string): DeployerContext {
  return {logger: options.logger, signal: options.signal, runId, outputDir: resolve(options.outputDir)}
}

class Phases {
  readonly records: TestRecord[] = []
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now()
    try {
      const value = await fn()
      this.records.push({name, result: 'PASS', durationMs: Date.now() - t0, output: '', subtest: false})
      return value
    } catch (error) {
      this.fail(name, Date.now() - t0, error)
      throw error
    }
  }

  fail(name: string, durationMs: number, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error)
    this.records.push({name, result: 'FAIL', durationMs, output: message, message, subtest: false})
  }

  write(path: string, deployer: string): Promise<void> {
    const failed = this.records.some((r) => r.result === 'FAIL')
    return writeFile(
      path,
      junitReport({platform: deployer, version: '', result: failed ? 'FAIL' : 'PASS', records: this.records}, 'kubetest2'),
    )
  }
}

/** Brings the cluster up and leaves it running; `down` (same output dir) removes it. */
export async function kubeUp(options: KubeRunOptions): Promise<{runId: string; deployer: string; kubeconfig: string; outputDir: string}> {
  const runId = options.runId ?? newRunId()
  const outputDir = resolve(options.outputDir)
  await mkdir(outputDir, {recursive: true})
  const deployer = makeDeployer(options.spec, context(options, runId))
  await saveState(outputDir, deployer)
  const kubeconfig = await upOrThrow(deployer, options.signal)
  await saveState(outputDir, deployer)
  const copy = await publishKubeconfig(outputDir, kubeconfig)
  return {runId, deployer: deployer.name, kubeconfig: copy, outputDir}
}

/**
 * `up --interactive`: up, print where the kubeconfig is (onReady), keep the
 * cluster until the signal fires (SIGINT or SIGTERM), then down.
 */
export async function kubeInteractive(
  options: KubeRunOptions & {onReady(kubeconfig: string): void},
): Promise<{runId: string; deployer: string; kubeconfig: string}> {
  const up = await kubeUp(options)
  try {
    options.onReady(up.kubeconfig)
    // Signal handlers do not keep Node's event loop alive: without a timer, Node would
    // find nothing left to do and exit (code 13) with the cluster still up.
    const keepAlive = setInterval(() => undefined, 60_000)
    try {
      if (!options.signal.aborted) await once(options.signal, 'abort')
    } finally {
      clearInterval(keepAlive)
    }
  } finally {
    const deployer = restoreDeployer(await loadState(up.outputDir), options.spec, {...context(options, up.runId), signal: undefined})
    await deployer.down()
    await rm(join(up.outputDir, STATE_FILE), {force: true})
  }
  return {runId: up.runId, deployer: up.deployer, kubeconfig: up.kubeconfig}
}

/** Removes the cluster `up` left in the output directory; with `all`, also what killed runs left (by marker). */
export async function kubeDown(options: KubeRunOptions & {all: boolean}): Promise<{removed: string[]}> {
  const outputDir = resolve(options.outputDir)
  const removed: string[] = []
  const state = await loadState(outputDir).catch((error: unknown) => {
    if (options.all) return undefined
    throw error
  })
  if (state) {
    const deployer = restoreDeployer(state, options.spec, {...context(options, state.runId), signal: undefined})
    await deployer.down()
    await rm(join(outputDir, STATE_FILE), {force: true})
    removed.push(`${state.deployer} ${state.runId}`)
  }
  if (options.all) removed.push(...(await downAll(options)))
  return {removed}
}

/** Everything killed runs left behind: local clusters recorded under /run, and namespaces or cloud clusters with kola's label. */
async function downAll(options: KubeRunOptions): Promise<string[]> {
  const removed: string[] = []
  const {spec, logger} = options
  if (spec.deployer === 'local') {
    for (const left of await localLeftovers()) {
      logger.info(`down --all: local cluster ${left.name} (run ${left.runId}, kola pid ${left.pid} is gone) in ${left.dir}`)
      const d = LocalDeployer.restore({logger, runId: left.runId, outputDir: left.dir}, spec.local, {
        deployer: 'local',
        runId: left.runId,
        name: left.name,
        dir: left.dir,
        binDir: left.binDir,
      })
      await d.down()
      removed.push(`local ${left.name}`)
    }
  }
  const kubeconfig =
    spec.deployer === 'kubeconfig' ? spec.kubeconfig?.path : spec.deployer === 'command' ? spec.command?.kubeconfig : undefined
  if (kubeconfig) {
    const client = await clusterClient(resolve(spec.command?.cwd ?? '.', kubeconfig), logger)
    for (const ns of await client.deleteRunNamespaces(undefined)) removed.push(`namespace ${ns}`)
  }
  if (spec.managed) {
    for (const c of await spec.managed.api.list({logger})) {
      if (!c.marked || !c.runId) continue
      logger.info(`down --all: ${spec.deployer} cluster ${c.name} (run ${c.runId})`)
      await spec.managed.api.delete(c.name, {logger})
      removed.push(`${spec.deployer} ${c.name}`)
    }
  }
  return removed
}

export async function kubeStatus(
  options: KubeRunOptions,
): Promise<{deployer: string; runId: string; up: boolean; kubeconfig?: string | undefined}> {
  const state = await loadState(resolve(options.outputDir))
  const deployer = restoreDeployer(state, options.spec, context(options, state.runId))
  return {deployer: state.deployer, runId: state.runId, up: await deployer.isUp(), kubeconfig: deployer.kubeconfig()}
}

/**
 * kubetest2's `--up --test=exec --down`: up, the script with KUBECONFIG,
 * ARTIFACTS, KOLA_RUN_ID, KOLA_RUN_DIR (and kubetest2's names for the last
 * two) and KOLA_NAMESPACE (a namespace made for the run), dump logs, down.
 * The result's exitCode is the script's; a cluster that never came up throws
 * (InfraError, exit 3), as does an interrupt (after down).
 */
export async function kubeExec(options: KubeExecOptions): Promise<KubeExecResult> {
  const runId = options.runId ?? newRunId()
  const outputDir = resolve(options.outputDir)
  const artifacts = join(outputDir, 'artifacts')
  const logs = join(outputDir, 'logs')
  await mkdir(artifacts, {recursive: true})
  const junit = join(outputDir, 'junit_runner.xml')
  const phases = new Phases()
  const deployer = makeDeployer(options.spec, context(options, runId))
  const {logger, signal} = options
  let exitCode = 0
  let failure: unknown
  let kubeconfig: string | undefined
  try {
    await saveState(outputDir, deployer)
    kubeconfig = await phases.time('Up', () => upOrThrow(deployer, signal))
    await saveState(outputDir, deployer)
    kubeconfig = await publishKubeconfig(outputDir, kubeconfig)
    const client = await clusterClient(kubeconfig, logger)
    const before = new Set((await client.namespaces()).map((n) => n.name))
    const namespace = `kola-${runId}`
    await client.createRunNamespace(namespace, runId)
    const t0 = Date.now()
    logger.info(`exec: ${[options.command, ...options.args].join(' ')}`)
    const result = await runProgram(options.command, options.args, {
      env: {
        ...options.env,
        KUBECONFIG: kubeconfig,
        ARTIFACTS: artifacts,
        KOLA_RUN_ID: runId,
        KOLA_RUN_DIR: outputDir,
        KOLA_NAMESPACE: namespace,
        KUBETEST2_RUN_ID: runId,
        KUBETEST2_RUN_DIR: outputDir,
      },
      cwd: options.cwd,
      stdio: 'inherit',
      signal,
    }).catch((error: unknown) => {
      throw new UsageError(`cannot run ${options.command}: ${(error as Error).message}`)
    })
    exitCode = result.code
    if (result.aborted) {
      phases.fail('Test', Date.now() - t0, signal.reason)
      failure = signal.reason instanceof Error ? signal.reason : new InterruptedError('SIGINT')
    } else if (exitCode !== 0) phases.fail('Test', Date.now() - t0, new Error(`${options.command} exited ${exitCode}`))
    else phases.records.push({name: 'Test', result: 'PASS', durationMs: Date.now() - t0, output: '', subtest: false})
    await phases
      .time('DumpLogs', async () => {
        const ours = deployer.name !== 'kubeconfig'
        const all = await client.namespaces()
        const touched = all.filter((n) => ours || !before.has(n.name) || n.labels['mantle.io/kola-run'] === runId).map((n) => n.name)
        for (const ns of touched) await client.dumpNamespace(ns, join(logs, 'cluster'))
        await client.dumpNodes(logs)
        await deployer.dumpLogs(join(logs, 'deployer'))
      })
      .catch((error: unknown) => logger.warn(`dumping logs: ${(error as Error).message}`))
  } catch (error) {
    failure ??= error
  } finally {
    try {
      // Down runs to its end whatever happened before, even after an interrupt.
      await phases.time('Down', () => deployer.down())
      await rm(join(outputDir, STATE_FILE), {force: true})
    } catch (error) {
      logger.error(`down: ${(error as Error).message}`)
      failure ??= error
    }
    await phases.write(junit, deployer.name)
  }
  if (failure) {
    if (
      !phases.records.some((r) => r.name === 'Up' && r.result === 'PASS') &&
      !(failure instanceof UsageError) &&
      !(failure instanceof InterruptedError)
    ) {
      throw failure instanceof InfraError
        ? failure
        : new InfraError(`the cluster did not come up: ${(failure as Error).message}`, {cause: failure})
    }
    throw failure
  }
  return {
    runId,
    deployer: deployer.name,
    exitCode,
    outputDir,
    kubeconfig,
    junit,
    logs,
    phases: phases.records.map((r) => ({name: r.name, result: r.result === 'PASS' ? 'PASS' : 'FAIL', seconds: r.durationMs / 1000})),
  }
}

async function upOrThrow(deployer: Deployer, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted()
  try {
    return await deployer.up()
  } catch (error) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new InterruptedError('SIGINT')
    throw error
  }
}

async function publishKubeconfig(outputDir: string, kubeconfig: string): Promise<string> {
  const copy = join(outputDir, 'kubeconfig')
  if (resolve(kubeconfig) !== copy) await copyFile(kubeconfig, copy)
  return copy
}

async function saveState(outputDir: string, deployer: Deployer): Promise<void> {
  await mkdir(outputDir, {recursive: true})
  const tmp = join(outputDir, `${STATE_FILE}.tmp`)
  await writeFile(tmp, JSON.stringify(deployer.state(), null, 2) + '\n')
  const {rename} = await import('node:fs/promises')
  await rename(tmp, join(outputDir, STATE_FILE))
}

async function loadState(outputDir: string): Promise<DeployerState> {
  const text = await readFile(join(outputDir, STATE_FILE), 'utf8').catch(() => {
    throw new UsageError(`no cluster recorded in ${outputDir}`, {hint: 'pass the --output-dir of `kola kube up`, or use --all'})
  })
  try {
    return JSON.parse(text) as DeployerState
  } catch {
    throw new UsageError(`${join(outputDir, STATE_FILE)} is not valid JSON`)
  }
}

/** The script failed: kola exits with its code. */
export class ScriptExitError extends CheckFailedError {
  override readonly exitCode: 1
  constructor(command: string, code: number) {
    super(`${command} exited ${code}`)
    this.exitCode = code as 1
  }
}
