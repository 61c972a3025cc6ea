import {readFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import {InfraError, type Logger, UsageError} from '@mantle/kit'
import type {Client, ClientChannel, ConnectConfig} from 'ssh2'

export interface SshIdentity {
  user: string
  /** OpenSSH private key text. */
  privateKey: string
  /** `ssh-ed25519 AAAA... comment`, for authorized_keys. */
  publicKey: string
}

export interface SshResult {
  stdout: string
  stderr: string
  /** Exit status; -1 when the command died of a signal. */
  code: number
}

export interface ExecOptions {
  signal?: AbortSignal | undefined
  stdin?: string | Buffer | undefined
}

/**
 * Keepalives of every SSH connection (machines and jump hosts): an emulated machine sharing two
 * cores with others can stall for tens of seconds and then answer, so a connection is given up
 * only after two silent minutes.
 */
const KEEPALIVE = {keepaliveInterval: 10_000, keepaliveCountMax: 12} as const

/** A new ed25519 key pair, generated in process (no ssh-keygen needed). */
export async function generateIdentity(user = 'core', comment = 'kola'): Promise<SshIdentity> {
  const {utils} = await loadSsh2()
  // ssh2 drops a leading zero byte of the ed25519 public key it writes (1 pair in 256): such a
  // key parses nowhere, and every login of the run would fail until --ssh-timeout. Made again.
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', {comment})
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error))
      return {user, privateKey: pair.private, publicKey: pair.public}
  }
}

/** A host SSH goes through to reach the machines (an OpenSSH ProxyJump): its own user and key. */
export interface JumpHost {
  host: string
  port: number
  user: string
  /** OpenSSH private key text. */
  privateKey: string
  /** The file it was read from: what an ssh_config names (the key itself is never copied). */
  keyFile: string
}

export interface ConnectOptions {
  host: string
  port: number
  identity: SshIdentity
  /** Reach host:port through this host's TCP forwarding (direct-tcpip) instead of connecting to it. */
  jump?: JumpHost | undefined
  /** Keep retrying the handshake until this time (ms since the epoch). */
  deadline: number
  signal?: AbortSignal | undefined
  logger?: Logger | undefined
  /** Checked between attempts: a reason to give up early (e.g. the VM exited). */
  gone?: () => string | undefined
  /** The time one handshake may take once sshd answered. Default 30 s. */
  attemptTimeoutMs?: number
}

/**
 * One SSH connection to a machine, in process (ssh2). Commands run on
 * channels of the same connection, so each costs a round trip, not a handshake.
 */
export class SshConnection {
  private closed = false

  private constructor(
    readonly client: Client,
    readonly target: string,
    /** The connection to the jump host this one runs through, closed with it. */
    private readonly via?: Client | undefined,
  ) {
    client.on('close', () => this.close())
    client.on('error', () => this.close())
    via?.on('close', () => this.close())
  }

  get isOpen(): boolean {
    return !this.closed
  }

