import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, statSync} from 'node:fs'
import {copyFile, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {InfraError, type Logger} from '@mantle/kit'
import type {Client} from 'ssh2'

import type {Distro} from '../distro.js'
import type {IgnitionConfig} from '../ignition.js'
import {JournalRecorder, renderExport} from '../journal.js'
import {type Machine, MACHINE_HTTP_URL} from '../platform.js'
import {type ExecOptions, rebootOver, SshConnection, type SshIdentity, type SshResult} from '../ssh.js'
import {checkStartup} from '../startup.js'
import type {Accel} from './accel.js'
import {parseForwardedPort, Qmp} from './qmp.js'

const execFileAsync = promisify(execFile)

/** The image a machine boots: a disk, and a kernel and initramfs for direct boot when given. */
export interface QemuImage {
  path: string
  /** `raw` or `qcow2`, as `qemu-img info` says. */
  format: string
  kernel?: string | undefined
  initrd?: string | undefined
  /** Kernel command line for direct boot. */
  append?: string | undefined
}

export interface QemuSettings {
  binary: string
  /** Run QEMU through `setpriv --pdeathsig KILL` so it dies with kola even on SIGKILL. */
  setpriv?: string | undefined
  accel: Accel
  memoryMiB: number
  cpus: number
  extraArgs?: readonly string[] | undefined
  /** UEFI (OVMF) or a BIOS file; none: QEMU's SeaBIOS. */
  firmware?: Firmware | undefined
  /** The fw_cfg name the image's Ignition reads its config from (the distro's). */
  fwCfgName: string
  /** The Node binary that bridges a machine's HTTP connections to kola's file server; default kola's own. */
  node?: string | undefined
}

export interface Firmware {
  /** The firmware code: OVMF's CODE file, or a BIOS image (`bios`). */
  code: string
  /** OVMF's variable store template; each machine boots a copy of its own. */
  vars?: string | undefined
  /** Secure boot: q35 with SMM and a secured flash. */
  secure: boolean
  /** A plain BIOS file, passed with -bios. */
  bios?: boolean | undefined
}

export interface PrivateNic {
  /** Multicast `group:port` shared by the cluster's machines: their private L2 segment. */
  group: string
  mac: string
  ip: string
}

export interface QemuMachineSpec {
  id: string
  /** Output directory: console.txt, journal.txt, journal-raw.txt.gz, ignition.json, qemu.txt. */
  dir: string
  /** Scratch directory for the overlay disk and the QMP socket (short path). */
  runDir: string
  config: IgnitionConfig
  image: QemuImage
  qemu: QemuSettings
  userMac: string
  privateNic?: PrivateNic | undefined
  identity: SshIdentity
  sshTimeoutMs: number
  logger: Logger
  signal?: AbortSignal | undefined
  distro: Distro
  /** Skip the start-up check (e.g. `kola spawn` of a machine expected to be broken). */
  skipStartupCheck?: boolean | undefined
  /** What the test asked for beyond the flight's defaults (kola's external tests: minMemory, minDisk, ...). */
  hardware?: MachineHardware | undefined
  /** The port of kola's HTTP file server on 127.0.0.1: the machine reaches it at MACHINE_HTTP_URL. */
  httpPort?: number | undefined
}

export interface MachineHardware {
  memoryMiB?: number | undefined
  diskGiB?: number | undefined
  additionalDisksMiB?: readonly number[] | undefined
  additionalNics?: number | undefined
  appendKernelArgs?: string | undefined
}

/**
 * Why a boot failed, from its console: Ignition failed (with Ignition's own
 * first critical message: the test image's initramfs and Fedora CoreOS's and
 * Flatcar's journals on the console all log it as `CRITICAL : ...`), the
 * kernel panicked, or systemd went to emergency mode. Undefined while none of
 * that shows.
 */
export function bootFailure(console: string): string | undefined {
  if (/Ignition (?:has )?failed/.test(console)) {
    const critical = /CRITICAL\s*: ([^\n]*)/.exec(console)?.[1]?.trim()
    return `Ignition failed${critical ? `: ${critical}` : ''} (console)`
  }
  const panic = /Kernel panic - not syncing[^\n]*/.exec(console)?.[0]
  if (panic) return `${panic.trim()} (console)`
  if (/You are in emergency mode|Entering emergency mode/.test(console)) return 'systemd entered emergency mode (console)'
  return undefined
}

/**
 * The user network's forward of MACHINE_HTTP_URL to kola's HTTP server. The
 * network stays restricted (the machine reaches nothing else): a guestfwd is
 * the one way out it allows. Its `cmd:` form starts a process per connection,
 * with the connection as stdin and stdout; this one is Node (kola's own, so
 * nothing to install) piping it to the server. QEMU's option syntax doubles
 * the commas.
 */
export function httpForward(port: number, node: string): string {
  const {hostname, port: guestPort} = new URL(MACHINE_HTTP_URL)
  const bridge = [
    `const s = require("net").connect({host: "127.0.0.1", port: ${port}})`,
    'process.stdin.pipe(s)',
    's.pipe(process.stdout)',
    // Once the server is done, stop reading the machine: Node exits when the last write is out.
    's.on("end", () => process.stdin.destroy())',
    's.on("error", () => process.exit(1))',
  ].join('; ')
  return `tcp:${hostname}:${guestPort}-cmd:'${node}' -e '${bridge}'`.replaceAll(',', ',,')
}

/** QEMU's command line for a machine: pure, so tests can read it. */
export function qemuArgs(
  spec: QemuMachineSpec,
  paths: {overlay: string; qmp: string; console: string; config: string; vars?: string; extraDisks?: readonly string[]},
): string[] {
  const {qemu, image} = spec
  const hw = spec.hardware ?? {}
  const args = ['-name', `kola-${spec.id}`, '-accel', qemu.accel]
  if (qemu.accel === 'kvm') args.push('-cpu', 'host')
  args.push(
    '-m',
    String(Math.max(qemu.memoryMiB, hw.memoryMiB ?? 0)),
    '-smp',
    String(qemu.cpus),
    '-display',
    'none',
    '-nodefaults',
    '-no-user-config',
  )
  const fw = qemu.firmware
  if (fw?.bios) args.push('-bios', fw.code)
  else if (fw) {
    // Secure boot needs SMM, which needs q35; the flash must then be secured too.
    if (fw.secure) args.push('-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on')
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`)
    if (paths.vars) args.push('-drive', `if=pflash,format=raw,unit=1,file=${paths.vars}`)
  }
  if (image.kernel) {
    args.push('-kernel', image.kernel)
    if (image.initrd) args.push('-initrd', image.initrd)
    args.push('-append', [image.append ?? 'root=/dev/vda console=ttyS0', hw.appendKernelArgs].filter(Boolean).join(' '))
  }
  args.push(
    '-drive',
    `if=none,id=disk0,file=${paths.overlay},format=qcow2,cache=unsafe,discard=unmap`,
    '-device',
    'virtio-blk-pci,drive=disk0,bootindex=1',
    '-netdev',
    `user,id=eth0,restrict=yes,hostfwd=tcp:127.0.0.1:0-:22${spec.httpPort ? `,guestfwd=${httpForward(spec.httpPort, qemu.node ?? process.execPath)}` : ''}`,
    '-device',
    `virtio-net-pci,netdev=eth0,mac=${spec.userMac}`,
  )
  if (spec.privateNic) {
    args.push(
      '-netdev',
      `socket,id=priv0,mcast=${spec.privateNic.group},localaddr=127.0.0.1`,
      '-device',
      `virtio-net-pci,netdev=priv0,mac=${spec.privateNic.mac}`,
    )
  }
  for (const [i, disk] of (paths.extraDisks ?? []).entries()) {
    args.push(
      '-drive',
      `if=none,id=extra${i},file=${disk},format=qcow2,cache=unsafe,discard=unmap`,
      '-device',
      `virtio-blk-pci,drive=extra${i},serial=kola-extra-${i}`,
    )
  }
  for (let i = 0; i < (hw.additionalNics ?? 0); i++) {
    // Isolated like the first: each extra NIC gets a user network of its own with nothing forwarded.
    args.push('-netdev', `user,id=nic${i},restrict=yes,net=10.${100 + i}.0.0/24`, '-device', `virtio-net-pci,netdev=nic${i}`)
  }
  args.push(
    '-chardev',
    `file,id=log,path=${paths.console}`,
    '-serial',
    'chardev:log',
    '-fw_cfg',
    `name=${qemu.fwCfgName},file=${paths.config}`,
    '-object',
    'rng-random,filename=/dev/urandom,id=rng0',
    '-device',
    'virtio-rng-pci,rng=rng0',
    '-qmp',
    `unix:${paths.qmp},server=on,wait=off`,
  )
  args.push(...(qemu.extraArgs ?? []))
  return args
}

/**
 * A QEMU virtual machine: a qcow2 overlay over the image (never modified),
 * the Ignition config through fw_cfg, the serial console into console.txt,
 * user networking with the SSH port forwarded to a port QMP reports.
 */
export class QemuMachine implements Machine {
  readonly ip = '127.0.0.1'
  sshPort = 0
  private child: ChildProcess | undefined
  private exit: {code: number | null; signal: NodeJS.Signals | null} | undefined
  private exited: Promise<void> = Promise.resolve()
  private qmp: Qmp | undefined
  private connection: SshConnection | undefined
  private readonly journal: JournalRecorder
  private destroying: Promise<void> | undefined
  private readonly paths: {
    overlay: string
    qmp: string
    console: string
    config: string
    qemuLog: string
    journal: string
    vars?: string
    extraDisks: string[]
  }

  private constructor(private readonly spec: QemuMachineSpec) {
    this.paths = {
      overlay: join(spec.runDir, `${spec.id}.qcow2`),
      extraDisks: (spec.hardware?.additionalDisksMiB ?? []).map((_, i) => join(spec.runDir, `${spec.id}.extra${i}.qcow2`)),
      qmp: join(spec.runDir, `${spec.id}.qmp`),
      console: join(spec.dir, 'console.txt'),
      config: join(spec.dir, 'ignition.json'),
      qemuLog: join(spec.dir, 'qemu.txt'),
      journal: join(spec.dir, 'journal.txt'),
      ...(spec.qemu.firmware?.vars ? {vars: join(spec.runDir, `${spec.id}.vars.fd`)} : {}),
    }
    this.journal = new JournalRecorder(join(spec.dir, 'journal-raw.txt'))
  }

  get id(): string {
    return this.spec.id
  }

  get outputDir(): string {
    return this.spec.dir
  }

  get privateIp(): string {
    return this.spec.privateNic?.ip ?? this.ip
  }

  /** The QEMU process id, while it runs. */
  get pid(): number | undefined {
    return this.exit ? undefined : this.child?.pid
  }

  /** Boots the machine and returns it once it passed the start-up check; on any failure nothing is left running. */
  static async start(spec: QemuMachineSpec): Promise<QemuMachine> {
    const machine = new QemuMachine(spec)
    try {
      await machine.boot()
      return machine
    } catch (error) {
      await machine.destroy()
      throw error
    }
  }

  private async boot(): Promise<void> {
    const {spec, paths} = this
    const started = Date.now()
    const deadline = started + spec.sshTimeoutMs
    if (spec.signal?.aborted) throw spec.signal.reason
    await mkdir(spec.dir, {recursive: true})
    await writeFile(paths.config, JSON.stringify(spec.config, null, 2) + '\n')
    if (spec.hardware?.appendKernelArgs && !spec.image.kernel)
      throw new InfraError(`machine ${spec.id}: kernel arguments can be appended only with direct kernel boot (--qemu-kernel)`)
    const size = spec.hardware?.diskGiB ? [`${spec.hardware.diskGiB}G`] : []
    for (const [i, mib] of (spec.hardware?.additionalDisksMiB ?? []).entries()) {
      await execFileAsync('qemu-img', ['create', '-q', '-f', 'qcow2', paths.extraDisks[i] as string, `${mib}M`])
    }
    await execFileAsync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      spec.image.path,
      '-F',
      spec.image.format,
      paths.overlay,
      ...size,
    ]).catch((error: Error & {stderr?: string}) => {
      throw new InfraError(`machine ${spec.id}: cannot create its disk overlay: ${(error.stderr || error.message).trim()}`)
    })
    if (paths.vars && spec.qemu.firmware?.vars) await copyFile(spec.qemu.firmware.vars, paths.vars)
    this.spawn()
    // While SSH is awaited, a console showing that the boot failed ends the wait at once, with the console's reason.
    const gone = (): string | undefined => this.goneReason() ?? this.consoleFailure()
    this.qmp = await Qmp.connect(paths.qmp, deadline, gone)
    this.sshPort = await this.forwardedPort(deadline)
    spec.logger.debug(`machine ${spec.id}: QEMU pid ${this.child?.pid}, ssh on 127.0.0.1:${this.sshPort}`)
    try {
      this.connection = await SshConnection.connect({
        host: this.ip,
        port: this.sshPort,
        identity: spec.identity,
        deadline,
        signal: spec.signal,
        logger: spec.logger,
        gone,
      })
    } catch (error) {
      throw await this.explainBootFailure(error)
    }
    spec.logger.info(`machine ${spec.id}: SSH answered after ${((Date.now() - started) / 1000).toFixed(1)}s`)
    await this.journal.start(() => this.conn())
    if (!spec.skipStartupCheck)
      await checkStartup(this.connection, spec.id, {signal: spec.signal, distro: spec.distro, logger: spec.logger})
  }

  private spawn(): void {
    const {spec, paths} = this
    const args = qemuArgs(spec, paths)
    const log = openSync(paths.qemuLog, 'a')
    const [command, argv] = spec.qemu.setpriv
      ? [spec.qemu.setpriv, ['--pdeathsig', 'KILL', '--', spec.qemu.binary, ...args]]
      : [spec.qemu.binary, args]
    // A process group of its own: the terminal's Ctrl-C reaches kola, which then
    // tears machines down in order (journal first) instead of QEMU dying mid-write.
    const child = spawn(command, argv, {stdio: ['ignore', log, log], detached: true})
    closeSync(log)
    this.child = child
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = {code, signal}
        resolve()
      })
      child.once('error', (error) => {
        this.exit = {code: -1, signal: null}
        spec.logger.debug(`machine ${spec.id}: cannot start QEMU: ${error.message}`)
        resolve()
      })
    })
  }

  private consoleSeen = -1

  /** The reason the console gives for a failed boot, read again only when it grew. */
  private consoleFailure(): string | undefined {
    let size: number
    try {
      size = statSync(this.paths.console).size
    } catch {
      return undefined
    }
    if (size === this.consoleSeen) return undefined
    this.consoleSeen = size
    return bootFailure(readFileSync(this.paths.console, 'utf8'))
  }

  private goneReason(): string | undefined {
    if (!this.exit) return undefined
    return `QEMU exited (${this.exit.signal ?? `code ${this.exit.code}`}); see ${this.paths.qemuLog}`
  }

  private async forwardedPort(deadline: number): Promise<number> {
    for (;;) {
      const port = parseForwardedPort(await (this.qmp as Qmp).hmp('info usernet'))
      if (port) return port
      if (Date.now() > deadline) throw new InfraError(`machine ${this.spec.id}: QEMU reports no forwarded SSH port`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** An SSH failure says more with what the console shows. */
  private async explainBootFailure(error: unknown): Promise<unknown> {
    if (!(error instanceof InfraError)) return error
    const console = await readFile(this.paths.console, 'utf8').catch(() => '')
    const failure = bootFailure(console)
    if (failure)
      return new InfraError(`machine ${this.spec.id} never came up: ${failure}`, {hint: `see ${this.paths.console}`, cause: error})
    const qemuLog = await readFile(this.paths.qemuLog, 'utf8').catch(() => '')
    const clue =
      /Ignition failed[^\n]*/.exec(console)?.[0] ??
      /Kernel panic[^\n]*/.exec(console)?.[0] ??
      /emergency (mode|shell)[^\n]*/i.exec(console)?.[0] ??
      qemuLog.trim().split('\n').pop()
    const message = `machine ${this.spec.id} never came up: ${error.message}${clue ? `; console: ${clue.trim()}` : ''}`
    return new InfraError(message, {hint: `see ${this.paths.console}`, cause: error})
  }

  async ssh(command: string, options: ExecOptions = {}): Promise<SshResult> {
    return (await this.conn()).exec(command, options)
  }

  async sshClient(): Promise<Client> {
    return (await this.conn()).client
  }

  /** The connection, reopened once if the machine dropped it (sshd restarted, say). */
  private async conn(): Promise<SshConnection> {
    if (this.destroying) throw new InfraError(`machine ${this.id} is destroyed`)
    if (this.connection?.isOpen) return this.connection
    if (this.connection) this.spec.logger.debug(`machine ${this.id}: SSH connection lost; connecting again`)
    this.connection = await SshConnection.connect({
      host: this.ip,
      port: this.sshPort,
      identity: this.spec.identity,
      // A lost connection is usually a machine starved of CPU (emulated, many at once): it gets the whole --ssh-timeout again.
      deadline: Date.now() + this.spec.sshTimeoutMs,
      signal: this.spec.signal,
      gone: () => this.goneReason(),
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
        deadline,
        signal: this.spec.signal,
        gone: () => this.goneReason(),
      }),
    )
    await this.journal.start(() => this.conn())
    await checkStartup(this.connection, this.id, {signal: this.spec.signal, distro: this.spec.distro, logger: this.spec.logger})
  }

  async consoleOutput(): Promise<string> {
    return readFile(this.paths.console, 'utf8').catch(() => '')
  }

  async journalOutput(): Promise<string> {
    if (existsSync(this.paths.journal)) return readFile(this.paths.journal, 'utf8')
    const raw = await readFile(this.journal.rawPath).catch(() => Buffer.alloc(0))
    return renderExport(raw)
  }

  /**
   * Lets the machine outlive kola (`kola spawn --detach`): saves the journal so
   * far, closes kola's connections and stops waiting for QEMU. Needs a flight
   * made with `keepAlive` (no parent-death signal).
   */
  async detach(): Promise<{pid: number | undefined}> {
    await this.journal.finish(this.paths.journal).catch(() => undefined)
    this.connection?.close()
    this.qmp?.close()
    this.child?.unref()
    this.destroying = Promise.resolve()
    return {pid: this.pid}
  }

  /** Saves the journal, stops QEMU (SIGTERM, then SIGKILL), waits for it, removes the overlay. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown()
    return this.destroying
  }

  private async teardown(): Promise<void> {
    try {
      await this.journal.finish(this.paths.journal)
    } catch (error) {
      this.spec.logger.debug(`machine ${this.id}: journal: ${error instanceof Error ? error.message : String(error)}`)
    }
    this.connection?.close()
    await this.stopQemu()
    this.qmp?.close()
    await rm(this.paths.overlay, {force: true})
    for (const disk of this.paths.extraDisks) await rm(disk, {force: true})
    await rm(this.paths.qmp, {force: true})
    if (this.paths.vars) await rm(this.paths.vars, {force: true})
  }

  private async stopQemu(): Promise<void> {
    const child = this.child
    if (!child || this.exit) return this.exited
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await this.exited
    clearTimeout(timer)
  }
}
