import {connect as netConnect, type Socket} from 'node:net'
import type {Duplex} from 'node:stream'

import {InfraError} from '@mantle/kit/errors'
import {type HttpHead, takeHttpHead} from '@mantle/kit/http-head'

import {engineUnreachable, isUnreachable, type Endpoint} from './endpoint.js'

/**
 * The few Engine API calls on the path of `cork enter` (exec create, start,
 * resize, inspect; container start), as plain HTTP/1.1 over one socket per
 * call. `enter -- <command>` is what build scripts run hundreds of times, and
 * its budget is the time of `docker exec`: measured here, importing dockerode
 * costs ~100 ms and node:http's first request ~10 ms, against ~45 ms for the
 * exec itself. Docker Engine and Podman's compatible service both answer
 * these paths; everything else goes through dockerode.
 */
export const API_VERSION = 'v1.41'

export interface ApiResponse<T> {
  status: number
  body: T
}

const ignoreError = (): void => {}

/** Closes a prepared connection once it is open (or forgets it, if it never opened). */
const discard = (spare: Promise<Socket>): void => {
  spare.then(
    (socket) => socket.destroy(),
    () => undefined,
  )
}

/** How long a connection opened ahead (prepare) may wait for its call. */
export const SPARE_MAX_AGE_MS = 1000

export class EngineApi {
  constructor(readonly endpoint: Endpoint) {}

  /** A JSON call. Non-2xx answers are returned, not thrown: callers decide what a 404 or 409 means. */
  async request<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse<T>> {
    const socket = await this.open(signal)
    try {
      const head = await this.send(socket, method, path, body, {Connection: 'close'})
      const raw = await readBody(socket, head)
      const text = (head.headers.get('transfer-encoding')?.includes('chunked') ? dechunk(raw) : raw).toString('utf8')
      let parsed: unknown = text
      if (text && head.headers.get('content-type')?.includes('json')) {
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = text
        }
      }
      return {status: head.status, body: parsed as T}
    } catch (error) {
      throw this.failure(error, `${method} ${path}`)
    } finally {
      // After the caller's next request is on its way: Node builds process.stderr the first
      // time a socket is destroyed (net's Socket._destroy compares against it), ~0.3 ms that
      // `cork enter` would otherwise spend between creating the exec and starting it.
      setImmediate(() => socket.destroy())
    }
  }

  /**
   * A call that turns the connection into the process's raw stream (exec
   * start). Docker answers 101 Switching Protocols; Podman answers 200 and
   * streams on the same connection. Either way the socket is handed over.
   */
  async hijack(path: string, body: unknown, signal?: AbortSignal): Promise<{stream: Duplex; head: Buffer}> {
    const socket = await this.open(signal)
    let head: HttpHead
    try {
      head = await this.send(socket, 'POST', path, body, {Connection: 'Upgrade', Upgrade: 'tcp'})
    } catch (error) {
      socket.destroy()
      throw this.failure(error, `POST ${path}`)
    }
    if (head.status !== 101 && head.status !== 200) {
      const text = (await readBody(socket, head).catch(() => head.rest)).toString('utf8')
      socket.destroy()
      throw new InfraError(`the engine at ${this.endpoint.url} refused POST ${path}: ${head.status} ${apiMessage(text)}`)
    }
    return {stream: socket, head: head.rest}
  }

  /** A connection opened ahead of the next call (prepare), and when. */
  private spare: Promise<Socket> | undefined
  private spareSince = 0

  /**
   * Starts connecting for the next call now, so that the connect overlaps what
   * the caller does meanwhile: `cork enter` reads the checkout while its first
   * connection opens, opens the exec's stream while the exec is created, and
   * the connection that reads the exit code while the process runs. A failure
   * surfaces at that next call. A connection left idle longer than
   * SPARE_MAX_AGE_MS is not used: an engine may close idle connections (Podman's
   * service does), and a request written as it closes one would be lost.
   */
  prepare(): void {
    if (this.spare) return
    // While it waits, an error on the idle connection is for the call that takes it to meet.
    const spare = this.connect().then((socket) => socket.on('error', ignoreError))
    spare.catch(() => undefined)
    this.spare = spare
    this.spareSince = Date.now()
  }

  /** Closes a connection prepared and never used; each call closes its own. */
  close(): void {
    if (this.spare) discard(this.spare)
    this.spare = undefined
  }

  private async open(signal?: AbortSignal): Promise<Socket> {
    signal?.throwIfAborted()
    const socket = (await this.takeSpare()) ?? (await this.connect(signal))
    if (signal) {
      const onAbort = (): void => {
        socket.destroy(signal.reason as Error)
      }
      if (signal.aborted) onAbort()
      signal.addEventListener('abort', onAbort, {once: true})
      socket.once('close', () => signal.removeEventListener('abort', onAbort))
    }
    return socket
  }

  /** The prepared connection, if it is fresh and the engine has not closed it; otherwise it is closed. */
  private async takeSpare(): Promise<Socket | undefined> {
    const spare = this.spare
    if (!spare) return undefined
    this.spare = undefined
    const socket = Date.now() - this.spareSince <= SPARE_MAX_AGE_MS ? await spare : undefined
    if (socket && !socket.destroyed && !socket.readableEnded) return socket.off('error', ignoreError)
    discard(spare)
    return undefined
  }

  private async connect(signal?: AbortSignal): Promise<Socket> {
    const endpoint = this.endpoint
    let socket: Socket
    if (endpoint.kind === 'unix') {
      socket = netConnect({path: endpoint.socketPath})
    } else if (endpoint.tls) {
      // TLS only for a tcp endpoint that asks for it: node:tls stays unloaded otherwise.
      const {connect} = await import('node:tls')
      socket = connect({host: endpoint.host, port: endpoint.port, ...endpoint.tls, servername: endpoint.host})
    } else {
      socket = netConnect({host: endpoint.host, port: endpoint.port})
    }
    const onAbort = (): void => {
      socket.destroy(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once(endpoint.kind === 'tcp' && endpoint.tls ? 'secureConnect' : 'connect', () => {
          socket.off('error', reject)
          resolve()
        })
        socket.once('error', (error) => reject(isUnreachable(error) ? engineUnreachable(endpoint, error) : error))
      })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
    return socket
  }

  /** Writes a request and reads the response's status line and headers. */
  private send(socket: Socket, method: string, path: string, body: unknown, extra: Record<string, string>): Promise<HttpHead> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const lines = [`${method} /${API_VERSION}${path} HTTP/1.1`, 'Host: docker', 'User-Agent: cork']
    if (data) lines.push('Content-Type: application/json', `Content-Length: ${data.length}`)
    else if (method !== 'GET') lines.push('Content-Length: 0')
    for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`)
    const request = Buffer.from(lines.join('\r\n') + '\r\n\r\n')
    return new Promise((resolve, reject) => {
      let buffered: Buffer = Buffer.alloc(0)
      const cleanup = (): void => {
        socket.off('data', onData)
        socket.off('error', onError)
        socket.off('end', onEnd)
      }
      const onError = (error: Error): void => {
        cleanup()
        reject(error)
      }
      const onEnd = (): void => {
        cleanup()
        reject(Object.assign(new Error('the engine closed the connection before answering'), {code: 'ECONNRESET'}))
      }
      const onData = (chunk: Buffer): void => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
        let head: HttpHead | undefined
        try {
          head = takeHttpHead(buffered)
        } catch (error) {
          return onError(error as Error)
        }
        if (!head) return
        cleanup()
        // Whoever reads next (a body, or the process's stream) takes over a paused socket.
        socket.pause()
        resolve(head)
      }
      socket.on('data', onData)
      socket.once('error', onError)
      socket.once('end', onEnd)
      socket.write(data ? Buffer.concat([request, data]) : request)
    })
  }

  private failure(error: unknown, what: string): Error {
    if (isUnreachable(error)) return engineUnreachable(this.endpoint, error)
    if (error instanceof InfraError || (error as Error)?.name === 'AbortError' || (error as {exitCode?: number})?.exitCode !== undefined)
      return error as Error
    return new InfraError(`the engine at ${this.endpoint.url} failed on ${what}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    })
  }
}

