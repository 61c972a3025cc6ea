import type {Duplex} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {InfraError, UsageError} from '@mantle/kit/errors'

import {apiMessage, type EngineApi} from './api.js'

/** What a terminal offers to a TTY exec: its size, and a way to hear about changes. */
export interface Terminal {
  size(): {rows: number; columns: number} | undefined
  onResize(listener: () => void): () => void
  /** Raw mode on the local terminal, so that Ctrl-C and friends reach the process inside. */
  setRaw(raw: boolean): void
}

export interface Writer {
  write(chunk: Buffer): boolean
  once(event: 'drain', listener: () => void): unknown
}

export interface ExecOptions {
  container: string
  cmd: string[]
  user?: string | undefined
  env?: string[] | undefined
  workdir?: string | undefined
  /** A TTY merges stdout and stderr, as a terminal does. */
  tty: boolean
  /** Attached when given: what the process reads. */
  stdin?: NodeJS.ReadableStream | undefined
  stdout: Writer
  stderr: Writer
  terminal?: Terminal | undefined
  signal?: AbortSignal | undefined
  /** Called once the process runs: from here on, running it again is not safe. */
  onStarted?: () => void
}

/**
 * Runs a process in a running container and returns its exit code: stdout
 * and stderr stream separately (or as one TTY stream), stdin is forwarded when
 * given, the TTY follows the local terminal's size. A stopped container is
 * started first.
 */
export async function execInContainer(api: EngineApi, options: ExecOptions): Promise<number> {
  const created = createExec(api, options)
  // The exec's stream connects while the engine creates the exec.
  api.prepare()
  const id = await created
  const {stream, head} = await api.hijack(`/exec/${id}/start`, {Detach: false, Tty: options.tty}, options.signal)
  options.onStarted?.()
  // The connection that reads the exit code opens while the process runs (used only if it ends soon).
  api.prepare()
  const cleanups: Array<() => void> = []
  try {
    if (options.tty && options.terminal) cleanups.push(await followTerminal(api, id, options.terminal))
    if (options.stdin) cleanups.push(forwardStdin(options.stdin, stream))
    await pump(stream, head, options)
  } finally {
    for (const c of cleanups.reverse()) c()
  }
  return exitCode(api, id, options.signal)
}

async function createExec(api: EngineApi, options: ExecOptions): Promise<string> {
  const config = {
    User: options.user ?? '',
    Env: options.env ?? [],
    WorkingDir: options.workdir ?? '',
    Cmd: options.cmd,
    Tty: options.tty,
    AttachStdin: Boolean(options.stdin),
    AttachStdout: true,
    AttachStderr: true,
  }
  const path = `/containers/${encodeURIComponent(options.container)}/exec`
  let r = await api.request<{Id?: string}>('POST', path, config, options.signal)
  if (notRunning(r.status, r.body)) {
    // Not running (stopped after a reboot, say): start it and try once more.
    const started = await api.request('POST', `/containers/${encodeURIComponent(options.container)}/start`, undefined, options.signal)
    if (started.status !== 204 && started.status !== 304) {
      throw new InfraError(`cannot start container ${options.container}: ${apiMessage(started.body)}`)
    }
    r = await api.request<{Id?: string}>('POST', path, config, options.signal)
  }
  if (r.status === 404)
    throw new UsageError(`no SDK container ${options.container} at ${api.endpoint.url}`, {hint: 'run cork create first'})
  if (r.status !== 201 || !r.body.Id) throw new InfraError(`cannot run a process in ${options.container}: ${apiMessage(r.body)}`)
  return r.body.Id
}

/** Docker says 409; Podman says 500 "container state improper". */
function notRunning(status: number, body: unknown): boolean {
  return status === 409 || (status === 500 && /state improper|is not running/i.test(apiMessage(body)))
}

/**
 * Copies the engine's stream to stdout/stderr until the process ends. Without a
 * TTY the stream is multiplexed: 8-byte headers (stream, 0, 0, 0, uint32 size).
 * Plain listeners rather than the stream's async iterator, which costs ~1 ms to
 * set up on every `cork enter`; a full stdout or stderr pauses the stream until
 * it drains.
 */