  /**
   * Connects, retrying the handshake until the deadline: while a machine
   * boots, its forwarded port accepts and then resets or stalls.
   */
  static async connect(options: ConnectOptions): Promise<SshConnection> {
    const {Client} = await loadSsh2()
    const {jump} = options
    const target = `${options.identity.user}@${options.host}:${options.port}${jump ? ` via ${jump.user}@${jump.host}:${jump.port}` : ''}`
    let lastError: unknown
    // One connection to the jump host for every attempt (and then for the machine's connection).
    let via: Client | undefined
    let viaOpen = false
    const dropVia = (): void => {
      via?.end()
      via = undefined
    }
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw (dropVia(), options.signal.reason)
      const gone = options.gone?.()
      if (gone) throw (dropVia(), new InfraError(`ssh ${target}: ${gone}`))
      const left = options.deadline - Date.now()
      if (left <= 0) break
      if (jump && !viaOpen) {
        dropVia()
        try {
          const opened = await connectJump(jump, Math.max(1000, left), options.signal)
          viaOpen = true
          opened.on('close', () => (viaOpen = false))
          via = opened
        } catch (error) {
          if (options.signal?.aborted) throw options.signal.reason
          // A jump host that refuses the key will not accept it later.
          if (error instanceof Error && /authentication methods failed/i.test(error.message))
            throw new InfraError(`ssh jump host ${jump.user}@${jump.host}:${jump.port} refused its key`)
          lastError = new Error(`jump host ${jump.host}:${jump.port}: ${error instanceof Error ? error.message : String(error)}`)
          await sleep(500, undefined, options.signal ? {signal: options.signal} : undefined).catch(() => undefined)
          continue
        }
      }
      // Probing for the banner first is cheap and quick to repeat; a handshake
      // started before sshd listens would wait on the user network's TCP retries.
      if (!(await bannerAnswers(options.host, options.port, options.signal, via))) {
        lastError = new Error('no SSH banner yet')
        await sleep(200, undefined, options.signal ? {signal: options.signal} : undefined).catch(() => undefined)
        continue
      }
      const client = new Client()
      // A failed attempt may report more errors after the first: they are expected.
      client.on('error', () => undefined)
      try {
        const sock = via ? await forwardOut(via, options.host, options.port) : undefined
        await handshake(
          client,
          {
            ...(sock ? {sock} : {host: options.host, port: options.port}),
            username: options.identity.user,
            privateKey: options.identity.privateKey,
            // sshd answered: the handshake itself may be slow on an emulated CPU.
            readyTimeout: Math.min(options.attemptTimeoutMs ?? 30_000, Math.max(1000, left)),
            ...KEEPALIVE,
          },
          options.signal,
        )
        options.logger?.debug(`ssh ${target}: connected after ${attempt} attempt(s)`)
        return new SshConnection(client, target, via)
      } catch (error) {
        client.end()
        client.destroy()
        if (options.signal?.aborted) throw (dropVia(), options.signal.reason)
        lastError = error
        await sleep(250, undefined, options.signal ? {signal: options.signal} : undefined).catch(() => undefined)
      }
    }
    dropVia()
    const why = lastError instanceof Error ? lastError.message : String(lastError)
    throw new InfraError(`ssh ${target}: no SSH connection before the deadline (last error: ${why})`, {
      hint: 'the machine did not come up; look at its console.txt, or raise --ssh-timeout',
    })
  }

  /** Runs a command and collects its output. */
  async exec(command: string, options: ExecOptions = {}): Promise<SshResult> {
    const channel = await this.open(command)
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    channel.on('data', (d: Buffer) => stdout.push(d))
    channel.stderr.on('data', (d: Buffer) => stderr.push(d))
    const onAbort = (): void => {
      channel.close()
    }
    options.signal?.addEventListener('abort', onAbort, {once: true})
    try {
      const code = await new Promise<number>((resolve, reject) => {
        let status: number | undefined
        channel.on('exit', (c: number | null) => (status = c ?? -1))
        channel.on('close', () => (options.signal?.aborted ? reject(options.signal.reason) : resolve(status ?? -1)))
        channel.on('error', reject)
        if (options.stdin !== undefined) channel.end(options.stdin)
        else channel.end()
      })
      return {stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code}
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** A channel running the command, for streaming (the journal) or interactive use. */
  async open(command: string, pty = false): Promise<ClientChannel> {
    if (this.closed) throw new InfraError(`ssh ${this.target}: connection closed`)
    return new Promise((resolve, reject) => {
      this.client.exec(command, pty ? {pty: true} : {}, (error, channel) =>
        error ? reject(new InfraError(`ssh ${this.target}: ${error.message}`)) : resolve(channel),
      )
    })
  }

  close(): void {
    this.closed = true
    this.client.end()
    this.via?.end()
  }
}

/**
 * The jump host of `host[:port]` (default port 22, as flatcar/mantle network/jump.go), a user and a private key
 * file: a key that cannot be read or is no unencrypted private key is a usage error naming `keyFlag`.
 */
export async function jumpHostFrom(address: string, user: string, keyFile: string, keyFlag: string): Promise<JumpHost> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(address)
  const port = Number(m?.[3] ?? 22)
  if (!m || port < 1 || port > 65535) throw new UsageError(`jump host ${JSON.stringify(address)} is not host or host:port`)
  const text = await readFile(keyFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`${keyFlag} ${keyFile}: cannot read it (${e.code ?? e.message})`)
  })
  const {utils} = await loadSsh2()
  const key = utils.parseKey(text)
  const problem = key instanceof Error ? key.message : key.isPrivateKey() ? undefined : 'a public key, not a private one'
  if (problem) throw new UsageError(`${keyFlag} ${keyFile}: not a usable private key (${problem.replace(/\.$/, '')})`)
  return {host: (m[1] ?? m[2]) as string, port, user, privateKey: text, keyFile}
}

