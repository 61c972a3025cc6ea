import {execFile} from 'node:child_process'
import {constants} from 'node:fs'
import {access, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {delimiter, join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {InfraError, UsageError} from '@mantle/kit'

import {HttpFileServer} from '../http-files.js'
import type {Cluster, ClusterOptions, CommonFlightOptions, DetachedFlight, Flight} from '../platform.js'
import {generateIdentity, type SshIdentity} from '../ssh.js'
import {type AccelChoice, chooseAccel} from './accel.js'
import {QemuCluster} from './cluster.js'
import type {Firmware, QemuImage, QemuSettings} from './machine.js'

const execFileAsync = promisify(execFile)

/** The QEMU platform's own options (`--qemu-*`). */
export interface QemuOptions {
  /** The disk image (raw or qcow2); machines boot overlays of it. */
  image: string
  /** For direct kernel boot; without it the image boots through its own boot loader (a whole disk). */
  kernel?: string | undefined
  initrd?: string | undefined
  /** Kernel command line for direct boot. */
  append?: string | undefined
  /** `bios` (SeaBIOS), `uefi`, `uefi-secure` (OVMF from Debian's ovmf), or a firmware file. */
  firmware?: string | undefined
  accel: AccelChoice
  memoryMiB: number
  cpus: number
  binary?: string | undefined
  extraArgs?: readonly string[] | undefined
  /** Where the scratch directory (overlays, QMP sockets) goes; default the system's temp dir. */
  runParent?: string | undefined
  /** The PATH to look the binaries up in (the command passes its environment's). */
  path: string
}

/**
 * The kernel command line of a direct kernel boot. no_timer_check: under TCG
 * on a loaded host the kernel's IO-APIC timer check can miss its window and
 * panic ("IO-APIC + timer doesn't work!", seen here with six machines booting
 * on two cores); Fedora's cloud images boot with it for the same reason.
 */
export const DEFAULT_APPEND = 'root=/dev/vda console=ttyS0 systemd.show_status=0 loglevel=5 no_timer_check'

/** The QEMU platform: pre-flight checks once, then clusters of VMs sharing an SSH identity. */
export class QemuFlight implements Flight {
  readonly platform = 'qemu'
  private readonly clusters = new Set<QemuCluster>()
  private http: Promise<HttpFileServer> | undefined

  private constructor(
    readonly identity: SshIdentity,
    readonly image: QemuImage,
    readonly qemu: QemuSettings,
    private readonly runDir: string,
    private readonly common: CommonFlightOptions,
  ) {}

  /** Checks what a run needs before any machine boots, with a message that says what to do. */
  static async create(options: QemuOptions, common: CommonFlightOptions): Promise<QemuFlight> {
    const path = options.path
    const binaryName = options.binary ?? 'qemu-system-x86_64'
    const binary = await which(binaryName, path)
    if (!binary) throw new UsageError(`${binaryName} not found on PATH`, {hint: 'apt-get install qemu-system-x86 (or pass --qemu-binary)'})
    if (!(await which('qemu-img', path))) throw new UsageError('qemu-img not found on PATH', {hint: 'apt-get install qemu-utils'})
    const image = await describeImage(options)
    const firmware = await resolveFirmware(options.firmware)
    const decision = await chooseAccel(options.accel)
    common.logger.info(`qemu: ${decision.accel} (${decision.reason})${firmware ? `, firmware ${firmware.code}` : ''}`)
    const qemu: QemuSettings = {
      binary,
      setpriv: common.keepAlive ? undefined : ((await which('setpriv', path)) ?? undefined),
      accel: decision.accel,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      extraArgs: options.extraArgs,
      firmware,
      fwCfgName: common.distro.fwCfgName,
    }
    const identity = await generateIdentity(common.distro.user)
    // Short: a QMP socket path must fit in 108 bytes.
    const runDir = await mkdtemp(join(options.runParent ?? tmpdir(), 'kola-'))
    return new QemuFlight(identity, image, qemu, runDir, common)
  }

  async newCluster(options: ClusterOptions): Promise<Cluster> {
    const cluster = new QemuCluster(
      {
        image: this.image,
        qemu: this.qemu,
        identity: this.identity,
        sshTimeoutMs: this.common.sshTimeoutMs,
        runDir: this.runDir,
        logger: this.common.logger,
        distro: this.common.distro,
        serveHttp: (files) => this.serveHttp(files),
      },
      options,
    )
    this.clusters.add(cluster)
    return cluster
  }

  /** Adds files to the flight's HTTP server, started on first use; its port on 127.0.0.1. */
  private async serveHttp(files: Readonly<Record<string, string | Uint8Array>>): Promise<number> {
    this.http ??= HttpFileServer.start(this.common.logger)
    const server = await this.http
    server.add(files)
    return server.port
  }

  /** Leaves every machine running past kola's exit, with their overlays in `runDir`. */
  async detach(): Promise<DetachedFlight> {
    const machines = (await Promise.all([...this.clusters].map((c) => c.detach()))).flat()
    this.clusters.clear()
    return {machines, removal: `kill ${machines.map((m) => m.pid).join(' ')}; then rm -rf ${this.runDir}`}
  }

  async destroy(): Promise<void> {
    await Promise.allSettled([...this.clusters].map((c) => c.destroy()))
    this.clusters.clear()
    await (await this.http?.catch(() => undefined))?.close()
    await rm(this.runDir, {recursive: true, force: true})
  }
}

/** Debian's ovmf package: the 4 MiB builds; secure boot with Microsoft's keys enrolled. */
const OVMF = '/usr/share/OVMF'
const FIRMWARE: Record<string, Firmware> = {
  uefi: {code: `${OVMF}/OVMF_CODE_4M.fd`, vars: `${OVMF}/OVMF_VARS_4M.fd`, secure: false},
  'uefi-secure': {code: `${OVMF}/OVMF_CODE_4M.secboot.fd`, vars: `${OVMF}/OVMF_VARS_4M.ms.fd`, secure: true},
}

/** `bios` (or nothing) is QEMU's SeaBIOS; `uefi`/`uefi-secure` are OVMF; anything else is a firmware file (`-bios`). */
export async function resolveFirmware(choice: string | undefined): Promise<Firmware | undefined> {
  if (choice === undefined || choice === '' || choice === 'bios') return undefined
  const known = FIRMWARE[choice]
  if (known) {
    for (const file of [known.code, known.vars]) {
      try {
        await access(file as string, constants.R_OK)
      } catch {
        throw new UsageError(`--qemu-firmware ${choice} needs ${file as string}`, {hint: 'apt-get install ovmf'})
      }
    }
    return known
  }
  await readable(choice, 'firmware', '--qemu-firmware')
  return {code: resolve(choice), secure: false, bios: true}
}

async function describeImage(options: QemuOptions): Promise<QemuImage> {
  if (!options.image) {
    throw new UsageError('no image to boot', {
      hint: 'pass --qemu-image, or run scripts/services/test-image.sh start and source .services/test-image.env',
    })
  }
  const path = resolve(options.image)
  await readable(path, 'image', '--qemu-image')
  if (options.kernel) await readable(options.kernel, 'kernel', '--qemu-kernel')
  if (options.initrd) await readable(options.initrd, 'initramfs', '--qemu-initrd')
  let format: string
  try {
    const {stdout} = await execFileAsync('qemu-img', ['info', '--output=json', '-U', path])
    format = (JSON.parse(stdout) as {format: string}).format
  } catch (error) {
    throw new InfraError(`qemu-img cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return {
    path,
    format,
    kernel: options.kernel ? resolve(options.kernel) : undefined,
    initrd: options.initrd ? resolve(options.initrd) : undefined,
    append: options.kernel ? (options.append ?? DEFAULT_APPEND) : undefined,
  }
}

async function readable(path: string, what: string, flag: string): Promise<void> {
  try {
    await access(path, constants.R_OK)
  } catch {
    throw new UsageError(`no ${what} at ${path}`, {
      hint: `pass ${flag}; scripts/services/test-image.sh start builds the test image and writes its paths to .services/test-image.env`,
    })
  }
}

async function which(name: string, path: string): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutable(name)) ? name : undefined
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    if (await isExecutable(candidate)) return candidate
  }
  return undefined
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  )
}
