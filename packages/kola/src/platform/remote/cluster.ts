import {randomUUID} from 'node:crypto'
import {join} from 'node:path'

import type {Logger} from '@mantle/kit'

import {BaseCluster} from '../base-cluster.js'
import type {Distro} from '../distro.js'
import {addSshKey, toIgnition} from '../ignition.js'
import type {ClusterOptions, Machine, MachineOptions} from '../platform.js'
import type {SshIdentity} from '../ssh.js'
import {type Provisioner, RemoteMachine} from './machine.js'

export interface RemoteClusterContext {
  provisioner: Provisioner
  identity: SshIdentity
  distro: Distro
  sshTimeoutMs: number
  logger: Logger
  /** Names every resource of the run. */
  runId: string
}

/** The machines of one test on a platform that provisions them (clouds, external commands). */
export class RemoteCluster extends BaseCluster<RemoteMachine> {
  private next = 0

  constructor(
    private readonly context: RemoteClusterContext,
    options: ClusterOptions,
  ) {
    super(options)
  }

  async newMachine(options: MachineOptions = {}): Promise<Machine> {
    this.checkOpen()
    const index = this.next++
    const id = randomUUID()
    let config = toIgnition(options.userData, this.context.distro)
    if (!this.options.flags?.includes('NoSSHKeyInUserData'))
      config = addSshKey(config, this.context.identity.user, this.context.identity.publicKey)
    return this.track(
      RemoteMachine.start(
        {
          id,
          dir: join(this.outputDir, id),
          identity: this.context.identity,
          distro: this.context.distro,
          sshTimeoutMs: this.context.sshTimeoutMs,
          logger: this.context.logger,
          signal: this.signal,
        },
        config,
        this.context.provisioner,
        resourceName(this.context.runId, this.name, index),
      ),
    )
  }
}

/** `<run id>-<test>-<n>`: lowercase letters, digits and '-', at most 63 characters (GCE's rule, the strictest). */
export function resourceName(runId: string, cluster: string, index: number): string {
  const test = cluster
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  const suffix = `-${index}`
  return `${runId}-${test}`.slice(0, 63 - suffix.length).replace(/-+$/, '') + suffix
}
