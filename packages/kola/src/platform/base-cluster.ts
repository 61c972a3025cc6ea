import {InfraError} from '@mantle/kit'

import type {Cluster, ClusterOptions, Machine, MachineOptions} from './platform.js'

/**
 * What every platform's cluster does alike: machines started in parallel
 * join it once up; destroying it aborts those still starting (they remove
 * themselves), then destroys the rest, once.
 */
export abstract class BaseCluster<M extends Machine> implements Cluster {
  readonly name: string
  readonly outputDir: string
  protected readonly list: M[] = []
  private readonly starting = new Set<Promise<unknown>>()
  private readonly controller = new AbortController()
  /** Aborted when the cluster is destroyed or the run's signal fires. */
  protected readonly signal: AbortSignal
  protected destroying: Promise<void> | undefined

  constructor(protected readonly options: ClusterOptions) {
    this.name = options.name
    this.outputDir = options.outputDir
    this.signal = options.signal ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal
  }

  abstract newMachine(options?: MachineOptions): Promise<Machine>

  /** Refuses new machines once the cluster is being destroyed. */
  protected checkOpen(): void {
    if (this.destroying) throw new InfraError(`cluster ${this.name} is destroyed`)
  }

  /** A machine being started: it joins the cluster once up. */
  protected async track(start: Promise<M>): Promise<M> {
    this.starting.add(start)
    try {
      const machine = await start
      this.list.push(machine)
      return machine
    } finally {
      this.starting.delete(start)
    }
  }

  machines(): Machine[] {
    return [...this.list]
  }

  /** Stops machines still starting, then destroys every machine. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.controller.abort(new InfraError(`cluster ${this.name} destroyed`))
      await Promise.allSettled([...this.starting])
      await Promise.allSettled(this.list.map((m) => m.destroy()))
    })()
    return this.destroying
  }

  async consoleOutput(): Promise<Record<string, string>> {
    return Object.fromEntries(await Promise.all(this.list.map(async (m) => [m.id, await m.consoleOutput()] as const)))
  }

  async journalOutput(): Promise<Record<string, string>> {
    return Object.fromEntries(await Promise.all(this.list.map(async (m) => [m.id, await m.journalOutput()] as const)))
  }
}
