import {type ChildProcess, spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {isIP} from 'node:net'
import {join} from 'node:path'

import {InfraError, type Logger, UsageError} from '@mantle/kit'

import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/**
 * The external platform's own options (after flatcar/mantle
 * platform/machine/external): shell commands that provision a machine,
 * attach its serial console and deprovision it. They run here, with `sh -c`;
 * a lab reached through a management host puts `ssh host ...` in them.
 */
export interface ExternalOptions {
  /**
   * Provisions one machine. Gets USERDATA (the Ignition config), USERDATA_FILE
   * (the same, as a file), KOLA_MACHINE_ID, KOLA_MACHINE_NAME and
   * KOLA_MACHINE_DIR; prints the machine's address as its last line:
   * `IP`, `IP:PORT` or `[IPv6]:PORT`, optionally followed by a private address.
   */
  provisionCommand: string
  /** Prints the machine's serial console while it runs (IPADDR set); its output becomes console.txt. */
  consoleCommand?: string | undefined
  /** Removes the machine (IPADDR, KOLA_MACHINE_ID set). */
  deprovisionCommand?: string | undefined
  /** The environment the commands start from (the command's own). */
  env: NodeJS.ProcessEnv
}

export const externalPlatform: PlatformDefinition<ExternalOptions> = {
  name: 'external',
  summary: "machines the user's own commands provision (bare metal, PXE/IPMI labs, Terraform)",
  createFlight: async (options, common) => {
    if (!options.provisionCommand)
      throw new UsageError('the external platform needs a provisioning command', {hint: 'pass --external-provisioning-cmds'})
    const provisioner = new CommandProvisioner(options, common.logger)
    return new RemoteFlight('external', await generateIdentity(common.distro.user), () => provisioner, common)
  },
}

class CommandProvisioner implements Provisioner {
  constructor(
    private readonly options: ExternalOptions,
    private readonly logger: Logger,
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const userData = JSON.stringify(request.config)
    const env = {
      ...this.options.env,
      USERDATA: userData,
      USERDATA_FILE: join(request.dir, 'ignition.json'),
      KOLA_MACHINE_ID: request.id,
      KOLA_MACHINE_NAME: request.name,
      KOLA_MACHINE_DIR: request.dir,
    }
    const out = await runCommand('provisioning', this.options.provisionCommand, env, request.signal)
    const address = parseAddress(
      out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .pop() ?? '',
    )
    const machineEnv = {...this.options.env, IPADDR: address.ip, KOLA_MACHINE_ID: request.id, KOLA_MACHINE_DIR: request.dir}
    const deprovision = async (): Promise<void> => {
      if (this.options.deprovisionCommand) await runCommand('deprovisioning', this.options.deprovisionCommand, machineEnv)
    }
    const consolePath = join(request.dir, 'console-stream.txt')
    let consoleChild: ChildProcess | undefined
    if (this.options.consoleCommand) {
      const fd = openSync(consolePath, 'a')
      consoleChild = spawn('sh', ['-c', this.options.consoleCommand], {env: machineEnv, stdio: ['ignore', fd, 'ignore'], detached: true})
      closeSync(fd)
      consoleChild.on('error', (error) => this.logger.warn(`machine ${request.id}: console command: ${error.message}`))
    }
    this.logger.info(`machine ${request.id}: provisioned at ${address.ip}:${address.port}`)
    return {
      instanceId: address.ip,
      ip: address.ip,
      sshPort: address.port,
      privateIp: address.privateIp ?? address.ip,
      console: async () => readFile(consolePath, 'utf8').catch(() => ''),
      terminate: async () => {
        if (consoleChild?.pid !== undefined && consoleChild.exitCode === null) {
          const exited = new Promise((resolve) => consoleChild?.once('exit', resolve))
          // The whole group: `sh -c` and what it started (tail -F, ssh ...).
          process.kill(-consoleChild.pid, 'SIGTERM')
          await exited
        }
        await deprovision()
      },
    }
  }
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`, then optionally a private address. */
export function parseAddress(line: string): {ip: string; port: number; privateIp?: string | undefined} {
  const [address = '', privateIp] = line.split(/\s+/)
  let ip = address
  let port = 22
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(address)
  const v4 = /^([^:]+):(\d+)$/.exec(address)
  if (v6) [ip, port] = [v6[1] as string, Number(v6[2])]
  else if (v4) [ip, port] = [v4[1] as string, Number(v4[2])]
  if (!isIP(ip) || !(port > 0 && port < 65536) || (privateIp !== undefined && !isIP(privateIp))) {
    throw new InfraError(`the provisioning command printed ${JSON.stringify(line)}, not an address`, {
      hint: 'its last line must be IP, IP:PORT or [IPv6]:PORT, optionally followed by a private IP',
    })
  }
  return {ip, port, privateIp}
}

/** Runs `sh -c command`; stdout is the result, stderr is kept for the error. Aborting kills the command's group. */
function runCommand(what: string, command: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
    const onAbort = (): void => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    child.once('error', (error) => reject(new UsageError(`cannot run the ${what} command: ${error.message}`)))
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted) return reject(signal.reason)
      if (code === 0) return resolve(stdout)
      const last = stderr.trim().split('\n').pop() ?? ''
      reject(new InfraError(`the ${what} command failed (${sig ?? `exit ${code}`})${last ? `: ${last}` : ''}`))
    })
  })
}
