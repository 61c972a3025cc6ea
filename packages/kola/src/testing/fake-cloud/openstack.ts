// A fake OpenStack (Keystone v3, Nova v2.1, Glance v2, Neutron v2.0) for
// kola's own tests: one HTTP server answering the request and response
// shapes of the OpenStack API references, as flatcar/mantle's
// platform/api/openstack/api.go (gophercloud) calls them: password login
// with the catalog, servers with base64 user_data, key_name, metadata,
// security_groups and networks, os-keypairs, os-floating-ips and the
// addFloatingIp / removeFloatingIp / os-getConsoleOutput server actions,
// Neutron networks, security groups and rules. Every server is a real
// machine from a MachineFactory, configured by the user data it got.
// It refuses what the real API refuses: a wrong password (401), a missing
// or wrong X-Auth-Token (401), unknown flavor/image/key/group/network (400),
// an exhausted instance quota (403), an in-use security group (409).
import {randomInt, randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import {type AddressInfo, connect, createServer as createTcpServer, type Server as TcpServer} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_OS_USER = 'kola'
export const FAKE_OS_PASSWORD = 'fake-openstack-password-0000'
export const FAKE_OS_PROJECT = 'kola-tests'
export const FAKE_OS_IMAGE = 'flatcar-kola-test'
export const FAKE_OS_IMAGE_ID = '7d3e0c5a-0000-4000-8000-00000000f1a7'
export const FAKE_OS_NETWORK = 'kola-net'

export interface FakeOpenStackOptions {
  machines: MachineFactory
  /** Time from create until the server is ACTIVE. */
  activeDelayMs?: number
  /** Servers (not deleted) the project may have: more is 403 "Quota exceeded for instances". */
  instanceLimit?: number
}

interface FakeServer {
  id: string
  name: string
  created: Date
  status: 'BUILD' | 'ACTIVE' | 'ERROR' | 'DELETED'
  metadata: Record<string, string>
  keyName?: string | undefined
  groups: string[]
  networkId: string
  userData: string
  activeAt: number
  /** Why it is in ERROR. */
  fault?: string | undefined
  /** Deleted, the machine still stopping (Nova: task_state "deleting"). */
  deleting?: boolean | undefined
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine> | undefined
  console: string
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body))
  }
}

const nova = (status: number, kind: string, message: string) => new ApiError(status, {[kind]: {code: status, message}})
const neutron = (status: number, type: string, message: string) => new ApiError(status, {NeutronError: {type, message, detail: ''}})

