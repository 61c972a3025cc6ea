// A fake DigitalOcean API v2 for kola's own tests: a real HTTP server
// answering the request and response shapes of DigitalOcean's API reference
// (and of godo, which flatcar/mantle platform/api/do/api.go drives): account,
// images, SSH keys, droplets (with `user_data` and `tags`), actions. Every
// droplet it creates is a real machine from a MachineFactory, configured by
// its user data. What it checks: the bearer token, the fields a droplet create
// requires, that the image and SSH keys named exist, the droplet limit.
import {createHash, randomInt} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_DO_TOKEN = 'dop_v1_fakekola00000000000000000000000000000000000000000000000000000'
export const FAKE_DO_IMAGE_ID = 170000001
export const FAKE_DO_IMAGE_NAME = 'kola-test-image'
export const FAKE_DO_REGION = 'sfo2'

export interface FakeDoOptions {
  machines: MachineFactory
  /** Time a droplet's create action takes. */
  launchDelayMs?: number
  /** Time from the machine's start until the droplet is active. */
  runningDelayMs?: number
  /** The account's droplet limit. */
  dropletLimit?: number
}

interface Droplet {
  id: number
  name: string
  region: string
  size: string
  image: number
  tags: string[]
  sshKeys: number[]
  /** The user_data it was created with. */
  userData: string
  created: Date
  status: 'new' | 'active' | 'off' | 'archive'
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine | undefined> | undefined
  activeAt: number
  deleted: boolean
}

interface Key {
  id: number
  name: string
  public_key: string
  fingerprint: string
}

interface Action {
  id: number
  type: 'create'
  dropletId: number
  status: 'in-progress' | 'completed' | 'errored'
  started: Date
  completed?: Date | undefined
}

class DoError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message)
  }
}

