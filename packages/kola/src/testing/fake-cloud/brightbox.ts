// A fake Brightbox control plane for kola's own tests: a real HTTP server
// answering the API 1.0 calls kola and `ore brightbox gc` make, with the
// shapes gobrightbox v2 reads (ids srv-/img-/cip-xxxxx, server status
// creating/active/deleted, cloud_ips with status mapped/unmapped) and the
// calls of flatcar/mantle platform/api/brightbox/api.go (CreateServer with
// base64 user_data, CreateCloudIP, MapCloudIP, UnMapCloudIP before
// DestroyServer). Tokens come from POST /token with OAuth2 client
// credentials (RFC 6749 4.4); API calls without that token are 401. Each
// server is a real machine, reached at its cloud IP's public address.
import {randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_BRIGHTBOX_IMAGE = 'img-flatc'
export const FAKE_BRIGHTBOX_CLIENT = {client_id: 'cli-kola1', client_secret: 'fake-brightbox-secret-0001'}

export interface FakeBrightboxOptions {
  machines: MachineFactory
  /** Cloud IPs the account may hold: creating one beyond it is refused (a quota). */
  cloudIpLimit?: number
}

export interface FakeBrightboxServer {
  id: string
  name: string
  status: 'creating' | 'active' | 'deleting' | 'deleted'
  created_at: string
  userData: string
  serverType: string
  cloudIp?: string | undefined
  machine?: FakeMachine | undefined
  starting?: Promise<void> | undefined
}

interface CloudIp {
  id: string
  name: string
  server?: string | undefined
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const bbId = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex').slice(0, 5)}`
const TOKEN = 'fake-brightbox-access-token'

export class FakeBrightbox {
  readonly servers = new Map<string, FakeBrightboxServer>()
  readonly cloudIps = new Map<string, CloudIp>()
  /** "METHOD /path" of every request, in order. */
  readonly calls: string[] = []
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeBrightboxOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) => res.writeHead(status, {'content-type': 'application/json'}).end(body === undefined ? '' : JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, 'internal_error', String(error))
          res.writeHead(e.status, {'content-type': 'application/json'}).end(JSON.stringify({error_name: e.code, errors: [e.message]}))
        },
      )
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
    await this.options.machines.stopAll()
  }

  /** Servers not deleted, and cloud IPs that exist. */
  live(): {servers: string[]; cloudIps: string[]} {
    return {
      servers: [...this.servers.values()].filter((s) => s.status !== 'deleted').map((s) => s.id),
      cloudIps: [...this.cloudIps.keys()],
    }
  }

  creates(): string[] {
    return this.calls.filter((c) => c === 'POST /1.0/servers' || c === 'POST /1.0/cloud_ips')
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    this.calls.push(`${req.method} ${path}`)
    if (req.method === 'POST' && path === '/token') {
      const basic = `Basic ${Buffer.from(`${FAKE_BRIGHTBOX_CLIENT.client_id}:${FAKE_BRIGHTBOX_CLIENT.client_secret}`).toString('base64')}`
      if (req.headers.authorization !== basic || new URLSearchParams(raw).get('grant_type') !== 'client_credentials')
        return {status: 401, body: {error: 'invalid_client', error_description: 'The client credentials are invalid'}}
      return {status: 200, body: {access_token: TOKEN, token_type: 'Bearer', expires_in: 7200}}
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) throw new ApiError(401, 'unauthorized', 'Missing or invalid access token')
    const json = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
    let m: RegExpExecArray | null
    const notFound = () => new ApiError(404, 'missing_resource', 'Resource not found')

    if (req.method === 'GET' && (m = /^\/1\.0\/images\/([^/]+)$/.exec(path))) {
      if (m[1] !== FAKE_BRIGHTBOX_IMAGE) throw notFound()
      return {status: 200, body: {id: FAKE_BRIGHTBOX_IMAGE, name: 'flatcar', status: 'available', public: false}}
    }
    if (req.method === 'GET' && path === '/1.0/images') return {status: 200, body: []}
    if (req.method === 'GET' && path === '/1.0/volumes') return {status: 200, body: []}
    if (req.method === 'GET' && path === '/1.0/servers') return {status: 200, body: [...this.servers.values()].map((s) => this.view(s))}
    if (req.method === 'GET' && path === '/1.0/cloud_ips')
      return {
        status: 200,
        body: [...this.cloudIps.values()].map((c) => ({
          id: c.id,
          name: c.name,
          status: c.server ? 'mapped' : 'unmapped',
          server: c.server ? {id: c.server} : null,
        })),
      }
    if (req.method === 'POST' && path === '/1.0/servers') return {status: 202, body: this.view(this.createServer(json))}
    if ((m = /^\/1\.0\/servers\/([^/]+)$/.exec(path))) {
      const server = this.servers.get(m[1]!)
      if (!server) throw notFound()
      if (req.method === 'GET') return {status: 200, body: this.view(server)}
      if (req.method === 'DELETE') {
        if (server.cloudIp) throw new ApiError(409, 'invalid_state', 'Cannot destroy a server with a mapped cloud IP')
        await this.destroy(server)
        return {status: 202, body: this.view(server)}
      }
    }
    if (req.method === 'POST' && path === '/1.0/cloud_ips') {
      // The limit's status is not in the API reference we could read: 422, as for Brightbox's other refused
      // requests; a 403 would read as refused credentials, which a quota is not.
      if (this.cloudIps.size >= (this.options.cloudIpLimit ?? Infinity))
        throw new ApiError(422, 'limit_exceeded', 'Cloud IP limit reached for account')
      const ip: CloudIp = {id: bbId('cip'), name: String(json.name ?? '')}
      this.cloudIps.set(ip.id, ip)
      return {status: 201, body: {id: ip.id, name: ip.name, status: 'unmapped'}}
    }
    if ((m = /^\/1\.0\/cloud_ips\/([^/]+)(\/map|\/unmap)?$/.exec(path))) {
      const ip = this.cloudIps.get(m[1]!)
      if (!ip) throw notFound()
      if (req.method === 'POST' && m[2] === '/map') {
        const server = this.servers.get(String(json.destination))
        if (!server || server.status !== 'active') throw new ApiError(422, 'invalid_destination', 'Destination is not an active server')
        ip.server = server.id
        server.cloudIp = ip.id
        return {status: 202, body: {id: ip.id, status: 'mapped'}}
      }
      if (req.method === 'POST' && m[2] === '/unmap') {
        if (ip.server) this.servers.get(ip.server)!.cloudIp = undefined
        ip.server = undefined
        return {status: 202, body: {id: ip.id, status: 'unmapped'}}
      }
      if (req.method === 'DELETE' && !m[2]) {
        if (ip.server) throw new ApiError(409, 'invalid_state', 'Cannot destroy a mapped cloud IP')
        this.cloudIps.delete(ip.id)
        return {status: 202, body: {id: ip.id}}
      }
    }
    throw new ApiError(404, 'missing_resource', `no such API: ${req.method} ${path}`)
  }

  private createServer(body: Record<string, unknown>): FakeBrightboxServer {
    if (body.image !== FAKE_BRIGHTBOX_IMAGE) throw new ApiError(404, 'missing_resource', `Image ${String(body.image)} not found`)
    if (typeof body.user_data !== 'string') throw new ApiError(400, 'invalid_request', 'user_data missing')
    const userData = Buffer.from(body.user_data, 'base64').toString('utf8')
    const server: FakeBrightboxServer = {
      id: bbId('srv'),
      name: String(body.name ?? ''),
      status: 'creating',
      created_at: new Date().toISOString(),
      userData,
      serverType: String(body.server_type ?? ''),
    }
    this.servers.set(server.id, server)
    server.starting = this.options.machines.start(server.name, userData).then((machine) => {
      server.machine = machine
      if (server.status === 'creating') server.status = 'active'
    })
    return server
  }

  private async destroy(server: FakeBrightboxServer): Promise<void> {
    server.status = 'deleting'
    await server.starting?.catch(() => undefined)
    await server.machine?.stop()
    server.status = 'deleted'
  }

  private view(s: FakeBrightboxServer): Record<string, unknown> {
    const ip = s.cloudIp && s.machine ? [{id: s.cloudIp, public_ip: s.machine.ip}] : []
    return {
      id: s.id,
      name: s.name,
      status: s.status,
      created_at: s.created_at,
      server_type: {handle: s.serverType},
      image: {id: FAKE_BRIGHTBOX_IMAGE},
      cloud_ips: ip,
      interfaces: s.machine ? [{ipv4_address: s.machine.ip}] : [],
    }
  }
}