function pump(stream: Duplex, head: Buffer, options: ExecOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0)
    // Outputs that are full, each with one drain listener (one per write would pile up: Node warns past ten).
    const full = new Set<Writer>()
    const write = (target: Writer, chunk: Buffer): void => {
      if (target.write(chunk) || full.has(target)) return
      full.add(target)
      stream.pause()
      target.once('drain', () => {
        full.delete(target)
        if (full.size === 0) stream.resume()
      })
    }
    const onData = (chunk: Buffer): void => {
      if (options.tty) return write(options.stdout, chunk)
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4)
        if (pending.length < 8 + size) break
        write(pending[0] === 2 ? options.stderr : options.stdout, pending.subarray(8, 8 + size))
        pending = pending.subarray(8 + size)
      }
    }
    const finish = (error?: Error): void => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
      if (!error) return resolve()
      if (options.signal?.aborted) return reject(options.signal.reason)
      reject(new InfraError(`the connection to the engine broke while the process ran: ${error.message}`, {cause: error}))
    }
    const onEnd = (): void => finish()
    const onError = (error: Error): void => finish(error)
    const onClose = (): void => finish(Object.assign(new Error('premature close'), {code: 'ERR_STREAM_PREMATURE_CLOSE'}))
    const onAbort = (): void => {
      stream.destroy(options.signal?.reason as Error)
    }
    options.signal?.addEventListener('abort', onAbort, {once: true})
    if (head.length > 0) onData(head)
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
    stream.once('close', onClose)
    if (full.size === 0) stream.resume()
  })
}

function forwardStdin(stdin: NodeJS.ReadableStream, stream: Duplex): () => void {
  const onData = (chunk: Buffer | string): void => {
    if (!stream.write(chunk)) {
      stdin.pause()
      stream.once('drain', () => stdin.resume())
    }
  }
  // End of input closes the process's stdin (a half-close the engines understand).
  const onEnd = (): void => {
    stream.end()
  }
  stdin.on('data', onData)
  stdin.once('end', onEnd)
  stdin.resume()
  return () => {
    stdin.off('data', onData)
    stdin.off('end', onEnd)
    stdin.pause()
  }
}

/** How long after a resize another one counts as part of the same burst. */
const SETTLE_MS = 300

/**
 * Raw mode, the local size inside, and every later resize. Resolves once the
 * first size is set: input is forwarded only then, so that nothing typed runs
 * on a terminal of size 0x0 (Podman starts exec terminals that way).
 */
async function followTerminal(api: EngineApi, id: string, terminal: Terminal): Promise<() => void> {
  terminal.setRaw(true)
  const resize = async (): Promise<void> => {
    const size = terminal.size()
    if (!size || size.rows <= 0 || size.columns <= 0) return
    // A resize can race the process start: the engine refuses it until the process runs.
    const until = Date.now() + 5000
    for (let attempt = 1; ; attempt++) {
      const r = await api.request('POST', `/exec/${id}/resize?h=${size.rows}&w=${size.columns}`).catch(() => undefined)
      if ((r && r.status >= 200 && r.status < 300) || Date.now() > until) return
      await sleep(Math.min(100, 10 * attempt))
    }
  }
  await resize()
  let lastSent = Date.now()
  // One resize at a time, always of the latest size: stty or a window manager can change rows and
  // columns in two quick steps, and two requests in flight may reach the engine out of order.
  let inFlight = false
  let again = false
  let settle: NodeJS.Timeout | undefined
  const follow = async (trailing = false): Promise<void> => {
    if (inFlight) {
      again = true
      return
    }
    inFlight = true
    try {
      do {
        again = false
        const burst = Date.now() - lastSent < SETTLE_MS
        await resize()
        lastSent = Date.now()
        // Podman's conmon reads resize messages from a pipe and, when two arrive in one read,
        // applies the first twice (ctrl_cb parses from the buffer's start; seen in CI: the inside stayed
        // 50x111 after a local 50x120): the last resize of a burst is sent once more after a pause, alone in its read.
        if (burst && !trailing) {
          clearTimeout(settle)
          settle = setTimeout(() => void follow(true), SETTLE_MS).unref()
        }
        trailing = false
      } while (again)
    } finally {
      inFlight = false
    }
  }
  const off = terminal.onResize(() => void follow())
  return () => {
    off()
    clearTimeout(settle)
    terminal.setRaw(false)
  }
}

async function exitCode(api: EngineApi, id: string, signal?: AbortSignal): Promise<number> {
  // The stream can end a moment before the engine records the exit.
  const until = Date.now() + 30_000
  for (let attempt = 1; ; attempt++) {
    const r = await api.request<{Running?: boolean; ExitCode?: number | null}>('GET', `/exec/${id}/json`, undefined, signal)
    if (r.status !== 200) throw new InfraError(`cannot read the exit code of the process: ${apiMessage(r.body)}`)
    if (!r.body.Running && typeof r.body.ExitCode === 'number') return r.body.ExitCode
    if (Date.now() > until) throw new InfraError('the process still runs 30 s after its output ended')
    await sleep(Math.min(50, 2 * attempt))
  }
}