export class FakeDo {
  readonly droplets = new Map<number, Droplet>()
  readonly keys = new Map<number, Key>()
  readonly actions = new Map<number, Action>()
  /** Every request, as `METHOD /v2/path` with ids replaced by `:id`. */
  readonly calls: string[] = []
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeDoOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) =>
          body === undefined
            ? res.writeHead(status).end()
            : res.writeHead(status, {'content-type': 'application/json; charset=utf-8'}).end(JSON.stringify(body)),
        (error: unknown) => res.writeHead(500).end(String(error)),
      )
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
    await this.options.machines.stopAll()
  }

  /** Droplets and keys not yet deleted. */
  live(): {droplets: number[]; keys: number[]} {
    return {droplets: [...this.droplets.values()].filter((d) => !d.deleted).map((d) => d.id), keys: [...this.keys.keys()]}
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const url = new URL(req.url ?? '/', 'http://fake')
    const method = req.method ?? 'GET'
    this.calls.push(`${method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/:id')}`)
    try {
      if (req.headers.authorization !== `Bearer ${FAKE_DO_TOKEN}`) throw new DoError(401, 'unauthorized', 'Unable to authenticate you')
      const text = Buffer.concat(chunks).toString('utf8')
      let body: Record<string, unknown> = {}
      if (text) {
        if (!/application\/json/.test(req.headers['content-type'] ?? ''))
          throw new DoError(415, 'unsupported_media_type', 'Content-Type must be application/json')
        body = JSON.parse(text) as Record<string, unknown>
      }
      return await this.route(method, url.pathname.replace(/^\/v2\//, ''), url.searchParams, body)
    } catch (error) {
      if (!(error instanceof DoError)) throw error
      return {
        status: error.status,
        body: {id: error.id, message: error.message, request_id: createHash('md5').update(String(Math.random())).digest('hex')},
      }
    }
  }

  private async route(
    method: string,
    path: string,
    q: URLSearchParams,
    body: Record<string, unknown>,
  ): Promise<{status: number; body?: unknown}> {
    let m: RegExpExecArray | null
    const ok = (b: unknown, status = 200) => ({status, body: b})
    if (method === 'GET' && path === 'account')
      return ok({
        account: {
          droplet_limit: this.options.dropletLimit ?? 25,
          floating_ip_limit: 3,
          email: 'kola@example.org',
          uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
          email_verified: true,
          status: 'active',
          status_message: '',
        },
      })
    if (method === 'GET' && (m = /^images\/(\d+)$/.exec(path))) {
      if (Number(m[1]) !== FAKE_DO_IMAGE_ID) throw notFound()
      return ok({image: this.image()})
    }
    if (method === 'GET' && path === 'images') return ok(page('images', [this.image()], q))
    if (method === 'GET' && path === 'account/keys') return ok(page('ssh_keys', [...this.keys.values()], q))
    if (method === 'POST' && path === 'account/keys') {
      const name = typeof body.name === 'string' ? body.name : ''
      const publicKey = typeof body.public_key === 'string' ? body.public_key : ''
      if (!name) throw unprocessable("Name can't be blank")
      if (!/^ssh-(ed25519|rsa) [A-Za-z0-9+/=]+/.test(publicKey))
        throw unprocessable('Key invalid type, we support RSA, ECDSA, and ED25519 keys')
      if ([...this.keys.values()].some((k) => k.public_key === publicKey)) throw unprocessable('SSH Key is already in use on your account')
      const key: Key = {id: randomInt(10_000_000, 99_999_999), name, public_key: publicKey, fingerprint: fingerprint(publicKey)}
      this.keys.set(key.id, key)
      return ok({ssh_key: key}, 201)
    }
    if (method === 'DELETE' && (m = /^account\/keys\/(\d+)$/.exec(path))) {
      if (!this.keys.delete(Number(m[1]))) throw notFound()
      return {status: 204}
    }
    if (method === 'GET' && path === 'droplets') {
      const tag = q.get('tag_name')
      const found = [...this.droplets.values()].filter((d) => !d.deleted && (!tag || d.tags.includes(tag)))
      return ok(
        page(
          'droplets',
          found.map((d) => this.dropletJson(d)),
          q,
        ),
      )
    }
    if (method === 'POST' && path === 'droplets') return this.create(body)
    if ((m = /^droplets\/(\d+)$/.exec(path))) {
      const d = this.droplets.get(Number(m[1]))
      if (!d || d.deleted) throw notFound()
      if (method === 'GET') return ok({droplet: this.dropletJson(d)})
      if (method === 'DELETE') {
        // Gone at once for the API (GET answers 404); the machine powers off behind it.
        d.deleted = true
        void (d.machine ? Promise.resolve(d.machine) : d.starting)?.then((machine) => machine?.stop())
        return {status: 204}
      }
    }
    if (method === 'GET' && (m = /^actions\/(\d+)$/.exec(path))) {
      const a = this.actions.get(Number(m[1]))
      if (!a) throw notFound()
      return ok({
        action: {
          id: a.id,
          status: a.status,
          type: a.type,
          started_at: a.started.toISOString(),
          completed_at: a.completed?.toISOString() ?? null,
          resource_id: a.dropletId,
          resource_type: 'droplet',
          region_slug: FAKE_DO_REGION,
        },
      })
    }
    throw notFound()
  }

  /** POST /v2/droplets: 202 {droplet, links: {actions: [{id, rel: "create", href}]}}. */
  private create(body: Record<string, unknown>): {status: number; body: unknown} {
    for (const field of ['name', 'region', 'size', 'image'])
      if (body[field] === undefined || body[field] === '') throw unprocessable(`${field} is required`)
    const name = String(body.name)
    if (!/^[a-zA-Z0-9.-]{1,255}$/.test(name))
      throw unprocessable('Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)')
    if (body.region !== FAKE_DO_REGION) throw unprocessable(`Region is not available`)
    if (Number(body.image) !== FAKE_DO_IMAGE_ID) throw unprocessable('You specified an invalid image for Droplet creation.')
    const sshKeys = (Array.isArray(body.ssh_keys) ? body.ssh_keys : []) as Array<number | string>
    for (const k of sshKeys)
      if (![...this.keys.values()].some((key) => key.id === Number(k) || key.fingerprint === k))
        throw unprocessable('You specified an invalid ssh key ID or fingerprint for Droplet creation.')
    const tags = (Array.isArray(body.tags) ? body.tags : []) as string[]
    for (const t of tags) if (!/^[a-zA-Z0-9_:-]{1,255}$/.test(t)) throw unprocessable(`Tag "${t}" is invalid`)
    const userData = typeof body.user_data === 'string' ? body.user_data : ''
    if (Buffer.byteLength(userData) > 64 * 1024) throw unprocessable('User data is too long (maximum is 64KB)')
    const active = [...this.droplets.values()].filter((d) => !d.deleted).length
    if (active + 1 > (this.options.dropletLimit ?? 25)) throw unprocessable('creating this/these droplet(s) will exceed your droplet limit')
    const droplet: Droplet = {
      id: randomInt(300_000_000, 399_999_999),
      name,
      region: FAKE_DO_REGION,
      size: String(body.size),
      image: FAKE_DO_IMAGE_ID,
      tags,
      sshKeys: sshKeys.map(Number),
      userData,
      created: new Date(),
      status: 'new',
      activeAt: Number.POSITIVE_INFINITY,
      deleted: false,
    }
    this.droplets.set(droplet.id, droplet)
    const action: Action = {
      id: randomInt(1_000_000_000, 1_999_999_999),
      type: 'create',
      dropletId: droplet.id,
      status: 'in-progress',
      started: new Date(),
    }
    this.actions.set(action.id, action)
    droplet.starting = this.options.machines.start(name, userData).then(
      async (machine) => {
        droplet.machine = machine
        await sleep(this.options.launchDelayMs ?? 0)
        droplet.activeAt = Date.now() + (this.options.runningDelayMs ?? 0)
        action.status = 'completed'
        action.completed = new Date()
        return machine
      },
      () => {
        action.status = 'errored'
        return undefined
      },
    )
    return {
      status: 202,
      body: {
        droplet: this.dropletJson(droplet),
        links: {actions: [{id: action.id, rel: 'create', href: `${this.url}/actions/${action.id}`}]},
      },
    }
  }

  private dropletJson(d: Droplet): unknown {
    if (d.status === 'new' && Date.now() >= d.activeAt) d.status = 'active'
    const ip = d.status === 'active' ? d.machine?.ip : undefined
    return {
      id: d.id,
      name: d.name,
      memory: 2048,
      vcpus: 1,
      disk: 50,
      locked: false,
      status: d.status,
      created_at: d.created.toISOString().replace(/\.\d+Z$/, 'Z'),
      features: ['private_networking'],
      backup_ids: [],
      snapshot_ids: [],
      image: this.image(),
      size_slug: d.size,
      networks: {
        v4: ip
          ? [
              {ip_address: ip, netmask: '255.255.255.0', gateway: ip.replace(/\.\d+$/, '.1'), type: 'public'},
              {ip_address: ip, netmask: '255.255.255.0', gateway: ip.replace(/\.\d+$/, '.1'), type: 'private'},
            ]
          : [],
        v6: [],
      },
      region: {slug: d.region, name: 'San Francisco 2', available: true},
      tags: d.tags,
      vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
    }
  }

  private image(): unknown {
    return {
      id: FAKE_DO_IMAGE_ID,
      name: FAKE_DO_IMAGE_NAME,
      distribution: 'Unknown',
      slug: null,
      public: false,
      regions: [FAKE_DO_REGION],
      created_at: '2026-12-01T00:00:00Z',
      type: 'custom',
      min_disk_size: 1,
      size_gigabytes: 0.2,
      description: 'kola test image',
      tags: [],
      status: 'available',
      error_message: '',
    }
  }
}

function page(field: string, items: unknown[], q: URLSearchParams): unknown {
  const per = Number(q.get('per_page') ?? 20)
  const n = Number(q.get('page') ?? 1)
  const slice = items.slice((n - 1) * per, n * per)
  return {
    [field]: slice,
    links: n * per < items.length ? {pages: {next: `?page=${n + 1}&per_page=${per}`}} : {},
    meta: {total: items.length},
  }
}

function notFound(): DoError {
  return new DoError(404, 'not_found', 'The resource you were accessing could not be found.')
}

function unprocessable(message: string): DoError {
  return new DoError(422, 'unprocessable_entity', message)
}

/** The MD5 fingerprint DigitalOcean shows for a key. */
function fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64')
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':')
}
