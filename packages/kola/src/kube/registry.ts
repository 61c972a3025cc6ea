/**
 * From options (or a saved state) to a deployer. The only place that knows
 * every deployer; #20's test runner and the commands go through it.
 */
import {BugError, UsageError} from '@mantle/kit'

import {CommandDeployer, type CommandOptions} from './command.js'
import type {Deployer, DeployerContext, DeployerName, DeployerState} from './deployer.js'
import {KubeconfigDeployer, type KubeconfigOptions} from './existing.js'
import {LocalDeployer, type LocalOptions} from './local.js'
import {ManagedDeployer, type ManagedOptions} from './managed.js'

export interface DeployerSpec {
  deployer: DeployerName
  local: LocalOptions
  kubeconfig?: KubeconfigOptions | undefined
  command?: CommandOptions | undefined
  managed?: ManagedOptions | undefined
}

export function makeDeployer(spec: DeployerSpec, ctx: DeployerContext): Deployer {
  switch (spec.deployer) {
    case 'local':
      return new LocalDeployer(ctx, spec.local)
    case 'kubeconfig':
      if (!spec.kubeconfig) throw new UsageError('the kubeconfig deployer needs --kubeconfig')
      return new KubeconfigDeployer(ctx, spec.kubeconfig)
    case 'command':
      if (!spec.command) throw new UsageError('the command deployer needs --up-command, --down-command and --kubeconfig')
      return new CommandDeployer(ctx, spec.command)
    case 'gke':
    case 'eks':
    case 'aks':
      if (!spec.managed) throw new BugError(`no cloud options for ${spec.deployer}`)
      return new ManagedDeployer(ctx, spec.deployer, spec.managed)
  }
}

/** A deployer saved by `state()` in another process, brought back for `down` or `status`. */
export function restoreDeployer(state: DeployerState, spec: DeployerSpec, ctx: DeployerContext): Deployer {
  switch (state.deployer) {
    case 'local':
      return LocalDeployer.restore(ctx, spec.local, state)
    case 'kubeconfig':
      return KubeconfigDeployer.restore(ctx, state)
    case 'command':
      return CommandDeployer.restore(ctx, spec.local.env, state)
    case 'gke':
    case 'eks':
    case 'aks':
      if (!spec.managed) throw new UsageError(`the saved cluster is on ${state.deployer}: pass its credentials as for up`)
      return ManagedDeployer.restore(ctx, state.deployer, spec.managed, state)
    default:
      throw new UsageError(`unknown deployer in saved state: ${String(state.deployer)}`)
  }
}
