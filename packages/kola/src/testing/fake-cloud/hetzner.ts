// A fake Hetzner Cloud API v1 for kola's and ore's tests: a real HTTP server answering the
// request shapes of the API reference (docs.hetzner.cloud) as hcloud-go sends them for
// flatcar/mantle platform/api/hetzner/api.go: GET /server_types?name=, /locations?name=,
// /images/{id}, POST /ssh_keys, POST /servers (user_data, ssh_keys, labels), GET /actions/{id},
// GET /servers/{id}, DELETE /servers/{id}, label_selector lists with meta.pagination, errors as
// {"error": {"code", "message"}}. Every server is a real machine from a MachineFactory booted with
// the user_data it received as its Ignition config. It rejects what the real API rejects: a
// missing or wrong bearer token (401 unauthorized), a server or key without its required fields
// (422 invalid_input), an unknown image or type (404 not_found), servers beyond the limit
// (403 resource_limit_exceeded).
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_HETZNER_TOKEN = 'hcloud-fake-token-for-kola-tests-0000000000000000000000000000000'
export const FAKE_HETZNER_IMAGE = 4711

interface Labelled {
  id: number
  name: string
  created: string
  labels: Record<string, string>
}

interface FakeServer extends Labelled {
  status: 'initializing' | 'running' | 'deleting'
  userData: string
  sshKeys: number[]
  machine?: FakeMachine | undefined
}

interface Action {
  id: number
  command: string
  status: 'running' | 'success' | 'error'
  done: Promise<void>
  error?: {code: string; message: string} | undefined
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

export class FakeHetzner {
  readonly servers = new Map<number, FakeServer>()
  readonly sshKeys = new Map<number, Labelled & {publicKey: string}>()
  readonly images = new Map<number, Labelled & {description: string; type: string}>([
    [
      FAKE_HETZNER_IMAGE,
      {id: FAKE_HETZNER_IMAGE, name: '', description: 'flatcar-test', type: 'snapshot', created: new Date().toISOString(), labels: {}},
    ],
  ])
  readonly volumes = new Map<number, Labelled>()
  private readonly actions = new Map<number, Action>()
  /** "METHOD /path" of every request, in order. */
  readonly calls: string[] = []
  private server: Server | undefined
  private nextId = 100
  url = ''

