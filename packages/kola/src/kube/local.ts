/**
 * The `local` deployer: a single-node Kubernetes on 127.0.0.1 from binaries
 * built once from Debian's source and cached (~/.cache/mantle-ts/kubernetes).
 *
 * The cluster itself is assets/kube/cluster.sh, the same script behind
 * scripts/services/kube.sh: one implementation of the start order, the
 * certificates, the images and (the part that must never drift) the
 * teardown of processes, mounts, network namespaces, cgroups and the bridge.
 * A shell script, because the service has to run it before anything is
 * built, and because its teardown has to work from a second process after
 * kola itself was killed; kola adds what a shell script cannot do well:
 * free ports and names per run (so it never collides with the service's
 * cluster or another run), a marker for `down --all`, signals, logs.
 */
import {randomInt} from 'node:crypto'
import {createServer} from 'node:net'
import {networkInterfaces} from 'node:os'
import {cp, mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {InfraError, UsageError} from '@mantle/kit'

import type {Deployer, DeployerContext, DeployerState} from './deployer.js'
import {runProgram} from './process.js'

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'kube')
export const CLUSTER_SCRIPT = join(ASSETS, 'cluster.sh')
export const BUILD_SCRIPT = join(ASSETS, 'build.sh')
/** Where kola records the local clusters it started, so that `down --all` finds those a killed run left. */
export const LOCAL_MARKER_DIR = '/run/mantle-kube-kola'

export interface LocalOptions {
  /** The environment for the scripts (PATH; HOME for the binary cache). */
  env: NodeJS.ProcessEnv
  /** The Kubernetes binaries; default: build.sh's cache (built on first use, ~5 min). */
  binDir?: string | undefined
  /** The Node.js binary that goes into the mantle.local/node image. */
  nodeBinary: string
  /** Which test images to load besides pause (busybox, node). */
  images?: readonly string[] | undefined
  /** First of 5 consecutive ports; default: a free range picked at random. */
  portBase?: number | undefined
}

interface LocalState extends DeployerState {
  deployer: 'local'
  name: string
  dir: string
  portBase: number
  subnet: number
  binDir?: string | undefined
}

export class LocalDeployer implements Deployer {
  readonly name = 'local' as const
  private readonly dir: string
  private readonly clusterName: string
  private portBase: number | undefined
  private subnet: number | undefined
  private binDir: string | undefined

  constructor(
    private readonly ctx: DeployerContext,
    private readonly options: LocalOptions,
    restored?: LocalState,
  ) {
    this.dir = restored?.dir ?? join(ctx.outputDir, 'cluster')
    this.clusterName = restored?.name ?? `k${ctx.runId.slice(0, 7)}`
    this.portBase = restored?.portBase ?? options.portBase
    this.subnet = restored?.subnet
    this.binDir = restored?.binDir ?? options.binDir
  }

  static restore(ctx: DeployerContext, options: LocalOptions, state: DeployerState): LocalDeployer {
    return new LocalDeployer(ctx, options, state as LocalState)
  }

  state(): LocalState {
    return {
      deployer: 'local',
      runId: this.ctx.runId,
      name: this.clusterName,
      dir: this.dir,
      portBase: this.portBase ?? 0,
      subnet: this.subnet ?? 0,
      binDir: this.binDir,
    }
  }

  kubeconfig(): string | undefined {
    return join(this.dir, 'kubeconfig')
  }

  async up(): Promise<string> {
    this.binDir ??= await this.build()
    this.portBase ??= await freePortBase()
    this.subnet ??= freeSubnet()
    await mkdir(LOCAL_MARKER_DIR, {recursive: true})
    await writeFile(
      join(LOCAL_MARKER_DIR, `${this.clusterName}.json`),
      JSON.stringify({...this.state(), pid: process.pid, created: new Date().toISOString()}) + '\n',
    )
    this.ctx.logger.info(
      `local: starting cluster ${this.clusterName} in ${this.dir} (ports ${this.portBase}-${this.portBase + 4}, pods 10.${this.subnet}.0.0/16)`,
    )
    const result = await this.script('start')
    if (result.code !== 0) {
      await this.down()
      // The script's own last word (not a daemon's log tail, not its teardown notice).
      const last = result.stderr
        .split('\n')
        .filter((l) => /^cluster\.sh\[[a-z0-9]+\]: /.test(l) && !/tearing down|stopped$/.test(l))
        .pop()
        ?.replace(/^cluster\.sh\[[a-z0-9]+\]: /, '')
      if (result.aborted) this.ctx.signal?.throwIfAborted()
      throw new InfraError(`local cluster did not start: ${last ?? `cluster.sh exited ${result.code}`}`, {
        hint: `logs in ${join(this.dir, 'log')}`,
      })
    }
    return join(this.dir, 'kubeconfig')
  }