/** Logs in to the jump host once, as the flight starts (flatcar/mantle dials it in NewFlight): a refused key is bad input, no answer exit 3. */
export async function checkJumpHost(jump: JumpHost, keyFlag: string, signal?: AbortSignal): Promise<void> {
  try {
    const client = await connectJump(jump, 30_000, signal)
    client.end()
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    if (/authentication methods failed/i.test(why))
      throw new UsageError(`jump host ${jump.user}@${jump.host}:${jump.port} refused the key of ${keyFlag}`)
    throw new InfraError(`jump host ${jump.user}@${jump.host}:${jump.port}: ${why}`)
  }
}

/** Logs in to the jump host with its own user and key. */
async function connectJump(jump: JumpHost, timeoutMs: number, signal: AbortSignal | undefined): Promise<Client> {
  const {Client} = await loadSsh2()
  const client = new Client()
  client.on('error', () => undefined)
  try {
    await handshake(
      client,
      {
        host: jump.host,
        port: jump.port,
        username: jump.user,
        privateKey: jump.privateKey,
        readyTimeout: Math.min(30_000, timeoutMs),
        ...KEEPALIVE,
      },
      signal,
    )
    return client
  } catch (error) {
    client.destroy()
    throw error
  }
}

/** A channel to host:port opened by the jump host (direct-tcpip), a socket for ssh2. */
function forwardOut(via: Client, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    via.forwardOut('127.0.0.1', 0, host, port, (error, channel) => (error ? reject(error) : resolve(channel))),
  )
}

/** True when something sends an SSH banner on the port within a short wait (through the jump host, if any). */
async function bannerAnswers(host: string, port: number, signal: AbortSignal | undefined, via?: Client): Promise<boolean> {
  let socket: {destroy(): void} & NodeJS.EventEmitter
  try {
    socket = via ? await forwardOut(via, host, port) : connect(port, host)
  } catch {
    return false
  }
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', abort)
      socket.destroy()
      resolve(ok)
    }
    const abort = (): void => done(false)
    signal?.addEventListener('abort', abort, {once: true})
    const timer = setTimeout(() => done(false), 1500)
    socket.once('data', (d: Buffer) => done(d.subarray(0, 4).toString() === 'SSH-'))
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

/** ssh2 is CommonJS: its exports are on the default export under ESM. */
async function loadSsh2(): Promise<typeof import('ssh2')> {
  const mod = (await import('ssh2')) as typeof import('ssh2') & {default?: typeof import('ssh2')}
  return mod.default ?? mod
}

function handshake(client: Client, config: ConnectConfig, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      client.destroy()
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    const done = (error?: Error): void => {
      signal?.removeEventListener('abort', onAbort)
      client.removeAllListeners('ready')
      if (error) reject(error)
      else resolve()
    }
    client.once('ready', () => done())
    client.once('error', (e: Error) => done(e))
    client.once('close', () => done(new Error('connection closed during handshake')))
    client.connect(config)
  })
}

/**
 * Reboots the machine over `current` and returns a connection to its next
 * boot: one whose boot_id differs (right after the command, sshd of the old
 * boot may still answer).
 */
export async function rebootOver(current: SshConnection, reconnect: () => Promise<SshConnection>): Promise<SshConnection> {
  const before = (await current.exec('cat /proc/sys/kernel/random/boot_id')).stdout.trim()
  // The connection drops while the command runs: its result does not matter.
  await current.exec('sudo systemctl reboot', {signal: AbortSignal.timeout(10_000)}).catch(() => undefined)
  current.close()
  for (;;) {
    const connection = await reconnect()
    const after = (await connection.exec('cat /proc/sys/kernel/random/boot_id')).stdout.trim()
    if (after && after !== before) return connection
    connection.close()
    await sleep(500)
  }
}
