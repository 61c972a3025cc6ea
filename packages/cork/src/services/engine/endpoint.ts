import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {InfraError, UsageError} from '@mantle/kit/errors'

/**
 * Where the container engine listens: Docker Engine or Podman's
 * Docker-compatible service, on a unix socket or TCP. Parsed once from
 * `--docker-host` or `DOCKER_HOST`, then handed to both API clients.
 */
export type Endpoint =
  | {kind: 'unix'; socketPath: string; url: string}
  | {kind: 'tcp'; host: string; port: number; tls?: {ca: Buffer; cert: Buffer; key: Buffer} | undefined; url: string}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'

export interface EndpointOptions {
  /** `--docker-host`; wins over the environment. */
  dockerHost?: string | undefined
  /** `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` are read from here, never from process.env. */
  env: NodeJS.ProcessEnv
  home: string
}

export function resolveEndpoint(options: EndpointOptions): Endpoint {
  const url = options.dockerHost || options.env.DOCKER_HOST || DEFAULT_DOCKER_HOST
  if (url.startsWith('unix://')) {
    const socketPath = url.slice('unix://'.length)
    if (!socketPath.startsWith('/')) throw new UsageError(`invalid docker host ${url}: the socket path must be absolute`)
    return {kind: 'unix', socketPath, url}
  }
  if (url.startsWith('/')) return {kind: 'unix', socketPath: url, url: `unix://${url}`}
  const m = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(url)
  if (m) {
    const tlsWanted = m[1] === 'https' || Boolean(options.env.DOCKER_TLS_VERIFY)
    return {kind: 'tcp', host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]), tls: tlsWanted ? readTls(options) : undefined, url}
  }
  throw new UsageError(`unsupported docker host ${url}`, {hint: 'use unix:///path/to/socket or tcp://host:port'})
}

function readTls(options: EndpointOptions): {ca: Buffer; cert: Buffer; key: Buffer} {
  const dir = options.env.DOCKER_CERT_PATH || join(options.home, '.docker')
  try {
    return {ca: readFileSync(join(dir, 'ca.pem')), cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem'))}
  } catch (error) {
    throw new UsageError(`cannot read the engine's TLS files in ${dir}: ${(error as Error).message}`, {
      hint: 'set DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem',
    })
  }
}

/** The one error for "nothing answers there", whichever client noticed. */
export function engineUnreachable(endpoint: Endpoint, cause: unknown): InfraError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause)
  return new InfraError(`no container engine answers at ${endpoint.url} (${reason})`, {
    hint: "start dockerd or Podman's service (podman system service), or point --docker-host or DOCKER_HOST at one",
    cause,
  })
}

const UNREACHABLE = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ENOTSOCK',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'ENOTFOUND',
])

/** Socket-level failures (as opposed to an engine that answered with an error). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code
  return code !== undefined && UNREACHABLE.has(code)
}