  constructor(private readonly options: {machines: MachineFactory; serverLimit?: number; createActionError?: string}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) =>
          body === undefined
            ? res.writeHead(status).end()
            : res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, 'server_error', String(error))
          res
            .writeHead(e.status, {'content-type': 'application/json'})
            .end(JSON.stringify({error: {code: e.code, message: e.message, details: {}}}))
        },
      )
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
    await this.options.machines.stopAll()
  }

  /** Server ids and SSH key ids not deleted (the run's images and volumes too, if any). */
  live(): {servers: number[]; sshKeys: number[]} {
    return {servers: [...this.servers.keys()], sshKeys: [...this.sshKeys.keys()]}
  }

  /** How many creating requests (POST) were received. */
  creates(): number {
    return this.calls.filter((c) => c.startsWith('POST ')).length
  }

  private action(command: string, work: Promise<void>): Action {
    const action: Action = {id: this.nextId++, command, status: 'running', done: work}
    work.then(
      () => (action.status = 'success'),
      (error: unknown) => {
        action.status = 'error'
        action.error = {code: 'action_failed', message: String(error)}
      },
    )
    this.actions.set(action.id, action)
    return action
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const path = url.pathname.replace(/^\/v1/, '')
    this.calls.push(`${req.method} ${path}`)
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.headers.authorization !== `Bearer ${FAKE_HETZNER_TOKEN}`) throw new ApiError(401, 'unauthorized', 'unable to authenticate')
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {}
    const q = url.searchParams
    const [, kind, id] = path.split('/')
    const numericId = Number(id)
    switch (`${req.method} ${kind}${id ? '/:id' : ''}`) {
      case 'GET server_types':
        return list(
          'server_types',
          q.get('name') === 'cpx22' || q.get('name') === 'cx22' ? [{id: 1, name: q.get('name'), architecture: 'x86'}] : [],
        )
      case 'GET locations':
        return list('locations', q.get('name') === 'fsn1' ? [{id: 1, name: 'fsn1', network_zone: 'eu-central'}] : [])
      case 'GET images/:id': {
        const image = this.images.get(numericId)
        if (!image) throw new ApiError(404, 'not_found', `image with ID '${id}' not found`)
        return {status: 200, body: {image: {...image, status: 'available', architecture: 'x86'}}}
      }
      case 'GET images':
        return list(
          'images',
          this.select(this.images, q).map((i) => ({...i, status: 'available', architecture: 'x86'})),
        )
      case 'DELETE images/:id':
        if (!this.images.delete(numericId)) throw new ApiError(404, 'not_found', 'image not found')
        return {status: 204}
      case 'POST ssh_keys': {
        if (typeof body.name !== 'string' || typeof body.public_key !== 'string')
          throw new ApiError(422, 'invalid_input', 'invalid input in fields name, public_key')
        if ([...this.sshKeys.values()].some((k) => k.name === body.name))
          throw new ApiError(409, 'uniqueness_error', 'SSH key with the same name already exists')
        const key = {
          id: this.nextId++,
          name: body.name,
          publicKey: body.public_key,
          created: new Date().toISOString(),
          labels: (body.labels ?? {}) as Record<string, string>,
        }
        this.sshKeys.set(key.id, key)
        return {status: 201, body: {ssh_key: sshKeyJson(key)}}
      }
      case 'GET ssh_keys':
        return list('ssh_keys', this.select(this.sshKeys, q).map(sshKeyJson))
      case 'DELETE ssh_keys/:id':
        if (!this.sshKeys.delete(numericId)) throw new ApiError(404, 'not_found', 'ssh key not found')
        return {status: 204}
      case 'GET volumes':
        return list('volumes', this.select(this.volumes, q))
      case 'POST servers':
        return this.createServer(body)
      case 'GET servers':
        return list(
          'servers',
          this.select(this.servers, q).map((s) => serverJson(s)),
        )
      case 'GET servers/:id': {
        const server = this.servers.get(numericId)
        if (!server) throw new ApiError(404, 'not_found', `server with ID '${id}' not found`)
        return {status: 200, body: {server: serverJson(server)}}
      }
      case 'DELETE servers/:id': {
        const server = this.servers.get(numericId)
        if (!server) throw new ApiError(404, 'not_found', `server with ID '${id}' not found`)
        server.status = 'deleting'
        const action = this.action(
          'delete_server',
          (async () => {
            await server.machine?.stop()
            this.servers.delete(server.id)
          })(),
        )
        return {status: 200, body: {action: actionJson(action)}}
      }
      case 'GET actions/:id': {
        const action = this.actions.get(numericId)
        if (!action) throw new ApiError(404, 'not_found', 'action not found')
        return {status: 200, body: {action: actionJson(action)}}
      }
      default:
        throw new ApiError(404, 'not_found', `no route ${req.method} ${path}`)
    }
  }

  private createServer(body: Record<string, unknown>): {status: number; body: unknown} {
    for (const field of ['name', 'server_type', 'image'])
      if (typeof body[field] !== 'string' || body[field] === '')
        throw new ApiError(422, 'invalid_input', `invalid input in field '${field}'`)
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(body.name as string))
      throw new ApiError(422, 'invalid_input', "invalid input in field 'name': must be a valid hostname")
    if (!this.images.has(Number(body.image))) throw new ApiError(404, 'not_found', `image ${String(body.image)} not found`)
    if (this.options.serverLimit !== undefined && this.servers.size >= this.options.serverLimit)
      throw new ApiError(403, 'resource_limit_exceeded', 'server limit exceeded')
    const sshKeys = (body.ssh_keys ?? []) as number[]
    for (const k of sshKeys) if (!this.sshKeys.has(k)) throw new ApiError(404, 'not_found', `ssh key ${k} not found`)
    const server: FakeServer = {
      id: this.nextId++,
      name: body.name as string,
      created: new Date().toISOString(),
      labels: (body.labels ?? {}) as Record<string, string>,
      status: 'initializing',
      userData: String(body.user_data ?? ''),
      sshKeys,
    }
    this.servers.set(server.id, server)
    const action = this.action(
      'create_server',
      (async () => {
        if (this.options.createActionError) throw new Error(this.options.createActionError)
        server.machine = await this.options.machines.start(server.name, server.userData)
        if (server.status === 'initializing') server.status = 'running'
      })(),
    )
    const start = this.action('start_server', action.done)
    return {
      status: 201,
      body: {server: serverJson(server), action: actionJson(action), next_actions: [actionJson(start)], root_password: null},
    }
  }

  /** Hetzner's label_selector: comma-separated key=value terms, all of which must match. */
  private select<T extends Labelled>(map: Map<number, T>, q: URLSearchParams): T[] {
    const terms = (q.get('label_selector') ?? '').split(',').filter(Boolean)
    for (const t of terms)
      if (!/^[a-z0-9A-Z._/-]+=[a-z0-9A-Z._-]*$/.test(t)) throw new ApiError(400, 'invalid_input', `invalid label_selector '${t}'`)
    const name = q.get('name')
    return [...map.values()].filter((r) => terms.every((t) => r.labels[t.split('=')[0]!] === t.split('=')[1]) && (!name || r.name === name))
  }
}

function list(field: string, items: unknown[]): {status: number; body: unknown} {
  return {
    status: 200,
    body: {
      [field]: items,
      meta: {pagination: {page: 1, per_page: 50, previous_page: null, next_page: null, last_page: 1, total_entries: items.length}},
    },
  }
}

function sshKeyJson(k: Labelled & {publicKey: string}): unknown {
  return {
    id: k.id,
    name: k.name,
    public_key: k.publicKey,
    fingerprint: 'b7:2f:30:a0:2f:6c:58:6c:21:04:58:61:ba:06:3b:2f',
    labels: k.labels,
    created: k.created,
  }
}

function serverJson(s: FakeServer): unknown {
  const ip = s.machine?.ip
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    created: s.created,
    labels: s.labels,
    public_net: {
      ipv4: ip ? {id: s.id, ip, blocked: false, dns_ptr: 'static.example.com'} : null,
      ipv6: null,
      floating_ips: [],
      firewalls: [],
    },
    private_net: [],
    server_type: {id: 1, name: 'cpx22', architecture: 'x86'},
  }
}

function actionJson(a: Action): unknown {
  return {
    id: a.id,
    command: a.command,
    status: a.status,
    progress: a.status === 'running' ? 0 : 100,
    started: new Date().toISOString(),
    finished: null,
    resources: [],
    error: a.error ?? null,
  }
}
