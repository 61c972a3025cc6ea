// A fake Scaleway Instance API v1 for kola's and ore's tests: a real HTTP server answering the
// request shapes of the API reference (scaleway.com/en/developers/api/instance) as
// scaleway-sdk-go sends them for flatcar/mantle platform/api/scaleway/instance.go: POST /servers
// (stopped, its volume from base_snapshot), PATCH /servers/{id}/user_data/cloud-init (text/plain),
// POST /servers/{id}/action {poweron|poweroff|terminate}, GET /servers/{id} with public_ip,
// DELETE /servers/{id} and /volumes/{id}, lists by tags with X-Total-Count, errors as
// {"type", "message"}. A server powered on is a real machine from a MachineFactory booted with
// the cloud-init user data it received as its Ignition config. It rejects what the real API
// rejects: a wrong X-Auth-Token (401 denied_authentication), missing fields (400
// invalid_request_error), an unknown snapshot (404 unknown_resource), deleting a running server
// (400 resource_still_in_use), servers beyond the quota (403 quotas_exceeded).
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_SCALEWAY_SECRET = '11111111-2222-4333-8444-555555555555'
export const FAKE_SCALEWAY_PROJECT = '66666666-7777-4888-9999-000000000000'
export const FAKE_SCALEWAY_SNAPSHOT = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'
const ZONE = 'fr-par-1'

interface FakeServer {
  id: string
  name: string
  state: 'stopped' | 'starting' | 'running' | 'stopping'
  creation_date: string
  tags: string[]
  project: string
  volumeId: string
  userData: Map<string, string>
  machine?: FakeMachine | undefined
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message)
  }
}

export class FakeScaleway {
  readonly servers = new Map<string, FakeServer>()
  readonly volumes = new Map<string, {id: string; name: string; creation_date: string; tags: string[]; server?: string | undefined}>()
  readonly snapshots = new Map([
    [
      FAKE_SCALEWAY_SNAPSHOT,
      {id: FAKE_SCALEWAY_SNAPSHOT, name: 'flatcar-test', state: 'available', creation_date: new Date().toISOString(), tags: [] as string[]},
    ],
  ])
  /** "METHOD /path" (below the zone) of every request, in order. */
  readonly calls: string[] = []
  private server: Server | undefined
  url = ''

  constructor(private readonly options: {machines: MachineFactory; serverQuota?: number; userDataError?: string}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) =>
          body === undefined
            ? res.writeHead(status).end()
            : res
                .writeHead(status, {
                  'content-type': 'application/json',
                  'x-total-count': String(
                    Array.isArray(Object.values(body as object)[0]) ? (Object.values(body as object)[0] as unknown[]).length : 1,
                  ),
                })
                .end(JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, 'internal_error', String(error))
          res.writeHead(e.status, {'content-type': 'application/json'}).end(JSON.stringify({type: e.type, message: e.message}))
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

  live(): {servers: string[]; volumes: string[]} {
    return {servers: [...this.servers.keys()], volumes: [...this.volumes.keys()]}
  }

