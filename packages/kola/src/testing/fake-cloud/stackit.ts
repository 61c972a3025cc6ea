// A fake STACKIT IaaS API v2 for kola's own tests: a real HTTP server
// answering the calls kola and `ore stackit gc` make, with the paths and
// shapes of stackit-sdk-go services/iaas/v2api ({items: [...]} lists, server
// status CREATING/ACTIVE/DELETING, nics with ipv4/publicIp, /log output) and
// the calls of flatcar/mantle platform/api/stackit/api.go (CreateKeyPair,
// CreatePublicIP, CreateServer with base64 userData and an image boot volume,
// AddPublicIpToServer). Requests without the account's bearer token are 401.
// Each server is a real machine, reached at its public IP.
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_STACKIT_TOKEN = 'fake-stackit-service-account-token'
export const FAKE_STACKIT_PROJECT = '6c0e4c62-1f0b-4f7e-9d8a-0c1a2b3c4d5e'
export const FAKE_STACKIT_IMAGE = '0a5f2c2e-6a38-4c3f-9c1e-7f1a0f7c9b11'
export const FAKE_STACKIT_NETWORK = '2d3c4b5a-0000-4000-8000-00000000a001'

export interface FakeStackitOptions {
  machines: MachineFactory
  /** Servers the project may have: CreateServer beyond it is refused (a quota). */
  serverLimit?: number
}

export interface FakeStackitServer {
  id: string
  name: string
  status: 'CREATING' | 'ACTIVE' | 'DELETING' | 'DELETED'
  createdAt: string
  labels: Record<string, unknown>
  userData: string
  keypairName?: string | undefined
  publicIp?: string | undefined
  machine?: FakeMachine | undefined
  starting?: Promise<void> | undefined
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export class FakeStackit {
  readonly servers = new Map<string, FakeStackitServer>()
  readonly keypairs = new Map<string, {name: string; publicKey: string; labels: unknown; createdAt: string}>()
  readonly publicIps = new Map<string, {id: string; labels: unknown; createdAt: string; server?: string | undefined}>()
  readonly calls: string[] = []
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeStackitOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) => res.writeHead(status, {'content-type': 'application/json'}).end(body === undefined ? '' : JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, String(error))
          res.writeHead(e.status, {'content-type': 'application/json'}).end(JSON.stringify({code: e.status, msg: e.message}))
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

  live(): {servers: string[]; publicIps: string[]; keypairs: string[]} {
    return {
      servers: [...this.servers.values()].filter((s) => s.status !== 'DELETED').map((s) => s.id),
      publicIps: [...this.publicIps.keys()],
      keypairs: [...this.keypairs.keys()],
    }
  }

