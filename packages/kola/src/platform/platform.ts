import type {Logger} from '@mantle/kit'
import type {Client} from 'ssh2'

import type {Distro} from './distro.js'
import type {IgnitionConfig} from './ignition.js'
import type {ExecOptions, JumpHost, SshIdentity, SshResult} from './ssh.js'

export type {ExecOptions, SshIdentity, SshResult} from './ssh.js'

/** One booted machine, after the original `platform.Machine`. */
export interface Machine {
  readonly id: string
  /** The address the host reaches the machine at (QEMU: 127.0.0.1, SSH on `sshPort`; clouds: the public address, port 22). */
  readonly ip: string
  readonly sshPort: number
  /** The machine's address on its cluster's private network: machines reach each other here. */
  readonly privateIp: string
  /** The host every SSH connection to the machine goes through (e.g. --openstack-host), when there is one. */
  readonly jump?: JumpHost | undefined
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
  /** At least this much memory (MiB); the platform's default when it is larger. */
  memoryMiB?: number | undefined
  /** At least this big a primary disk (GiB). */
  diskGiB?: number | undefined
  /** Extra empty disks, by size in MiB (QEMU: /dev/vdb, /dev/vdc, ...). */
  additionalDisksMiB?: readonly number[] | undefined
  /** Extra network interfaces. */
  additionalNics?: number | undefined
  /** Appended to the kernel command line (QEMU: direct kernel boot only). */
  appendKernelArgs?: string | undefined
  /** Files kola serves the machine over HTTP, by path (`/dir/name`), at `MACHINE_HTTP_URL`: the remote sources of its Ignition config. */
  httpFiles?: Readonly<Record<string, string | Uint8Array>> | undefined
}

/**
 * Where a machine reaches the files of `MachineOptions.httpFiles`. QEMU maps
 * it (a guestfwd of the machine's isolated user network) to kola's HTTP
 * server on the host's loopback interface; the other platforms do not serve
 * files yet, so tests that use it name `platforms: ['qemu']`.
 */
export const MACHINE_HTTP_URL = 'http://10.0.2.100:8080'

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

/**
 * What a cluster's machines need from the test, in the platform's own terms
 * (the platform layer knows nothing of test records).
 */
export interface ClusterOptions {
  /** Names the cluster; usually the test's name. */
  name: string
  /** Machines' directories go inside. */
  outputDir: string
  /**
   * The test's flags, as plain names: platforms honour `NoSSHKeyInUserData`
   * and `NoSSHKeyInMetadata` (the platform layer knows no test records).
   */
  flags?: readonly string[] | undefined
  /** Aborting it tears the cluster down. */
  signal?: AbortSignal | undefined
}

/** What a flight left running (`kola spawn --detach`), and how a person removes it. */
export interface DetachedFlight {
  machines: Array<{id: string; pid?: number | undefined}>
  /** One line telling how to remove what was left running. */
  removal: string
}

/** A platform session: shared settings and credentials, after the original `platform.Flight`. */
export interface Flight {
  readonly platform: string
  /** The identity kola logs in with. */
  readonly identity: SshIdentity
  newCluster(options: ClusterOptions): Promise<Cluster>
  /** Destroys every cluster still up, and what the flight itself created (keys, groups). */
  destroy(): Promise<void>
  /** Leaves every machine running past kola's exit (`kola spawn --detach`); absent where a platform cannot. */
  detach?(): Promise<DetachedFlight>
}

/** What every platform gets, whatever its own options. */
export interface CommonFlightOptions {
  logger: Logger
  /** The distribution the image holds: decides fw_cfg name, Ignition version, login user, start-up checks. */
  distro: Distro
  /** Time a machine has from its start until SSH answers. */
  sshTimeoutMs: number
  /** Machines may outlive kola (`kola spawn --detach`). */
  keepAlive?: boolean | undefined
  /** Aborted on SIGINT/SIGTERM: the flight stops creating and tears down. */
  signal?: AbortSignal | undefined
  /** A per-run id that names every resource the run creates (cloud gc finds leftovers by it and the marker). */
  runId: string
}