  async down(): Promise<void> {
    // Teardown runs to its end even after an abort: it is what the abort is for.
    const result = await runProgram('bash', [CLUSTER_SCRIPT, 'stop', this.dir], {
      env: this.scriptEnv(),
      stdio: 'pipe',
      onStderr: (l) => this.ctx.logger.debug(l),
    })
    if (result.code !== 0)
      throw new InfraError(`local cluster ${this.clusterName} did not stop cleanly: ${result.stderr.trim().split('\n').pop() ?? ''}`)
    await rm(join(LOCAL_MARKER_DIR, `${this.clusterName}.json`), {force: true})
  }

  async isUp(): Promise<boolean> {
    if (!this.binDir) return false
    const result = await runProgram('bash', [CLUSTER_SCRIPT, 'status', this.dir], {env: this.scriptEnv(), stdio: 'pipe'})
    return result.code === 0
  }

  async dumpLogs(dir: string): Promise<void> {
    const logs = join(this.dir, 'log')
    const names = await readdir(logs).catch(() => [] as string[])
    await mkdir(dir, {recursive: true})
    for (const n of names) await cp(join(logs, n), join(dir, n)).catch(() => undefined)
  }

  private async build(): Promise<string> {
    this.ctx.logger.info('local: finding the Kubernetes binaries (a first build from Debian source takes ~5 minutes)')
    const result = await runProgram('bash', [BUILD_SCRIPT], {
      env: this.options.env,
      stdio: 'pipe',
      signal: this.ctx.signal,
      onStderr: (l) => this.ctx.logger.info(l),
    })
    if (result.aborted) this.ctx.signal?.throwIfAborted()
    if (result.code !== 0) throw new InfraError(`building Kubernetes failed: ${result.stderr.trim().split('\n').pop() ?? ''}`)
    return result.stdout.trim().split('\n').pop() ?? ''
  }

  private script(command: 'start'): ReturnType<typeof runProgram> {
    return runProgram('bash', [CLUSTER_SCRIPT, command, this.dir], {
      env: this.scriptEnv(),
      stdio: 'pipe',
      signal: this.ctx.signal,
      onStderr: (l) => this.ctx.logger.info(l),
    })
  }

  private scriptEnv(): NodeJS.ProcessEnv {
    return {
      PATH: this.options.env.PATH,
      HOME: this.options.env.HOME,
      MANTLE_KUBE_BIN: this.binDir ?? '',
      MANTLE_KUBE_NAME: this.clusterName,
      MANTLE_KUBE_PORT_BASE: String(this.portBase ?? ''),
      MANTLE_KUBE_SUBNET: String(this.subnet ?? ''),
      MANTLE_KUBE_NODE_BIN: this.options.nodeBinary,
      MANTLE_KUBE_IMAGES: (this.options.images ?? ['busybox', 'node']).join(','),
    }
  }
}

/** Five consecutive free ports on 127.0.0.1, from a random start, clear of the service's 16400. */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + randomInt(0, 1_000) * 10
    let free = true
    for (let p = base; p < base + 5 && free; p++) free = await portFree(p)
    if (free) return base
  }
  throw new InfraError('no 5 consecutive free ports found on 127.0.0.1')
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A 10.X.0.0/16 pod subnet no interface here uses (the service's cluster takes 10.244). */
function freeSubnet(): number {
  const used = new Set<number>()
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const m = /^10\.(\d+)\./.exec(a.address)
      if (m) used.add(Number(m[1]))
    }
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = randomInt(100, 240)
    if (!used.has(x)) return x
  }
  throw new InfraError('no free 10.X.0.0/16 pod subnet')
}

/** The local clusters kola recorded whose kola process is gone: what a killed run left. */
export async function localLeftovers(): Promise<{name: string; dir: string; binDir?: string; runId: string; pid: number}[]> {
  const names = await readdir(LOCAL_MARKER_DIR).catch(() => [] as string[])
  const out = []
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    const record = JSON.parse(await readFile(join(LOCAL_MARKER_DIR, n), 'utf8').catch(() => '{}')) as {
      name?: string
      dir?: string
      binDir?: string
      runId?: string
      pid?: number
    }
    if (!record.name || !record.dir) continue
    if (record.pid && record.pid !== process.pid && alive(record.pid)) continue
    out.push({
      name: record.name,
      dir: record.dir,
      runId: record.runId ?? '',
      pid: record.pid ?? 0,
      ...(record.binDir ? {binDir: record.binDir} : {}),
    })
  }
  return out
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export function checkLocalSupported(platform: NodeJS.Platform): void {
  if (platform !== 'linux') throw new UsageError('the local deployer needs Linux (containerd and a kubelet run here)')
}