  creates(): string[] {
    return this.calls.filter((c) => c.startsWith('POST '))
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    this.calls.push(`${req.method} ${path}`)
    if (req.headers.authorization !== `Bearer ${FAKE_STACKIT_TOKEN}`) throw new ApiError(401, 'Unauthorized')
    const json = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
    const p = `/v2/projects/${FAKE_STACKIT_PROJECT}/regions/eu01`
    const notFound = () => new ApiError(404, 'Not Found')
    let m: RegExpExecArray | null

    if (req.method === 'GET' && path === '/v2/keypairs')
      return {status: 200, body: {items: [...this.keypairs.values()].map(({name, labels, createdAt}) => ({name, labels, createdAt}))}}
    if (req.method === 'POST' && path === '/v2/keypairs') {
      if (!/^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521))\s+[A-Za-z0-9+/]+=*(\s+.+)?\s*$/.test(String(json.publicKey)))
        throw new ApiError(400, 'publicKey is not an SSH public key')
      const k = {name: String(json.name), publicKey: String(json.publicKey), labels: json.labels, createdAt: new Date().toISOString()}
      if (this.keypairs.has(k.name)) throw new ApiError(409, `key pair ${k.name} exists`)
      this.keypairs.set(k.name, k)
      return {status: 201, body: k}
    }
    if (req.method === 'DELETE' && (m = /^\/v2\/keypairs\/([^/]+)$/.exec(path))) {
      if (!this.keypairs.delete(decodeURIComponent(m[1]!))) throw notFound()
      return {status: 204}
    }
    if (!path.startsWith(`${p}/`)) throw notFound()
    const rest = path.slice(p.length)
    if (req.method === 'GET' && (m = /^\/images\/([^/]+)$/.exec(rest))) {
      if (m[1] !== FAKE_STACKIT_IMAGE) throw notFound()
      return {status: 200, body: {id: FAKE_STACKIT_IMAGE, name: 'flatcar', diskFormat: 'qcow2', status: 'AVAILABLE'}}
    }
    if (req.method === 'GET' && (rest === '/images' || rest === '/volumes')) return {status: 200, body: {items: []}}
    // A deleted server is gone from the list, as in the API.
    if (req.method === 'GET' && rest === '/servers')
      return {status: 200, body: {items: [...this.servers.values()].filter((s) => s.status !== 'DELETED').map((s) => this.view(s))}}
    if (req.method === 'GET' && rest === '/public-ips')
      return {
        status: 200,
        body: {items: [...this.publicIps.values()].map((ip) => ({id: ip.id, labels: ip.labels, createdAt: ip.createdAt}))},
      }
    if (req.method === 'POST' && rest === '/public-ips') {
      const ip = {id: randomUUID(), labels: json.labels, createdAt: new Date().toISOString()}
      this.publicIps.set(ip.id, ip)
      return {status: 201, body: {...ip, ip: '0.0.0.0'}}
    }
    if (req.method === 'DELETE' && (m = /^\/public-ips\/([^/]+)$/.exec(rest))) {
      const ip = this.publicIps.get(m[1]!)
      if (!ip) throw notFound()
      if (ip.server && this.servers.get(ip.server)?.status !== 'DELETED') throw new ApiError(409, 'public IP is attached to a server')
      this.publicIps.delete(ip.id)
      return {status: 204}
    }
    if (req.method === 'POST' && rest === '/servers') return {status: 201, body: this.view(this.create(json))}
    if ((m = /^\/servers\/([^/]+)(\/log|\/public-ips\/([^/]+))?$/.exec(rest))) {
      const server = this.servers.get(m[1]!)
      if (!server || server.status === 'DELETED') throw notFound()
      if (req.method === 'GET' && !m[2]) return {status: 200, body: this.view(server)}
      if (req.method === 'GET' && m[2] === '/log') return {status: 200, body: {output: (await server.machine?.console()) ?? ''}}
      if (req.method === 'PUT' && m[3]) {
        const ip = this.publicIps.get(m[3])
        if (!ip) throw notFound()
        if (server.status !== 'ACTIVE') throw new ApiError(409, 'server is not ACTIVE')
        ip.server = server.id
        server.publicIp = ip.id
        return {status: 204}
      }
      if (req.method === 'DELETE' && !m[2]) {
        server.status = 'DELETING'
        await server.starting?.catch(() => undefined)
        await server.machine?.stop()
        server.status = 'DELETED'
        return {status: 204}
      }
    }
    throw new ApiError(404, `no such API: ${req.method} ${path}`)
  }

  private create(body: Record<string, unknown>): FakeStackitServer {
    const boot = body.bootVolume as {source?: {type?: string; id?: string}} | undefined
    const networking = body.networking as {networkId?: string} | undefined
    for (const f of ['name', 'machineType', 'availabilityZone'])
      if (typeof body[f] !== 'string') throw new ApiError(400, `${f} is required`)
    if (boot?.source?.type !== 'image' || boot.source.id !== FAKE_STACKIT_IMAGE) throw new ApiError(404, 'image not found')
    if (networking?.networkId !== FAKE_STACKIT_NETWORK) throw new ApiError(404, 'network not found')
    if (body.keypairName !== undefined && !this.keypairs.has(String(body.keypairName))) throw new ApiError(404, 'key pair not found')
    if (this.live().servers.length >= (this.options.serverLimit ?? Infinity)) throw new ApiError(400, 'quota exceeded for servers') // the status of a quota refusal is not in the SDK we read; 400 as for its other refused payloads
    const userData = Buffer.from(String(body.userData ?? ''), 'base64').toString('utf8')
    const server: FakeStackitServer = {
      id: randomUUID(),
      name: String(body.name),
      status: 'CREATING',
      createdAt: new Date().toISOString(),
      labels: (body.labels ?? {}) as Record<string, unknown>,
      userData,
      keypairName: body.keypairName as string | undefined,
    }
    this.servers.set(server.id, server)
    server.starting = this.options.machines.start(server.name, userData).then((machine) => {
      server.machine = machine
      if (server.status === 'CREATING') server.status = 'ACTIVE'
    })
    return server
  }

  private view(s: FakeStackitServer): Record<string, unknown> {
    const nics = s.machine ? [{ipv4: s.machine.ip, ...(s.publicIp ? {publicIp: s.machine.ip} : {}), networkId: FAKE_STACKIT_NETWORK}] : []
    return {id: s.id, name: s.name, status: s.status, createdAt: s.createdAt, labels: s.labels, nics}
  }
}
