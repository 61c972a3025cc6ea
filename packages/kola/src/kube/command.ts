/**
 * The `command` deployer (Koalesce's Terraform, a kind or k3d script): the
 * user's up command makes a cluster and leaves its kubeconfig at a known
 * path; the down command removes it. kola runs down on every way out of a
 * run, including a failed up. Both run through `sh -c` in the given
 * directory, with KOLA_RUN_ID and KOLA_KUBECONFIG (the path kola expects) in
 * their environment.
 */
import {access} from 'node:fs/promises'
import {resolve} from 'node:path'

import {InfraError, UsageError} from '@mantle/kit'

import {clusterClient} from './client.js'
import type {Deployer, DeployerContext, DeployerState} from './deployer.js'
import {runProgram} from './process.js'

export interface CommandOptions {
  upCommand: string
  downCommand: string
  /** Where the up command leaves the kubeconfig. */
  kubeconfig: string
  cwd: string
  env: NodeJS.ProcessEnv
}

export class CommandDeployer implements Deployer {
  readonly name = 'command' as const
  private readonly path: string

  constructor(
    private readonly ctx: DeployerContext,
    private readonly options: CommandOptions,
  ) {
    this.path = resolve(options.cwd, options.kubeconfig)
  }

  static restore(ctx: DeployerContext, env: NodeJS.ProcessEnv, state: DeployerState): CommandDeployer {
    return new CommandDeployer(ctx, {
      upCommand: String(state.upCommand),
      downCommand: String(state.downCommand),
      kubeconfig: String(state.kubeconfig),
      cwd: String(state.cwd),
      env,
    })
  }

  state(): DeployerState {
    return {
      deployer: 'command',
      runId: this.ctx.runId,
      upCommand: this.options.upCommand,
      downCommand: this.options.downCommand,
      kubeconfig: this.path,
      cwd: this.options.cwd,
    }
  }

  kubeconfig(): string {
    return this.path
  }

  async up(): Promise<string> {
    const result = await this.run('up', this.options.upCommand, this.ctx.signal)
    if (result.aborted) {
      await this.down()
      this.ctx.signal?.throwIfAborted()
    }
    if (result.code !== 0) {
      await this.down().catch((error: unknown) => this.ctx.logger.warn(`down after a failed up: ${(error as Error).message}`))
      throw new InfraError(`up command exited ${result.code}: ${lastLine(result.stderr)}`, {
        hint: `the command was: ${this.options.upCommand}`,
      })
    }
    const exists = await access(this.path).then(
      () => true,
      () => false,
    )
    if (!exists) {
      await this.down().catch(() => undefined)
      throw new UsageError(`the up command left no kubeconfig at ${this.path}`, {
        hint: 'make it write there, or point --kubeconfig where it writes',
      })
    }
    return this.path
  }

  async down(): Promise<void> {
    // Never aborted: it is what an abort has to run.
    const result = await this.run('down', this.options.downCommand, undefined)
    if (result.code !== 0) throw new InfraError(`down command exited ${result.code}: ${lastLine(result.stderr)}`)
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
    // The commands' own output is in the log already; the cluster's pods and events are dumped by the caller.
  }

  private run(what: string, command: string, signal: AbortSignal | undefined): ReturnType<typeof runProgram> {
    this.ctx.logger.info(`command: ${what}: ${command}`)
    return runProgram('sh', ['-c', command], {
      env: {...this.options.env, KOLA_RUN_ID: this.ctx.runId, KOLA_KUBECONFIG: this.path},
      cwd: this.options.cwd,
      stdio: 'pipe',
      signal,
      onStderr: (l) => this.ctx.logger.info(`${what}: ${l}`),
    })
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() || '(no output)'
}
