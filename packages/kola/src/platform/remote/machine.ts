import {existsSync} from 'node:fs'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {InfraError, type Logger} from '@mantle/kit'
import type {Client} from 'ssh2'

import type {Distro} from '../distro.js'
import type {IgnitionConfig} from '../ignition.js'
import {JournalRecorder, renderExport} from '../journal.js'
import type {Machine} from '../platform.js'
import {type ExecOptions, type JumpHost, rebootOver, SshConnection, type SshIdentity, type SshResult} from '../ssh.js'
import {checkStartup} from '../startup.js'

/** A machine some platform created: where SSH answers, and how to read its console and remove it. */
export interface Provisioned {
  /** The platform's own name for it (an instance id), recorded in `instance.txt`. */
  instanceId: string
  /** The address kola reaches it at. */
  ip: string
  sshPort: number
  /** Where the cluster's other machines reach it. */
  privateIp: string
  /** Every SSH connection to it goes through this host (e.g. --openstack-host). */
  jump?: JumpHost | undefined
  /** The console so far, as the platform shows it (a cloud API, a console command's output). */
  console(): Promise<string>
  /** Removes the machine and waits until it is gone. */
  terminate(): Promise<void>
}

export interface ProvisionRequest {
  /** kola's id for the machine (its output directory's name). */
  id: string
  /** A name for the platform's resources: `<run id>-<cluster>-<n>`, lowercase. */
  name: string
  /** The Ignition config, kola's SSH key included; also in `<dir>/ignition.json`. */
  config: IgnitionConfig
  /** The machine's output directory. */
  dir: string
  signal: AbortSignal
}

/** What each platform supplies: create one machine with an Ignition config as its user data. */
export interface Provisioner {
  provision(request: ProvisionRequest): Promise<Provisioned>
}

export interface RemoteMachineSpec {
  id: string
  dir: string
  identity: SshIdentity
  distro: Distro
  sshTimeoutMs: number
  logger: Logger
  signal: AbortSignal
}

/**
 * A machine on a platform kola does not run itself (a cloud, the user's
 * lab): SSH to the address the platform gave, the journal recorded over SSH,
 * the console read from the platform into console.txt when it is destroyed.
 */
export class RemoteMachine implements Machine {
  private connection: SshConnection | undefined
  private readonly journal: JournalRecorder
  private destroying: Promise<void> | undefined

  private constructor(
    private readonly spec: RemoteMachineSpec,
    private readonly machine: Provisioned,
  ) {
    this.journal = new JournalRecorder(join(spec.dir, 'journal-raw.txt'))
  }

  get id(): string {
    return this.spec.id
  }

  get ip(): string {
    return this.machine.ip
  }

  get sshPort(): number {
    return this.machine.sshPort
  }

  get privateIp(): string {
    return this.machine.privateIp
  }

  get jump(): JumpHost | undefined {
    return this.machine.jump
  }

  get outputDir(): string {
    return this.spec.dir
  }

  /** Provisions, connects, records the journal and checks start-up; on any failure the machine is removed again. */
  static async start(spec: RemoteMachineSpec, config: IgnitionConfig, provisioner: Provisioner, name: string): Promise<RemoteMachine> {
    await mkdir(spec.dir, {recursive: true})
    await writeFile(join(spec.dir, 'ignition.json'), JSON.stringify(config, null, 2) + '\n')
    const started = Date.now()
    const provisioned = await provisioner.provision({id: spec.id, name, config, dir: spec.dir, signal: spec.signal})
    const machine = new RemoteMachine(spec, provisioned)
    try {
      await writeFile(join(spec.dir, 'instance.txt'), `${provisioned.instanceId} ${provisioned.ip}:${provisioned.sshPort}\n`)
      spec.logger.info(`machine ${spec.id}: ${provisioned.instanceId} at ${provisioned.ip}:${provisioned.sshPort}`)
      machine.connection = await SshConnection.connect({
        host: provisioned.ip,
        port: provisioned.sshPort,
        identity: spec.identity,
        jump: provisioned.jump,
        deadline: started + spec.sshTimeoutMs,
        signal: spec.signal,
        logger: spec.logger,
      })
      spec.logger.info(`machine ${spec.id}: SSH answered after ${((Date.now() - started) / 1000).toFixed(1)}s`)
      await machine.journal.start(() => machine.conn())
      await checkStartup(machine.connection, spec.id, {signal: spec.signal, distro: spec.distro, logger: spec.logger})
      return machine
    } catch (error) {
      await machine.destroy()
      throw error
    }
  }

  async ssh(command: string, options: ExecOptions = {}): Promise<SshResult> {
    return (await this.conn()).exec(command, options)
  }

  async sshClient(): Promise<Client> {
    return (await this.conn()).client
  }

  private async conn(): Promise<SshConnection> {
    if (this.destroying) throw new InfraError(`machine ${this.id} is destroyed`)
    if (this.connection?.isOpen) return this.connection
    this.connection = await SshConnection.connect({
      host: this.ip,
      port: this.sshPort,
      identity: this.spec.identity,
      jump: this.machine.jump,
      // A lost connection is usually a machine starved of CPU (emulated, many at once): it gets the whole --ssh-timeout again.
      deadline: Date.now() + this.spec.sshTimeoutMs,
      signal: this.spec.signal,
    })
    return this.connection
  }

  async reboot(): Promise<void> {
    await this.journal.stop()
    const deadline = Date.now() + this.spec.sshTimeoutMs
    this.connection = await rebootOver(await this.conn(), () =>
      SshConnection.connect({
        host: this.ip,
        port: this.sshPort,
        identity: this.spec.identity,
        jump: this.machine.jump,
        deadline,
        signal: this.spec.signal,
      }),
    )
    await this.journal.start(() => this.conn())
    await checkStartup(this.connection, this.id, {signal: this.spec.signal, distro: this.spec.distro, logger: this.spec.logger})
  }

  async consoleOutput(): Promise<string> {
    const saved = join(this.spec.dir, 'console.txt')
    if (existsSync(saved)) return readFile(saved, 'utf8')
    return this.machine.console().catch(() => '')
  }

  async journalOutput(): Promise<string> {
    const text = join(this.spec.dir, 'journal.txt')
    if (existsSync(text)) return readFile(text, 'utf8')
    return renderExport(await readFile(this.journal.rawPath).catch(() => Buffer.alloc(0)))
  }

  /** Saves the journal and the console, then removes the machine and waits until it is gone. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown()
    return this.destroying
  }

  private async teardown(): Promise<void> {
    await this.journal
      .finish(join(this.spec.dir, 'journal.txt'))
      .catch((error: unknown) => this.spec.logger.debug(`machine ${this.id}: journal: ${String(error)}`))
    this.connection?.close()
    try {
      await writeFile(join(this.spec.dir, 'console.txt'), await this.machine.console())
    } catch (error) {
      this.spec.logger.warn(`machine ${this.id}: cannot read its console: ${error instanceof Error ? error.message : String(error)}`)
    }
    await this.machine.terminate()
  }
}
