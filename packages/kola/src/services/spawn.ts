import {spawn} from 'node:child_process'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {constants} from 'node:os'
import {join} from 'node:path'

import {type Logger, UsageError} from '@mantle/kit'

import {prepareOutputDir} from '../harness/output-dir.js'
import type {Flight, Machine} from '../platform/platform.js'
import type {JumpHost, SshIdentity} from '../platform/ssh.js'

export interface SpawnedMachine {
  id: string
  ip: string
  sshPort: number
  privateIp: string
  /** A command line that logs in, using the files kola wrote. */
  ssh: string
  outputDir: string
  /** The local process id (QEMU), for machines left running (`--detach`), where there is one. */
  pid?: number | undefined
}

export interface ConnectionFiles {
  /** The private key (0600). */
  key: string
  /** An ssh_config naming the machines m0, m1, ... and by id. */
  sshConfig: string
  /** KEY=VALUE lines for scripts: KOLA_MACHINES, KOLA_SSH_KEY, KOLA_SSH_USER, KOLA_SSH_CONFIG, ... */
  env: string
}

export interface Terminal {
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  /** $TERM, for the remote pty. */
  term: string
}

export type SpawnMode =
  /** Print how to reach the machines, wait for SIGINT/SIGTERM, then remove them. */
  | 'wait'
  /** An interactive SSH session on the first machine; removal when it ends. */
  | 'shell'
  /** Print how to reach the machines and leave them running. */
  | 'detach'
  /** Run a program with the machines' addresses, key and ssh_config in its environment; remove them when it exits. */
  | 'exec'

export interface SpawnOptions {
  /** The platform's name, for the output directory. */
  platform: string
  createFlight: (keepAlive: boolean) => Promise<Flight>
  count: number
  userData?: string | undefined
  mode: SpawnMode
  /** Remove the machines when spawn ends (default); false leaves them running like --detach. */
  remove: boolean
  outputDir?: string | undefined
  cwd: string
  logger: Logger
  signal: AbortSignal
  terminal?: Terminal | undefined
  /** For mode `exec`: the program, its arguments, and the environment it starts from (KOLA_* are added). */
  exec?: {command: string; args: string[]; env: NodeJS.ProcessEnv} | undefined
  /** Called once the machines are up, before waiting or opening the shell: the command prints them. */
  onReady?: (machines: SpawnedMachine[], files: ConnectionFiles) => void
}

export interface SpawnResult {
  outputDir: string
  machines: SpawnedMachine[]
  files: ConnectionFiles
  /** True when the machines were left running. */
  detached: boolean
  /** How to remove the machines left running (`--detach`, `--no-remove`). */
  removal?: string | undefined
  /** Mode `exec`: the program's exit code (128 + n when killed by signal n). */
  exitCode?: number | undefined
}

/** `kola spawn`: boots machines for a person, says how to reach them, and removes them when done. */
export async function spawnMachines(options: SpawnOptions): Promise<SpawnResult> {
  if (options.mode === 'shell' && !options.terminal) throw new UsageError('--shell needs a terminal')
  const keep = options.mode === 'detach' || !options.remove
  const outputDir = await prepareOutputDir({outputDir: options.outputDir, platform: `${options.platform}-spawn`, cwd: options.cwd})
  const flight = await options.createFlight(keep)
  if (keep && !flight.detach) {
    await flight.destroy()
    throw new UsageError(`${options.platform} machines cannot outlive kola`, {hint: 'drop --detach and --no-remove on this platform'})
  }
  let detached = false
  try {
    const cluster = await flight.newCluster({name: 'spawn', outputDir, signal: options.signal})
    const booted = await Promise.all(Array.from({length: options.count}, () => cluster.newMachine({userData: options.userData})))
    const files = await writeConnectionFiles(outputDir, flight.identity, booted)
    const machines = booted.map((m) => describe(m, files))
    options.onReady?.(machines, files)
    let exitCode: number | undefined
    if (options.mode === 'shell') await interactiveShell(booted[0] as Machine, options.terminal as Terminal, options.signal)
    else if (options.mode === 'wait' && options.remove) await untilAborted(options.signal)
    else if (options.mode === 'exec') {
      if (!options.exec) throw new UsageError('nothing to run')
      exitCode = await runProgram(options.exec, await readEnvFile(files.env), options.signal)
      options.logger.info(`${options.exec.command} exited ${exitCode}`)
    }
    if (keep) {
      const left = await (flight.detach as NonNullable<Flight['detach']>)()
      detached = true
      for (const m of machines) m.pid = left.machines.find((p) => p.id === m.id)?.pid
      return {outputDir, machines, files, detached, removal: left.removal, exitCode}
    }
    return {outputDir, machines, files, detached, exitCode}
  } finally {
    if (!detached) await flight.destroy()
  }
}

const osSignals = constants.signals as Record<string, number>

function describe(m: Machine, files: ConnectionFiles): SpawnedMachine {
  return {
    id: m.id,
    ip: m.ip,
    sshPort: m.sshPort,
    privateIp: m.privateIp,
    ssh: sshLine(files, m),
    outputDir: m.outputDir,
  }
}

