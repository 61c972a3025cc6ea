import type {Client} from 'ssh2'

import type {TestFlag} from '../register/test.js'
import type {IgnitionConfig} from './ignition.js'
import type {ExecOptions, SshIdentity, SshResult} from './ssh.js'

export type {ExecOptions, SshIdentity, SshResult} from './ssh.js'

/** One booted machine, after the original `platform.Machine`. */
export interface Machine {
  readonly id: string
  /** The address the host reaches the machine at (QEMU: 127.0.0.1, SSH on `sshPort`). */
  readonly ip: string
  readonly sshPort: number
  /** The machine's address on its cluster's private network: machines reach each other here. */
  readonly privateIp: string
  /** `<test output>/<machine id>`: console.txt, journal.txt, journal-raw.txt.gz, ignition.json. */
  readonly outputDir: string
  ssh(command: string, options?: ExecOptions): Promise<SshResult>
  /** The machine's SSH connection, for streaming or several channels. */
  sshClient(): Promise<Client>
  /** Reboots and waits until SSH answers again with a new boot. */
  reboot(): Promise<void>
  destroy(): Promise<void>
  consoleOutput(): Promise<string>
  journalOutput(): Promise<string>
}

export interface MachineOptions {
  userData?: IgnitionConfig | string | undefined
}

/** The machines of one test, after the original `platform.Cluster`. */
export interface Cluster {
  readonly name: string
  readonly outputDir: string
  newMachine(options?: MachineOptions): Promise<Machine>
  machines(): Machine[]
  destroy(): Promise<void>
  /** Console text per machine id. */
  consoleOutput(): Promise<Record<string, string>>
  /** Journal text per machine id. */
  journalOutput(): Promise<Record<string, string>>
}

export interface ClusterOptions {
  /** Names the cluster; usually the test's name. */
  name: string
  /** Machines' directories go inside. */
  outputDir: string
  flags?: readonly TestFlag[] | undefined
  /** Aborting it tears the cluster down. */
  signal?: AbortSignal | undefined
}

/** A platform session: shared settings and credentials, after the original `platform.Flight`. */
export interface Flight {
  readonly platform: string
  /** The identity kola logs in with. */
  readonly identity: SshIdentity
  newCluster(options: ClusterOptions): Promise<Cluster>
  /** Destroys every cluster still up. */
  destroy(): Promise<void>
}
