import type {Readable} from 'node:stream'

import {InfraError, isMantleError, UsageError} from '@mantle/kit'

import {errorMessage, withRetry, type CallContext} from './retry.js'

export interface RestRequest {
  /** JSON body. */
  json?: unknown
  /** A raw body (uploads); a stream is sent once, never retried. */
  body?: Buffer | Readable | undefined
  headers?: Record<string, string> | undefined
  searchParams?: Record<string, string | number | boolean | undefined> | undefined
  /** Statuses that are an answer, not an error (e.g. 404 to mean "absent"). */
  expect?: number[] | undefined
  onUploadProgress?: ((bytes: number) => void) | undefined
}

export interface RestResponse<T> {
  status: number
  body: T
  headers: Record<string, string | string[] | undefined>
}

/**
 * The JSON-over-HTTP calls of the REST clouds (GCE compute, DigitalOcean,
 * Equinix Metal, OpenStack, vSphere): each call retried with kit's backoff on
 * throttling, 5xx and network faults; bad credentials become a usage error
 * (exit 2), other failures an infrastructure error (exit 3), one line each.
 */
export interface RestClient {
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options?: RestRequest): Promise<RestResponse<T>>
  get<T>(path: string, options?: RestRequest): Promise<T>
  post<T>(path: string, json?: unknown, options?: RestRequest): Promise<T>
  delete(path: string, options?: RestRequest): Promise<void>
}

export interface RestClientOptions extends CallContext {
  /** e.g. "digitalocean": names the service in messages. */
  service: string
  baseUrl: string
  /** Headers for every call; a function for tokens that expire. */
  headers?: (() => Promise<Record<string, string>>) | Record<string, string> | undefined
  /** What to tell the user when the service refuses the credentials. */
  credentialsHint?: string | undefined
  /** Pulls the service's own error text out of an error body. */
  describeError?: ((body: unknown) => string | undefined) | undefined
  /** False accepts self-signed certificates (lab vCenters); default true. */
  rejectUnauthorized?: boolean | undefined
  /**
   * Signs every attempt (OCI's HTTP Signatures): gets the URL as sent (query
   * included), the method and the exact body bytes (a JSON body is serialised
   * here, once), returns the headers to add.
   */
  sign?: ((request: {method: string; url: string; body: Buffer | undefined; stream: boolean}) => Record<string, string>) | undefined
}

/** Error texts as the REST clouds send them: {message}, {error: {message}}, {id, message}, ... */
function defaultDescribe(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body.length < 300 ? body : undefined
  const b = body as {
    message?: unknown
    error?: unknown
    errors?: unknown
    badRequest?: {message?: string}
    itemNotFound?: {message?: string}
  }
  if (typeof b.message === 'string') return b.message
  if (typeof b.error === 'string') return b.error
  if (b.error && typeof b.error === 'object' && typeof (b.error as {message?: unknown}).message === 'string')
    return (b.error as {message: string}).message
  if (Array.isArray(b.errors) && typeof b.errors[0] === 'string') return b.errors.join('; ')
  return b.badRequest?.message ?? b.itemNotFound?.message
}

/** The URL, body bytes and headers of a signed request: signed as it will be sent. */
function signedParts(
  method: string,
  url: string,
  searchParams: Record<string, string | number | boolean>,
  req: RestRequest,
  sign: NonNullable<RestClientOptions['sign']>,
): {url: string; body: Buffer | undefined; headers: Record<string, string>} {
  const target = new URL(url)
  for (const [k, v] of Object.entries(searchParams)) target.searchParams.set(k, String(v))
  const stream = req.body !== undefined && !Buffer.isBuffer(req.body)
  const body = req.json !== undefined ? Buffer.from(JSON.stringify(req.json)) : Buffer.isBuffer(req.body) ? req.body : undefined
  return {url: target.href, body, headers: sign({method, url: target.href, body, stream})}
}

export async function restClient(options: RestClientOptions): Promise<RestClient> {
  const {default: got} = await import('got')
  const base = options.baseUrl.replace(/\/+$/, '')
  const describe = (body: unknown) => options.describeError?.(body) ?? defaultDescribe(body)

  async function request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    req: RestRequest = {},
  ): Promise<RestResponse<T>> {
    const url = /^https?:\/\//.test(path) ? path : `${base}/${path.replace(/^\/+/, '')}`
    const what = `${options.service} ${method} ${new URL(url).pathname}`
    const once = async (): Promise<RestResponse<T>> => {
      const headers = {...(typeof options.headers === 'function' ? await options.headers() : options.headers), ...req.headers}
      const searchParams = Object.fromEntries(Object.entries(req.searchParams ?? {}).filter(([, v]) => v !== undefined)) as Record<
        string,
        string | number | boolean
      >
      const signed = options.sign ? signedParts(method, url, searchParams, req, options.sign) : undefined
      const promise = got(signed?.url ?? url, {
        method,
        headers: {...headers, ...signed?.headers},
        // No searchParams when there are none: got would replace the query a URL carries (pre-signed upload URLs).
        ...(signed || Object.keys(searchParams).length === 0 ? {} : {searchParams}),
        ...(req.json !== undefined && !signed ? {json: req.json} : {}),
        ...((signed?.body ?? req.body) !== undefined ? {body: signed?.body ?? req.body} : {}),
        // One retry policy: kit's, around this call.
        retry: {limit: 0},
        throwHttpErrors: false,
        timeout: {connect: 30_000, response: 120_000},
        ...(options.rejectUnauthorized === false ? {https: {rejectUnauthorized: false}} : {}),
        ...(options.signal ? {signal: options.signal} : {}),
      })
      if (req.onUploadProgress) promise.on('uploadProgress', (p: {transferred: number}) => req.onUploadProgress!(p.transferred))
      const response = await promise
      const text = response.body
      let body: unknown = text
      if (text && /json/.test(String(response.headers['content-type'] ?? ''))) {
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
      }
      const status = response.statusCode
      if ((status >= 200 && status < 300) || req.expect?.includes(status)) return {status, body: body as T, headers: response.headers}
      const detail = describe(body) ?? response.statusMessage ?? ''
      const message = `${what}: ${status}${detail ? ` ${detail}` : ''}`
      if (status === 401 || status === 403)
        throw new UsageError(
          `${what}: ${options.service} refused the credentials (${status}${detail ? `: ${detail}` : ''})`,
          options.credentialsHint ? {hint: options.credentialsHint} : {},
        )
      // 429 and 5xx carry their status so that withRetry tries again.
      throw Object.assign(new InfraError(message), {statusCode: status, retryable: status === 429 || status >= 500})
    }
    // A stream body can be sent only once.
    const retrying = !(req.body && typeof (req.body as Readable).pipe === 'function')
    const run = retrying ? () => withRetry(what, once, {...options, retry: options.retry}) : once
    try {
      return await run()
    } catch (error) {
      if (isMantleError(error)) throw error
      throw new InfraError(`${what}: ${errorMessage(error)}`, {cause: error})
    }
  }

  return {
    request,
    get: async <T>(path: string, req?: RestRequest) => (await request<T>('GET', path, req)).body,
    post: async <T>(path: string, json?: unknown, req?: RestRequest) => (await request<T>('POST', path, {...req, json})).body,
    delete: async (path: string, req?: RestRequest) => {
      await request('DELETE', path, req)
    },
  }
}