/**
 * The body of a response: its Content-Length's worth, or without one, all up
 * to the engine's close. The caller closes the connection either way; waiting
 * for the engine's own close after a complete body cost ~0.5 ms per call.
 * Plain listeners: a stream's async iterator costs ~1 ms to set up.
 */
function readBody(socket: Socket, head: HttpHead): Promise<Buffer> {
  const length = Number(head.headers.get('content-length') ?? NaN)
  const first = head.rest
  return new Promise((resolve, reject) => {
    if (first.length >= length) return resolve(first.subarray(0, length))
    const chunks = first.length > 0 ? [first] : []
    let received = first.length
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      received += chunk.length
      if (received >= length) resolve(Buffer.concat(chunks).subarray(0, length))
    })
    socket.once('end', () => resolve(Buffer.concat(chunks)))
    socket.once('error', reject)
    socket.once('close', () => reject(Object.assign(new Error('the engine closed the connection mid-answer'), {code: 'ECONNRESET'})))
    socket.resume()
  })
}

/** Decodes `Transfer-Encoding: chunked`. */
export function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16)
    if (!Number.isFinite(size) || size === 0) break
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}

/** The `message` of an engine's JSON error body, or the body itself. */
export function apiMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as {message?: unknown}).message === 'string')
    return (body as {message: string}).message
  if (typeof body === 'string') {
    try {
      return apiMessage(JSON.parse(body))
    } catch {
      return body.trim()
    }
  }
  return JSON.stringify(body)
}
