// A fake Linode API v4 (Akamai Cloud) for kola's and ore's tests: a real HTTP server answering the
// request shapes of the API reference (techdocs.akamai.com/linode-api) as linodego sends them for
// flatcar/mantle platform/api/akamai/instance.go: POST /linode/instances (booted false, tags,
// metadata.user_data base64), GET /linode/types/{type}, POST .../disks from the image, GET
// .../disks/{id} until ready, POST .../configs (direct-disk), POST .../boot {config_id}, GET
// /linode/instances/{id} with ipv4, DELETE /linode/instances/{id}, lists as {data, page, pages}
// filtered by X-Filter, errors as {"errors": [{"reason", "field"}]}. Booting an instance starts a
// real machine from a MachineFactory with the decoded user data as its Ignition config. It rejects
// what the real API rejects: a wrong bearer token (401 Invalid Token), missing fields or user data
// that is not base64 (400 with the field), an unknown image or type (400/404), instances beyond
// the account limit (400 "Account limit reached").
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_LINODE_TOKEN = 'linode-fake-token-for-kola-tests-00000000000000000000000000000000'
export const FAKE_LINODE_IMAGE = 'private/4711'
const TYPES: Record<string, number> = {'g6-nanode-1': 25600, 'g6-standard-1': 51200}

interface FakeInstance {
  id: number
  label: string
  status: 'provisioning' | 'offline' | 'booting' | 'running'
  created: string
  tags: string[]
  userData: string
  disks: Map<number, {id: number; status: string; image: string}>
  configs: Map<number, {id: number; disk: number}>
  machine?: FakeMachine | undefined
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly field?: string,
  ) {
    super(reason)
  }
}

export class FakeLinode {
  readonly instances = new Map<number, FakeInstance>()
  readonly images = new Map([
    [
      FAKE_LINODE_IMAGE,
      {
        id: FAKE_LINODE_IMAGE,
        label: 'flatcar-test',
        status: 'available',
        is_public: false,
        created: '2026-01-01T00:00:00',
        tags: [] as string[],
      },
    ],
  ])
  /** "METHOD /path" of every request, in order. */
  readonly calls: string[] = []
  private server: Server | undefined
  private nextId = 1000
  url = ''

  /** Every instance id ever created. */
  readonly createdIds: number[] = []

  constructor(private readonly options: {machines: MachineFactory; instanceLimit?: number; diskError?: string}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (body) => res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, String(error))
          res
            .writeHead(e.status, {'content-type': 'application/json'})
            .end(JSON.stringify({errors: [{reason: e.reason, ...(e.field ? {field: e.field} : {})}]}))
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

  live(): {instances: number[]} {
    return {instances: [...this.instances.keys()]}
  }

  creates(): number {
    return this.calls.filter((c) => c === 'POST /linode/instances').length
  }

