/**
 * The `kubeconfig` deployer: a cluster someone else runs. kola never creates
 * or deletes it; `up` only checks that its API server answers, and `down`
 * removes just the namespaces this run made (those labelled with its run id).
 */
import {access} from 'node:fs/promises'
import {resolve} from 'node:path'

import {UsageError} from '@mantle/kit'

import {clusterClient} from './client.js'
import type {Deployer, DeployerContext, DeployerState} from './deployer.js'

export interface KubeconfigOptions {
  /** The existing cluster's kubeconfig. */
  path: string
}

export class KubeconfigDeployer implements Deployer {
  readonly name = 'kubeconfig' as const
  private readonly path: string
  private reached = false

  constructor(
    private readonly ctx: DeployerContext,
    options: KubeconfigOptions,
  ) {
    this.path = resolve(options.path)
  }

  static restore(ctx: DeployerContext, state: DeployerState): KubeconfigDeployer {
    const d = new KubeconfigDeployer(ctx, {path: String(state.path)})
    d.reached = true
    return d
  }

  state(): DeployerState {
    return {deployer: 'kubeconfig', runId: this.ctx.runId, path: this.path}
  }

  kubeconfig(): string {
    return this.path
  }

  async up(): Promise<string> {
    await access(this.path).catch(() => {
      throw new UsageError(`kubeconfig ${this.path} does not exist`, {hint: 'pass the file of an existing cluster to --kubeconfig'})
    })
    const client = await clusterClient(this.path, this.ctx.logger)
    const version = await client.version()
    this.ctx.logger.info(`kubeconfig: API server answers (${version})`)
    this.reached = true
    return this.path
  }

  async down(): Promise<void> {
    // Before a successful up there is nothing of ours on the cluster.
    if (!this.reached) return
    const client = await clusterClient(this.path, this.ctx.logger)
    const deleted = await client.deleteRunNamespaces(this.ctx.runId)
    if (deleted.length) this.ctx.logger.info(`kubeconfig: deleted namespaces ${deleted.join(', ')}`)
  }

  async isUp(): Promise<boolean> {
    try {
      await (await clusterClient(this.path, this.ctx.logger)).version()
      return true
    } catch {
      return false
    }
  }

  async dumpLogs(): Promise<void> {
    // Nothing beyond what the API shows (the caller dumps pods and events): the cluster is not ours.
  }
}
