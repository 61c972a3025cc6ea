/**
 * The `gke`, `eks` and `aks` deployers: one deployer over the managed-cluster
 * modules of packages/cloud (gcloud.clusters, aws.eks, azure.aks), which all
 * answer the same narrow interface. The cluster is named and labelled after
 * the run (`created-by: mantle`, RUN_LABEL), so that `ore gc` and
 * `kola kube down --all` find it if a run dies.
 */
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {ManagedClusterApi} from '@mantle/cloud'

import type {Deployer, DeployerContext, DeployerState} from './deployer.js'

export interface ManagedOptions {
  /** The cloud's managed-cluster API, with credentials already resolved. */
  api: ManagedClusterApi
  /** Worker nodes. */
  nodeCount: number
  /** A Kubernetes version the cloud offers, or its default. */
  version?: string | undefined
  /** How long creation may take before kola gives up (and deletes what exists). */
  timeoutMs?: number | undefined
}

export class ManagedDeployer implements Deployer {
  private readonly clusterName: string
  private path: string | undefined

  constructor(
    private readonly ctx: DeployerContext,
    readonly name: 'gke' | 'eks' | 'aks',
    private readonly options: ManagedOptions,
    restored?: DeployerState,
  ) {
    this.clusterName = typeof restored?.cluster === 'string' ? restored.cluster : `kola-${ctx.runId.slice(0, 12)}`
    this.path = typeof restored?.kubeconfig === 'string' ? restored.kubeconfig : undefined
  }

  static restore(ctx: DeployerContext, name: 'gke' | 'eks' | 'aks', options: ManagedOptions, state: DeployerState): ManagedDeployer {
    return new ManagedDeployer(ctx, name, options, state)
  }

  state(): DeployerState {
    return {deployer: this.name, runId: this.ctx.runId, cluster: this.clusterName, ...(this.path ? {kubeconfig: this.path} : {})}
  }

  kubeconfig(): string | undefined {
    return this.path
  }

  async up(): Promise<string> {
    const call = {logger: this.ctx.logger, signal: this.ctx.signal}
    try {
      await this.options.api.create(
        {name: this.clusterName, runId: this.ctx.runId, nodeCount: this.options.nodeCount, version: this.options.version},
        call,
      )
      const cluster = await this.options.api.waitReady(this.clusterName, {...call, timeoutMs: this.options.timeoutMs})
      const path = join(this.ctx.outputDir, 'kubeconfig')
      await writeFile(path, this.options.api.kubeconfig(cluster), {mode: 0o600})
      this.path = path
      return path
    } catch (error) {
      // Half-made clusters cost money: remove whatever exists, then report the first failure.
      await this.down().catch((e: unknown) =>
        this.ctx.logger.warn(`${this.name}: removing the half-made cluster ${this.clusterName}: ${(e as Error).message}`),
      )
      throw error
    }
  }

  async down(): Promise<void> {
    await this.options.api.delete(this.clusterName, {logger: this.ctx.logger})
  }

  async isUp(): Promise<boolean> {
    const c = await this.options.api.get(this.clusterName, {logger: this.ctx.logger})
    return c?.ready === true
  }

  async dumpLogs(dir: string): Promise<void> {
    const c = await this.options.api.get(this.clusterName, {logger: this.ctx.logger}).catch(() => undefined)
    if (c) await writeFile(join(dir, `${this.name}-cluster.json`), JSON.stringify(c.raw, null, 2) + '\n').catch(() => undefined)
  }
}