  private async handle(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://fake')
    if (!url.pathname.startsWith('/v4/')) throw new ApiError(404, 'Not found')
    const path = url.pathname.slice(3)
    this.calls.push(`${req.method} ${path}`)
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.headers.authorization !== `Bearer ${FAKE_LINODE_TOKEN}`) throw new ApiError(401, 'Invalid Token')
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {}
    const filter = JSON.parse(String(req.headers['x-filter'] ?? '{}')) as {tags?: string}
    const list = <T extends {tags: string[]}>(items: T[]) => {
      const data = items.filter((i) => !filter.tags || i.tags.includes(filter.tags))
      return {data, page: 1, pages: 1, results: data.length}
    }
    const parts = path.split('/').slice(1)
    const instance = parts[0] === 'linode' && parts[1] === 'instances' && parts[2] ? this.instances.get(Number(parts[2])) : undefined
    if (parts[0] === 'linode' && parts[1] === 'instances' && parts[2] && !instance) throw new ApiError(404, 'Not found')
    const route = `${req.method} ${parts.map((p, i) => (/^\d+$/.test(p) && i > 0 ? ':id' : p)).join('/')}`
    switch (route) {
      case 'GET linode/types/' + (parts[2] ?? ''): {
        const disk = TYPES[parts[2] ?? '']
        if (!disk) throw new ApiError(404, 'Not found')
        return {id: parts[2], disk, memory: 1024, vcpus: 1}
      }
      case 'GET images/private/:id': {
        const image = this.images.get(`private/${parts[2]}`)
        if (!image) throw new ApiError(404, 'Not found')
        return image
      }
      case 'GET images':
        return list([...this.images.values()])
      case 'GET volumes':
        return list([])
      case 'POST linode/instances':
        return this.create(body)
      case 'GET linode/instances':
        return list([...this.instances.values()].map(instanceJson))
      case 'GET linode/instances/:id':
        return instanceJson(instance!)
      case 'DELETE linode/instances/:id':
        this.instances.delete(instance!.id)
        await instance!.machine?.stop()
        return {}
      case 'POST linode/instances/:id/disks': {
        if (this.options.diskError) throw new ApiError(400, this.options.diskError, 'size')
        if (typeof body.image !== 'string' || !this.images.has(body.image)) throw new ApiError(400, 'Image not found', 'image')
        if (typeof body.root_pass !== 'string' || body.root_pass.length < 11)
          throw new ApiError(400, 'Password does not meet strength requirement.', 'root_pass')
        if (typeof body.size !== 'number' || body.size > (TYPES['g6-nanode-1'] ?? 0) * 4)
          throw new ApiError(400, 'Invalid disk size', 'size')
        const disk = {id: this.nextId++, status: 'not ready', image: body.image}
        instance!.disks.set(disk.id, disk)
        setTimeout(() => (disk.status = 'ready'), 200)
        return {id: disk.id, status: disk.status, label: body.label, size: body.size, filesystem: 'ext4'}
      }
      case 'GET linode/instances/:id/disks/:id': {
        const disk = instance!.disks.get(Number(parts[4]))
        if (!disk) throw new ApiError(404, 'Not found')
        return {id: disk.id, status: disk.status}
      }
      case 'POST linode/instances/:id/configs': {
        const diskId = (body.devices as {sda?: {disk_id?: number}} | undefined)?.sda?.disk_id
        if (!diskId || !instance!.disks.has(diskId)) throw new ApiError(400, 'Disk not found', 'devices.sda.disk_id')
        if (body.kernel !== 'linode/direct-disk' || typeof body.label !== 'string')
          throw new ApiError(400, 'label and kernel are required', 'kernel')
        const config = {id: this.nextId++, disk: diskId}
        instance!.configs.set(config.id, config)
        return {id: config.id, label: body.label, kernel: body.kernel}
      }
      case 'POST linode/instances/:id/boot': {
        if (!instance!.configs.has(Number(body.config_id))) throw new ApiError(400, 'Config not found', 'config_id')
        if (instance!.status !== 'offline') throw new ApiError(400, 'Linode busy.')
        instance!.status = 'booting'
        const inst = instance!
        void this.options.machines.start(inst.label, inst.userData).then((m) => {
          inst.machine = m
          if (this.instances.has(inst.id)) inst.status = 'running'
          else void m.stop()
        })
        return {}
      }
      default:
        throw new ApiError(404, `Not found: ${req.method} ${path}`)
    }
  }

  private create(body: Record<string, unknown>): unknown {
    for (const f of ['region', 'type']) if (typeof body[f] !== 'string') throw new ApiError(400, `${f} is required`, f)
    if (!TYPES[body.type as string]) throw new ApiError(400, 'A valid plan type by that ID was not found', 'type')
    if (typeof body.label !== 'string' || !/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{1,62})$/.test(body.label) || /--|__|\.\./.test(body.label))
      throw new ApiError(400, 'Label must include only ASCII letters, numbers, dashes, underscores and periods', 'label')
    const userData = (body.metadata as {user_data?: string} | undefined)?.user_data ?? ''
    if (userData && Buffer.from(userData, 'base64').toString('base64') !== userData)
      throw new ApiError(400, 'user_data must be base64', 'metadata.user_data')
    if (this.options.instanceLimit !== undefined && this.instances.size >= this.options.instanceLimit)
      throw new ApiError(400, 'Account limit reached. Please contact support if you need more resources.')
    const instance: FakeInstance = {
      id: this.nextId++,
      label: body.label,
      status: body.booted === false ? 'offline' : 'provisioning',
      created: new Date().toISOString().slice(0, 19),
      tags: (body.tags ?? []) as string[],
      userData: Buffer.from(userData, 'base64').toString('utf8'),
      disks: new Map(),
      configs: new Map(),
    }
    this.instances.set(instance.id, instance)
    this.createdIds.push(instance.id)
    return instanceJson(instance)
  }
}

function instanceJson(i: FakeInstance): {tags: string[]} & Record<string, unknown> {
  return {
    id: i.id,
    label: i.label,
    status: i.status,
    created: i.created,
    tags: i.tags,
    ipv4: i.machine && i.status === 'running' ? [i.machine.ip] : [],
    region: 'us-ord',
    type: 'g6-nanode-1',
  }
}
