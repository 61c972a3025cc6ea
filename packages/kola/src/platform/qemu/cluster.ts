import {randomBytes, randomInt, randomUUID} from 'node:crypto'
import {join} from 'node:path'

import {InfraError, type Logger} from '@mantle/kit'

import type {Distro} from '../distro.js'
import {addFile, addSshKey, toIgnition} from '../ignition.js'
import {BaseCluster} from '../base-cluster.js'
import type {ClusterOptions, Machine, MachineOptions} from '../platform.js'
import type {SshIdentity} from '../ssh.js'
import {type QemuImage, QemuMachine, type QemuSettings} from './machine.js'

/** What a cluster takes from its flight. */
export interface QemuClusterContext {
  image: QemuImage
  qemu: QemuSettings
  identity: SshIdentity
  sshTimeoutMs: number
  runDir: string
  logger: Logger
  distro: Distro
  /** The flight's HTTP file server, started on first use, serving these files too; resolves to its port. */
  serveHttp: (files: Readonly<Record<string, string | Uint8Array>>) => Promise<number>
}

/** The private network's addresses: 192.168.100.10 and up. */
const PRIVATE_PREFIX = '192.168.100.'
const PRIVATE_FIRST = 10

/**
 * The machines of one test. They share a private L2 segment (a QEMU socket
 * netdev on a multicast group chosen at random), where each has a fixed
 * address that its Ignition config gives to the second NIC.
 */
export class QemuCluster extends BaseCluster<QemuMachine> {
  private readonly group: string
  private next = 0

  constructor(
    private readonly context: QemuClusterContext,
    options: ClusterOptions,
  ) {
    super(options)
    // Administratively scoped multicast; a random group and port keep concurrent clusters apart.
    this.group = `239.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}:${randomInt(20_000, 60_000)}`
  }

  async newMachine(options: MachineOptions = {}): Promise<Machine> {
    this.checkOpen()
    const index = this.next++
    if (index > 240) throw new InfraError(`cluster ${this.name}: too many machines for its private network`)
    const id = randomUUID()
    const privateNic = {group: this.group, mac: randomMac(), ip: `${PRIVATE_PREFIX}${PRIVATE_FIRST + index}`}
    let config = toIgnition(options.userData, this.context.distro)
    if (!this.options.flags?.includes('NoSSHKeyInUserData'))
      config = addSshKey(config, this.context.identity.user, this.context.identity.publicKey)
    config = addFile(config, '/etc/systemd/network/10-kola-private.network', privateNetwork(privateNic.mac, privateNic.ip))
    const httpPort = options.httpFiles ? await this.context.serveHttp(options.httpFiles) : undefined
    const start = QemuMachine.start({
      id,
      dir: join(this.outputDir, id),
      runDir: this.context.runDir,
      config,
      image: this.context.image,
      qemu: this.context.qemu,
      userMac: randomMac(),
      privateNic,
      identity: this.context.identity,
      sshTimeoutMs: this.context.sshTimeoutMs,
      logger: this.context.logger,
      distro: this.context.distro,
      signal: this.signal,
      httpPort,
      hardware: {
        memoryMiB: options.memoryMiB,
        diskGiB: options.diskGiB,
        additionalDisksMiB: options.additionalDisksMiB,
        additionalNics: options.additionalNics,
        appendKernelArgs: options.appendKernelArgs,
      },
    })
    return this.track(start)
  }

  /** Leaves every machine running past kola's exit; see QemuMachine.detach. */
  async detach(): Promise<Array<{id: string; pid: number | undefined}>> {
    this.destroying ??= Promise.resolve()
    return Promise.all(this.list.map(async (m) => ({id: m.id, ...(await m.detach())})))
  }
}

/** A locally administered unicast MAC in QEMU's 52:54:00 range. */
function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':')
}

function privateNetwork(mac: string, ip: string): string {
  return [
    "# kola: the cluster's private network",
    '[Match]',
    `MACAddress=${mac}`,
    '',
    '[Network]',
    `Address=${ip}/24`,
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n')
}