/** The OpenSSH command line that logs in to a machine with the files of writeConnectionFiles (through its jump host, if any). */
export function sshLine(files: ConnectionFiles, m: Pick<Machine, 'id'>): string {
  return `ssh -F ${files.sshConfig} ${m.id}`
}

/** The private key, an ssh_config and an env file, so that people and scripts can log in without kola. */
export async function writeConnectionFiles(
  dir: string,
  identity: SshIdentity,
  machines: readonly Pick<Machine, 'id' | 'ip' | 'sshPort' | 'privateIp' | 'jump'>[],
): Promise<ConnectionFiles> {
  const key = join(dir, 'id_ed25519')
  const sshConfig = join(dir, 'ssh_config')
  const env = join(dir, 'machines.env')
  await writeFile(key, identity.privateKey, {mode: 0o600})
  await chmod(key, 0o600)
  await writeFile(`${key}.pub`, identity.publicKey + '\n')
  // A machine behind a jump host (OpenStack's --openstack-host) is reached through it, as kola reaches it:
  // the jump host gets a block of its own, for its own user and key file.
  const jumps = [...new Set(machines.flatMap((m) => (m.jump ? [m.jump] : [])))]
  const jumpName = (jump: JumpHost): string => `kola-jump${jumps.indexOf(jump)}`
  const hosts = machines.map((m, i) =>
    [
      `Host m${i} ${m.id}`,
      `  HostName ${m.ip}`,
      `  Port ${m.sshPort}`,
      `  User ${identity.user}`,
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      ...(m.jump ? [`  ProxyJump ${jumpName(m.jump)}`] : []),
      // Every machine of the test image has the same host keys, and ports are reused.
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  )
  for (const jump of jumps) {
    hosts.push(
      [
        `Host ${jumpName(jump)}`,
        `  HostName ${jump.host}`,
        `  Port ${jump.port}`,
        `  User ${jump.user}`,
        `  IdentityFile ${jump.keyFile}`,
        '  IdentitiesOnly yes',
        // The user's own host: its key is learnt on first use (into this directory, not the user's files) and must not change after.
        '  StrictHostKeyChecking accept-new',
        `  UserKnownHostsFile ${join(dir, 'jump_known_hosts')}`,
        '',
      ].join('\n'),
    )
  }
  await writeFile(sshConfig, hosts.join('\n'))
  const lines = [
    `KOLA_MACHINES=${machines.map((m) => m.id).join(' ')}`,
    `KOLA_MACHINE_ADDRESSES=${machines.map((m) => `${m.ip}:${m.sshPort}`).join(' ')}`,
    `KOLA_MACHINE_PRIVATE_IPS=${machines.map((m) => m.privateIp).join(' ')}`,
    `KOLA_SSH_KEY=${key}`,
    `KOLA_SSH_USER=${identity.user}`,
    `KOLA_SSH_CONFIG=${sshConfig}`,
    '',
  ]
  await writeFile(env, lines.join('\n'))
  return {key, sshConfig, env}
}

async function readEnvFile(path: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {}
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return vars
}

/** Runs the program with the terminal's stdio; SIGINT/SIGTERM to kola are passed on to it. */
async function runProgram(
  exec: {command: string; args: string[]; env: NodeJS.ProcessEnv},
  vars: Record<string, string>,
  signal: AbortSignal,
): Promise<number> {
  const child = spawn(exec.command, exec.args, {stdio: 'inherit', env: {...exec.env, ...vars}})
  const onAbort = (): void => void child.kill('SIGTERM')
  signal.addEventListener('abort', onAbort, {once: true})
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new UsageError(`cannot run ${exec.command}: ${error.message}`)))
      child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? (osSignals[sig] ?? 1) : 1)))
    })
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

async function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), {once: true}))
}

/** A login shell on the machine, with the terminal in raw mode for the session. */
async function interactiveShell(machine: Machine, terminal: Terminal, signal: AbortSignal): Promise<void> {
  const client = await machine.sshClient()
  const {stdin, stdout, term} = terminal
  const stream = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    client.shell({term, cols: stdout.columns ?? 80, rows: stdout.rows ?? 24}, (error, s) => (error ? reject(error) : resolve(s))),
  )
  const raw = stdin.isTTY
  if (raw) stdin.setRawMode(true)
  const onResize = (): void => stream.setWindow(stdout.rows ?? 24, stdout.columns ?? 80, 0, 0)
  stdout.on('resize', onResize)
  stdin.pipe(stream)
  stream.pipe(stdout, {end: false})
  stream.stderr.pipe(stdout, {end: false})
  try {
    await new Promise<void>((resolve) => {
      stream.once('close', () => resolve())
      signal.addEventListener('abort', () => resolve(), {once: true})
    })
  } finally {
    stdin.unpipe(stream)
    stdout.off('resize', onResize)
    if (raw) stdin.setRawMode(false)
    stdin.pause()
  }
}