  creates(): number {
    return this.calls.filter((c) => c === 'POST /servers').length
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const prefix = `/instance/v1/zones/${ZONE}`
    if (!url.pathname.startsWith(prefix)) throw new ApiError(404, 'not_found', `no zone in ${url.pathname}`)
    const path = url.pathname.slice(prefix.length)
    this.calls.push(`${req.method} ${path}`)
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.headers['x-auth-token'] !== FAKE_SCALEWAY_SECRET) throw new ApiError(401, 'denied_authentication', 'invalid auth token')
    const raw = Buffer.concat(chunks).toString('utf8')
    const [, kind, id, sub, key] = path.split('/')
    const tag = url.searchParams.get('tags')
    const tagged = <T extends {tags: string[]}>(items: T[]) => items.filter((i) => !tag || i.tags.includes(tag))
    const route = `${req.method} ${kind}${id ? '/:id' : ''}${sub ? `/${sub}` : ''}`
    const json = (): Record<string, unknown> => {
      if (!/json/.test(String(req.headers['content-type']))) throw new ApiError(400, 'invalid_request_error', 'expected application/json')
      return JSON.parse(raw) as Record<string, unknown>
    }
    const server = id ? this.servers.get(id) : undefined
    if (kind === 'servers' && id && !server) throw new ApiError(404, 'unknown_resource', `"${id}" not found`)
    switch (route) {
      case 'GET snapshots/:id': {
        const s = this.snapshots.get(id!)
        if (!s) throw new ApiError(404, 'unknown_resource', `"${id}" not found`)
        return {status: 200, body: {snapshot: s}}
      }
      case 'GET snapshots':
        return {status: 200, body: {snapshots: tagged([...this.snapshots.values()])}}
      case 'GET images':
        return {status: 200, body: {images: []}}
      case 'GET volumes':
        return {status: 200, body: {volumes: tagged([...this.volumes.values()])}}
      case 'DELETE volumes/:id': {
        const v = this.volumes.get(id!)
        if (!v) throw new ApiError(404, 'unknown_resource', `"${id}" not found`)
        if (v.server && this.servers.has(v.server)) throw new ApiError(400, 'invalid_request_error', 'volume is attached to a server')
        this.volumes.delete(id!)
        return {status: 204}
      }
      case 'POST servers':
        return this.createServer(json())
      case 'GET servers':
        return {status: 200, body: {servers: tagged([...this.servers.values()]).map(serverJson)}}
      case 'GET servers/:id':
        return {status: 200, body: {server: serverJson(server!)}}
      case 'PATCH servers/:id/user_data':
        if (this.options.userDataError) throw new ApiError(400, 'invalid_request_error', this.options.userDataError)
        if (req.headers['content-type'] !== 'text/plain') throw new ApiError(400, 'invalid_request_error', 'user data must be text/plain')
        server!.userData.set(key ?? '', raw)
        return {status: 204}
      case 'POST servers/:id/action':
        return this.action(server!, String(json().action))
      case 'DELETE servers/:id':
        if (server!.state !== 'stopped') throw new ApiError(400, 'resource_still_in_use', 'server should be stopped')
        this.servers.delete(id!)
        this.volumes.get(server!.volumeId)!.server = undefined
        return {status: 204}
      default:
        throw new ApiError(404, 'not_found', `no route ${req.method} ${path}`)
    }
  }

  private createServer(body: Record<string, unknown>): {status: number; body: unknown} {
    for (const f of ['name', 'commercial_type', 'project'])
      if (typeof body[f] !== 'string' || body[f] === '')
        throw new ApiError(400, 'invalid_request_error', `Validation Error: ${f} is required`)
    const base = (body.volumes as Record<string, {base_snapshot?: string}> | undefined)?.['0']?.base_snapshot
    if (!base || !this.snapshots.has(base)) throw new ApiError(404, 'unknown_resource', `snapshot "${String(base)}" not found`)
    if (this.options.serverQuota !== undefined && this.servers.size >= this.options.serverQuota)
      throw new ApiError(
        403,
        'quotas_exceeded',
        `Quotas exceeded: Instances_${String(body.commercial_type).toLowerCase()}_servers has reached its limit`,
      )
    const now = new Date().toISOString()
    const volume = {id: randomUUID(), name: `${String(body.name)}-vol-0`, creation_date: now, tags: [] as string[], server: ''}
    const server: FakeServer = {
      id: randomUUID(),
      name: String(body.name),
      state: 'stopped',
      creation_date: now,
      tags: (body.tags ?? []) as string[],
      project: String(body.project),
      volumeId: volume.id,
      userData: new Map(),
    }
    volume.server = server.id
    this.volumes.set(volume.id, volume)
    this.servers.set(server.id, server)
    return {status: 201, body: {server: serverJson(server)}}
  }

  private action(server: FakeServer, action: string): {status: number; body: unknown} {
    const task = {id: randomUUID(), description: `server_${action}`, status: 'pending', href_from: `/servers/${server.id}/action`}
    if (action === 'poweron') {
      if (server.state !== 'stopped') throw new ApiError(400, 'invalid_request_error', 'server should be stopped')
      server.state = 'starting'
      void this.options.machines.start(server.name, server.userData.get('cloud-init') ?? '').then((m) => {
        server.machine = m
        if (server.state === 'starting') server.state = 'running'
        else void m.stop()
      })
    } else if (action === 'poweroff' || action === 'terminate') {
      if (server.state === 'stopped') throw new ApiError(400, 'invalid_request_error', 'server is already stopped')
      server.state = 'stopping'
      void (server.machine?.stop() ?? Promise.resolve()).then(() => {
        server.state = 'stopped'
        if (action === 'terminate') {
          this.servers.delete(server.id)
          this.volumes.delete(server.volumeId)
        }
      })
    } else throw new ApiError(400, 'invalid_request_error', `unknown action ${action}`)
    return {status: 202, body: {task}}
  }
}

function serverJson(s: FakeServer): unknown {
  const ip = s.machine?.ip
  return {
    id: s.id,
    name: s.name,
    state: s.state,
    creation_date: s.creation_date,
    tags: s.tags,
    project: s.project,
    commercial_type: 'DEV1-S',
    public_ip: s.state === 'running' && ip ? {id: s.id, address: ip, dynamic: true} : null,
    private_ip: null,
    volumes: {'0': {id: s.volumeId, volume_type: 'l_ssd'}},
  }
}
