import type Docker from 'dockerode'

import {InfraError} from '@mantle/kit/errors'

import {API_VERSION} from './api.js'
import {engineUnreachable, isUnreachable, type Endpoint} from './endpoint.js'

/**
 * dockerode, connected to the endpoint and checked with a ping, so that "no
 * engine" is one clear error before any work starts. Imported lazily: it is
 * heavy, and `--help` must stay fast.
 */
export async function connectDocker(endpoint: Endpoint, signal?: AbortSignal): Promise<Docker> {
  signal?.throwIfAborted()
  const {default: Dockerode} = await import('dockerode')
  const docker =
    endpoint.kind === 'unix'
      ? new Dockerode({socketPath: endpoint.socketPath, version: API_VERSION})
      : new Dockerode({
          host: endpoint.host,
          port: endpoint.port,
          protocol: endpoint.tls ? 'https' : 'http',
          version: API_VERSION,
          ...(endpoint.tls ?? {}),
        })
  try {
    await docker.ping()
  } catch (error) {
    throw engineError(endpoint, error, 'ping')
  }
  return docker
}

/** dockerode's failures as the kit's errors: unreachable engine or refused call, both exit 3. */
export function engineError(endpoint: Endpoint, error: unknown, what: string): Error {
  if (isUnreachable(error)) return engineUnreachable(endpoint, error)
  const e = error as {statusCode?: number; json?: {message?: string} | null; reason?: string; message?: string}
  const detail = e.json?.message ?? e.reason ?? e.message ?? String(error)
  return new InfraError(`the engine at ${endpoint.url} failed to ${what}: ${e.statusCode ? `${e.statusCode} ` : ''}${detail}`, {
    cause: error,
  })
}

export function statusOf(error: unknown): number | undefined {
  return (error as {statusCode?: number})?.statusCode
}