export class FakeOpenStack {
  readonly servers = new Map<string, FakeServer>()
  readonly keyPairs = new Map<string, {name: string; publicKey: string; created: Date}>()
  readonly groups = new Map<string, {id: string; name: string; description: string; created: Date; rules: unknown[]}>()
  readonly floatingIps = new Map<string, {id: string; ip: string; pool: string; instanceId: string | null; nat?: TcpServer | undefined}>()
  /** Floating IPs are loopback addresses of a /24 of their own; an associated one forwards its port 22 to the server's (1:1 NAT). */
  readonly floatingPrefix = `127.${randomInt(100, 250)}.${randomInt(1, 250)}`
  private nextFloating = 10
  readonly networks = [{id: randomUUID(), name: FAKE_OS_NETWORK, status: 'ACTIVE'}]
  /** Every request, as `METHOD /path` without the query (server and resource ids as they came). */
  readonly calls: string[] = []
  /** Server actions received, by name (os-getConsoleOutput, addFloatingIp, ...). */
  readonly actions: string[] = []
  private readonly tokens = new Set<string>()
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeOpenStackOptions) {}

  /** Keystone's v3 URL, as a profile's auth_url. */
  get authUrl(): string {
    return `${this.url}/identity/v3`
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body, headers}) => {
          res.writeHead(status, {'content-type': 'application/json', ...headers})
          res.end(body === undefined ? '' : JSON.stringify(body))
        },
        (error: unknown) => res.writeHead(500).end(String(error)),
      )
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
    for (const f of this.floatingIps.values()) f.nat?.close()
    await this.options.machines.stopAll()
  }

  /** What is not deleted, by kind. */
  live(): {servers: string[]; keyPairs: string[]; securityGroups: string[]; floatingIps: string[]} {
    return {
      servers: [...this.servers.values()].filter((s) => s.status !== 'DELETED').map((s) => s.id),
      keyPairs: [...this.keyPairs.keys()],
      securityGroups: [...this.groups.values()].filter((g) => g.name !== 'default').map((g) => g.id),
      floatingIps: [...this.floatingIps.keys()],
    }
  }

  /** Requests that create something. */
  creates(): string[] {
    return this.calls.filter((c) =>
      /^POST \/(compute\/v2\.1\/(servers|os-keypairs|os-floating-ips)|network\/v2\.0\/security-groups)$/.test(c),
    )
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown; headers?: Record<string, string>}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    const method = req.method ?? 'GET'
    this.calls.push(`${method} ${url.pathname}`)
    try {
      let body: unknown
      if (text) {
        try {
          body = JSON.parse(text)
        } catch {
          throw nova(400, 'badRequest', 'Malformed request body')
        }
      }
      if (url.pathname === '/identity/v3/auth/tokens' && method === 'POST') return this.login(body)
      const token = req.headers['x-auth-token']
      if (typeof token !== 'string' || !this.tokens.has(token))
        throw new ApiError(401, {error: {code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized'}})
      const parts = url.pathname.split('/').filter(Boolean)
      const [service, version, ...rest] = parts
      if (service === 'compute' && version === 'v2.1') return await this.nova(method, rest, body)
      if (service === 'image' && version === 'v2') return this.glance(method, rest, url.searchParams)
      if (service === 'network' && version === 'v2.0') return this.neutron(method, rest, body, url.searchParams)
      throw new ApiError(404, {message: `no such endpoint ${url.pathname}`})
    } catch (error) {
      if (error instanceof ApiError) return {status: error.status, body: error.body}
      throw error
    }
  }

  private login(body: unknown): {status: number; body: unknown; headers: Record<string, string>} {
    const auth = (
      body as {auth?: {identity?: {methods?: string[]; password?: {user?: {name?: string; password?: string; domain?: unknown}}}}}
    )?.auth
    const user = auth?.identity?.password?.user
    if (!auth?.identity?.methods?.includes('password') || !user?.domain)
      throw new ApiError(400, {error: {code: 400, message: 'Invalid input for field identity', title: 'Bad Request'}})
    if (user.name !== FAKE_OS_USER || user.password !== FAKE_OS_PASSWORD)
      throw new ApiError(401, {error: {code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized'}})
    const token = `gAAAAA${randomUUID().replace(/-/g, '')}`
    this.tokens.add(token)
    const endpoint = (type: string, path: string) => ({
      type,
      endpoints: [{interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${this.url}/${path}`}],
    })
    return {
      status: 201,
      headers: {'x-subject-token': token},
      body: {
        token: {
          methods: ['password'],
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          project: {name: FAKE_OS_PROJECT, id: 'p-kola'},
          catalog: [endpoint('compute', 'compute/v2.1'), endpoint('image', 'image'), endpoint('network', 'network')],
        },
      },
    }
  }

  private glance(method: string, rest: string[], q: URLSearchParams): {status: number; body: unknown} {
    const image = {id: FAKE_OS_IMAGE_ID, name: FAKE_OS_IMAGE, status: 'active', tags: [], created_at: '2026-12-01T00:00:00Z'}
    if (method === 'GET' && rest.length === 1 && rest[0] === 'images') {
      const name = q.get('name')
      return {status: 200, body: {images: name === null || name === image.name ? [image] : []}}
    }
    if (method === 'GET' && rest.length === 2 && rest[0] === 'images') {
      if (rest[1] !== image.id) throw new ApiError(404, {message: `No image found with ID ${rest[1]}`})
      return {status: 200, body: image}
    }
    throw new ApiError(404, {message: 'not found'})
  }

  private neutron(method: string, rest: string[], body: unknown, q: URLSearchParams): {status: number; body?: unknown} {
    const path = rest.join('/')
    if (method === 'GET' && path === 'networks') return {status: 200, body: {networks: this.networks}}
    if (method === 'GET' && path === 'security-groups') {
      const name = q.get('name')
      const list = [...this.groups.values()].filter((g) => name === null || g.name === name)
      return {status: 200, body: {security_groups: list.map((g) => this.groupJson(g))}}
    }
    if (method === 'POST' && path === 'security-groups') {
      const g = (body as {security_group?: {name?: string; description?: string}})?.security_group
      if (!g?.name) throw neutron(400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'name' not specified")
      const group = {id: randomUUID(), name: g.name, description: g.description ?? '', created: new Date(), rules: []}
      this.groups.set(group.id, group)
      return {status: 201, body: {security_group: this.groupJson(group)}}
    }
    if (method === 'POST' && path === 'security-group-rules') {
      const r = (body as {security_group_rule?: {security_group_id?: string; direction?: string; ethertype?: string}})?.security_group_rule
      const group = this.groups.get(r?.security_group_id ?? '')
      if (!group) throw neutron(404, 'SecurityGroupNotFound', `Security group ${r?.security_group_id} does not exist`)
      if (r?.direction !== 'ingress' && r?.direction !== 'egress')
        throw neutron(400, 'HTTPBadRequest', "Invalid input for direction. Reason: 'None' is not in ['ingress', 'egress'].")
      const rule = {id: randomUUID(), ...r}
      group.rules.push(rule)
      return {status: 201, body: {security_group_rule: rule}}
    }
    if (method === 'DELETE' && rest[0] === 'security-groups' && rest[1]) {
      const id = rest[1]
      if (!this.groups.has(id)) throw neutron(404, 'SecurityGroupNotFound', `Security group ${id} does not exist`)
      const name = this.groups.get(id)?.name
      if ([...this.servers.values()].some((s) => s.status !== 'DELETED' && s.groups.includes(name ?? '')))
        throw neutron(409, 'SecurityGroupInUse', `Security Group ${id} in use.`)
      this.groups.delete(id)
      return {status: 204}
    }
    throw neutron(404, 'HTTPNotFound', 'The resource could not be found.')
  }

  private groupJson(g: {id: string; name: string; description: string; created: Date; rules: unknown[]}): unknown {
    return {
      id: g.id,
      name: g.name,
      description: g.description,
      created_at: g.created.toISOString().replace(/\.\d+Z$/, 'Z'),
      security_group_rules: g.rules,
      tags: [],
    }
  }

  private async nova(method: string, rest: string[], body: unknown): Promise<{status: number; body?: unknown}> {
    const [collection, id, sub] = rest
    if (collection === 'flavors' && id === 'detail' && method === 'GET')
      return {
        status: 200,
        body: {
          flavors: [
            {id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1},
            {id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20},
          ],
        },
      }
    if (collection === 'os-keypairs') return this.keypairs(method, id, body)
    if (collection === 'os-floating-ips') return this.floating(method, id, body)
    if (collection !== 'servers') throw nova(404, 'itemNotFound', 'The resource could not be found.')
    if (method === 'POST' && !id) return this.createServer(body)
    if (method === 'GET' && id === 'detail')
      return {status: 200, body: {servers: [...this.servers.values()].filter((s) => s.status !== 'DELETED').map((s) => this.serverJson(s))}}
    const s = id ? this.servers.get(id) : undefined
    if (!s || s.status === 'DELETED') throw nova(404, 'itemNotFound', `Instance ${id} could not be found.`)
    if (method === 'GET' && !sub) return {status: 200, body: {server: this.serverJson(s)}}
    if (method === 'DELETE' && !sub) {
      this.deleteServer(s)
      return {status: 204}
    }
    if (method === 'POST' && sub === 'action') return this.action(s, body)
    throw nova(404, 'itemNotFound', 'The resource could not be found.')
  }

  private keypairs(method: string, name: string | undefined, body: unknown): {status: number; body?: unknown} {
    if (method === 'POST' && !name) {
      const k = (body as {keypair?: {name?: string; public_key?: string}})?.keypair
      if (!k?.name) throw nova(400, 'badRequest', "Invalid input for field/attribute keypair. Value: {}. 'name' is a required property")
      if (this.keyPairs.has(k.name)) throw nova(409, 'conflictingRequest', `Key pair '${k.name}' already exists.`)
      if (!k.public_key?.startsWith('ssh-')) throw nova(400, 'badRequest', 'Keypair data is invalid: failed to generate fingerprint')
      this.keyPairs.set(k.name, {name: k.name, publicKey: k.public_key, created: new Date()})
      return {status: 200, body: {keypair: {name: k.name, public_key: k.public_key, fingerprint: '00:11', user_id: 'kola'}}}
    }
    if (method === 'GET' && !name)
      return {
        status: 200,
        body: {
          keypairs: [...this.keyPairs.values()].map((k) => ({keypair: {name: k.name, public_key: k.publicKey, fingerprint: '00:11'}})),
        },
      }
    const k = name ? this.keyPairs.get(name) : undefined
    if (!k) throw nova(404, 'itemNotFound', `Keypair ${name} not found for user kola`)
    if (method === 'GET')
      // Nova writes its times without a zone.
      return {status: 200, body: {keypair: {name: k.name, public_key: k.publicKey, created_at: k.created.toISOString().replace('Z', '')}}}
    if (method === 'DELETE') {
      this.keyPairs.delete(k.name)
      return {status: 202}
    }
    throw nova(405, 'badMethod', 'Method not allowed')
  }

  private floating(method: string, id: string | undefined, body: unknown): {status: number; body?: unknown} {
    if (method === 'POST' && !id) {
      const pool = (body as {pool?: string})?.pool
      if (pool !== 'public') throw nova(404, 'itemNotFound', `Floating IP pool not found.`)
      const f = {id: randomUUID(), ip: `${this.floatingPrefix}.${this.nextFloating++}`, pool, instanceId: null}
      this.floatingIps.set(f.id, f)
      return {status: 200, body: {floating_ip: {id: f.id, ip: f.ip, pool, fixed_ip: null, instance_id: null}}}
    }
    if (method === 'GET' && !id)
      return {
        status: 200,
        body: {floating_ips: [...this.floatingIps.values()].map((f) => ({id: f.id, ip: f.ip, pool: f.pool, instance_id: f.instanceId}))},
      }
    const f = id ? this.floatingIps.get(id) : undefined
    if (method === 'DELETE' && f) {
      if (f.instanceId) throw nova(409, 'conflictingRequest', `Floating IP ${f.ip} is associated with instance ${f.instanceId}.`)
      this.floatingIps.delete(f.id)
      return {status: 202}
    }
    throw nova(404, 'itemNotFound', `Floating IP ${id} could not be found.`)
  }

  private async createServer(body: unknown): Promise<{status: number; body: unknown}> {
    const s = (body as {server?: Record<string, unknown>})?.server
    if (!s) throw nova(400, 'badRequest', "Invalid input for field/attribute server. 'server' is a required property")
    for (const field of ['name', 'flavorRef', 'imageRef'])
      if (typeof s[field] !== 'string' || !s[field])
        throw nova(400, 'badRequest', `Invalid input for field/attribute server. '${field}' is a required property`)
    if (!['1', '2'].includes(s.flavorRef as string)) throw nova(400, 'badRequest', `Flavor ${String(s.flavorRef)} could not be found.`)
    if (s.imageRef !== FAKE_OS_IMAGE_ID) throw nova(400, 'badRequest', `Image ${String(s.imageRef)} could not be found.`)
    const keyName = s.key_name as string | undefined
    if (keyName !== undefined && !this.keyPairs.has(keyName)) throw nova(400, 'badRequest', 'Invalid key_name provided.')
    const groups = ((s.security_groups as Array<{name?: string}> | undefined) ?? [{name: 'default'}]).map((g) => g.name ?? '')
    for (const g of groups)
      if (g !== 'default' && ![...this.groups.values()].some((x) => x.name === g || x.id === g))
        throw nova(400, 'badRequest', `Security group ${g} not found for project p-kola.`)
    const networks = (s.networks as Array<{uuid?: string}> | undefined) ?? []
    const networkId = networks[0]?.uuid ?? ''
    if (!this.networks.some((n) => n.id === networkId)) throw nova(400, 'badRequest', `Network ${networkId} could not be found.`)
    const userData = typeof s.user_data === 'string' ? s.user_data : ''
    if (userData && Buffer.from(userData, 'base64').toString('base64') !== userData)
      throw nova(400, 'badRequest', 'User data needs to be valid base 64.')
    const active = [...this.servers.values()].filter((x) => x.status !== 'DELETED').length
    const limit = this.options.instanceLimit ?? Number.POSITIVE_INFINITY
    if (active + 1 > limit)
      throw nova(403, 'forbidden', `Quota exceeded for instances: Requested 1, but already used ${active} of ${limit} instances`)
    const server: FakeServer = {
      id: randomUUID(),
      name: s.name as string,
      created: new Date(),
      status: 'BUILD',
      metadata: (s.metadata as Record<string, string> | undefined) ?? {},
      keyName,
      groups,
      networkId,
      userData: Buffer.from(userData, 'base64').toString('utf8'),
      activeAt: Date.now() + (this.options.activeDelayMs ?? 0),
      console: '',
    }
    this.servers.set(server.id, server)
    server.starting = this.options.machines.start(server.name, server.userData)
    void server.starting.then(
      (m) => {
        server.machine = m
      },
      (error: unknown) => {
        server.console = `fake nova: the machine did not start: ${String(error)}\n`
        // What Nova's scheduler says when no compute host takes the server.
        server.fault = 'No valid host was found. There are not enough hosts available.'
        server.status = 'ERROR'
      },
    )
    return {status: 202, body: {server: {id: server.id, links: [], 'OS-DCF:diskConfig': 'MANUAL', adminPass: 'x', security_groups: groups}}}
  }

  private async action(s: FakeServer, body: unknown): Promise<{status: number; body?: unknown}> {
    const b = (body ?? {}) as Record<string, {address?: string} | undefined>
    this.actions.push(...Object.keys(b))
    if ('os-getConsoleOutput' in b) return {status: 200, body: {output: s.machine ? await s.machine.console() : s.console}}
    if (b.addFloatingIp) {
      const f = [...this.floatingIps.values()].find((x) => x.ip === b.addFloatingIp?.address)
      if (!f) throw nova(404, 'itemNotFound', `floating IP not found`)
      if (!s.machine) throw nova(400, 'badRequest', `Instance ${s.id} has no fixed IP address to associate with.`)
      f.instanceId = s.id
      f.nat = await nat(f.ip, s.machine.ip)
      return {status: 202}
    }
    if (b.removeFloatingIp) {
      const f = [...this.floatingIps.values()].find((x) => x.ip === b.removeFloatingIp?.address && x.instanceId === s.id)
      if (!f) throw nova(409, 'conflictingRequest', `Floating IP ${b.removeFloatingIp.address} is not associated with instance ${s.id}.`)
      f.instanceId = null
      f.nat?.close()
      f.nat = undefined
      return {status: 202}
    }
    throw nova(400, 'badRequest', 'There is no such action')
  }

  private deleteServer(s: FakeServer): void {
    if (s.deleting) return
    s.deleting = true
    // Deleting a server disassociates its floating IPs; they stay allocated to the project.
    for (const f of this.floatingIps.values())
      if (f.instanceId === s.id) {
        f.instanceId = null
        f.nat?.close()
        f.nat = undefined
      }
    void (async () => {
      const machine = s.machine ?? (await s.starting?.catch(() => undefined))
      if (machine) {
        s.console = await machine.console()
        await machine.stop()
      }
      s.machine = undefined
      s.status = 'DELETED'
    })()
  }

  private serverJson(s: FakeServer): unknown {
    if (s.status === 'BUILD' && s.machine && !s.deleting && Date.now() >= s.activeAt) s.status = 'ACTIVE'
    const network = this.networks.find((n) => n.id === s.networkId)?.name ?? 'net'
    const addresses: Record<string, unknown[]> = {}
    if (s.status === 'ACTIVE' && s.machine) {
      addresses[network] = [
        {addr: s.machine.ip, version: 4, 'OS-EXT-IPS:type': 'fixed'},
        ...[...this.floatingIps.values()]
          .filter((f) => f.instanceId === s.id)
          .map((f) => ({addr: f.ip, version: 4, 'OS-EXT-IPS:type': 'floating'})),
      ]
    }
    return {
      id: s.id,
      name: s.name,
      status: s.status,
      created: s.created.toISOString().replace(/\.\d+Z$/, 'Z'),
      updated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      metadata: s.metadata,
      key_name: s.keyName ?? null,
      addresses,
      security_groups: s.groups.map((name) => ({name})),
      'OS-EXT-STS:task_state': s.deleting ? 'deleting' : null,
      ...(s.status === 'ERROR' ? {fault: {code: 500, message: s.fault, created: s.created.toISOString()}} : {}),
    }
  }
}

/** Forwards `from`:22 to `to`:22, as a floating IP's NAT does. */
async function nat(from: string, to: string): Promise<TcpServer> {
  const server = createTcpServer((inbound) => {
    const outbound = connect(22, to)
    inbound.on('error', () => outbound.destroy())
    outbound.on('error', () => inbound.destroy())
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(22, from, () => resolve())
  })
  return server
}
