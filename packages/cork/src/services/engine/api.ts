import type {Duplex} from 'node:stream'
import http from 'node:http'
import https from 'node:https'

import {InfraError} from '@mantle/kit/errors'

import {engineUnreachable, isUnreachable, type Endpoint} from './endpoint.js'

/**
 * The few Engine API calls on the path of `cork enter`, over node:http.
 * dockerode (used for images and containers) costs ~100 ms to import, more
 * than the exec itself; `enter` is what build scripts call hundreds of times.
 * Docker Engine and Podman's compatible service both answer these paths.
 */
export const API_VERSION = 'v1.41'

export interface ApiResponse<T> {
  status: number
  body: T
}

export class EngineApi {
  private readonly agent: http.Agent

  constructor(readonly endpoint: Endpoint) {
    this.agent = endpoint.kind === 'tcp' && endpoint.tls ? new https.Agent({keepAlive: true, ...endpoint.tls}) : new http.Agent({keepAlive: true})
  }

  /** A JSON call. Non-2xx answers are returned, not thrown: callers decide what a 404 or 409 means. */
  async request<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse<T>> {
    const {response} = await this.send(method, path, body, {signal})
    if (!response) throw new InfraError(`the engine at ${this.endpoint.url} switched protocols on ${method} ${path}`)
    const chunks: Buffer[] = []
    for await (const chunk of response) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let parsed: unknown = text
    if (text && /json/.test(response.headers['content-type'] ?? '')) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    }
    return {status: response.statusCode ?? 0, body: parsed as T}
  }

  /**
   * A call that turns the connection into a raw stream (exec start with a
   * stdin). Docker answers 101; an engine that answers 200 and streams on the
   * same connection works too.
   */
  async hijack(path: string, body: unknown, signal?: AbortSignal): Promise<{stream: Duplex; head: Buffer}> {
    const {response, upgraded} = await this.send('POST', path, body, {signal, upgrade: true})
    if (upgraded) return upgraded
    const status = response!.statusCode ?? 0
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = []
      for await (const chunk of response!) chunks.push(chunk as Buffer)
      throw new InfraError(`the engine at ${this.endpoint.url} refused POST ${path}: ${status} ${apiMessage(Buffer.concat(chunks).toString('utf8'))}`)
    }
    return {stream: response!.socket as Duplex, head: Buffer.alloc(0)}
  }

  close(): void {
    this.agent.destroy()
  }

  private send(
    method: string,
    path: string,
    body: unknown,
    options: {signal?: AbortSignal | undefined; upgrade?: boolean},
  ): Promise<{response?: http.IncomingMessage; upgraded?: {stream: Duplex; head: Buffer}}> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers: http.OutgoingHttpHeaders = {Host: 'docker'}
    if (data) {
      headers['Content-Type'] = 'application/json'
      headers['Content-Length'] = data.length
    }
    if (options.upgrade) {
      headers.Connection = 'Upgrade'
      headers.Upgrade = 'tcp'
    }
    const target =
      this.endpoint.kind === 'unix' ? {socketPath: this.endpoint.socketPath} : {host: this.endpoint.host, port: this.endpoint.port}
    const lib = this.endpoint.kind === 'tcp' && this.endpoint.tls ? https : http
    return new Promise((resolve, reject) => {
      const req = lib.request({
        ...target,
        method,
        path: `/${API_VERSION}${path}`,
        headers,
        // An upgraded connection leaves the pool for good.
        agent: options.upgrade ? false : this.agent,
        signal: options.signal,
      })
      req.on('upgrade', (_res, socket, head) => resolve({upgraded: {stream: socket, head}}))
      req.on('response', (response) => resolve({response}))
      req.on('error', (error) => reject(isUnreachable(error) ? engineUnreachable(this.endpoint, error) : error))
      req.end(data)
    })
  }
}

/** The `message` of an engine's JSON error body, or the body itself. */
export function apiMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as {message?: unknown}).message === 'string') return (body as {message: string}).message
  if (typeof body === 'string') {
    try {
      return apiMessage(JSON.parse(body))
    } catch {
      return body.trim()
    }
  }
  return JSON.stringify(body)
}
