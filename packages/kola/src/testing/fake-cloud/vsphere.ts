// A fake vCenter for kola's own tests: the vSphere Automation REST API
// (/api, vCenter 7.0U2+) over real HTTP, with the request and response shapes
// of its reference: POST /api/session with Basic auth, then the
// vmware-api-session-id header; datastores, resource pools, content library
// and item find; POST /api/vcenter/ovf/library-item/{id}?action=deploy with
// PropertyParams in additional_parameters; power start/stop; guest identity
// (503 until VMware Tools run); a serial port backed by a datastore file
// (POST .../hardware/serial, only while powered off), read through vCenter's
// file access (GET /folder/<path>?dcPath=&dsName=, Basic auth), as
// flatcar/mantle's addSerialPort and GetConsoleOutput use serial.out in the
// VM's directory; VM list and delete (which removes the VM's files). The library item stands
// for Flatcar's VMware OVA, whose vApp properties are
// guestinfo.ignition.config.data and .encoding (flatcar/mantle
// platform/api/esx/api.go, updateOVFEnv): a deploy setting any other
// property, or data that is not base64, is refused. Each powered-on VM is a
// real machine from a MachineFactory configured by that guestinfo, a VMware
// look-alike (DMI vendor VMware, its NIC ens192 in PCIe slot 192) on the port
// group's network: DHCP there, unless the guest sets a static address, as
// Flatcar's esx platform makes it with --esx-static-ips (the networkd unit
// 00-vmware.network in the Ignition config, platform/machine/esx/cluster.go);
// then port 22 is forwarded to that address, so SSH answers only if the guest
// really has it. VMware Tools report the address kola reaches (as for DHCP).
import {randomInt} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeMachine, MachineFactory, MachineNetwork} from './machines.js'

export const FAKE_VC_USER = 'administrator@vsphere.local'
export const FAKE_VC_PASSWORD = 'fake-vcenter-password-0000'
export const FAKE_BASE_VM = 'flatcar-kola-base'

const OVF_PROPERTIES = ['guestinfo.ignition.config.data', 'guestinfo.ignition.config.data.encoding']

export interface FakeVsphereOptions {
  machines: MachineFactory
  /** Time from power-on (once the machine runs) until VMware Tools report the guest identity. */
  toolsDelayMs?: number
  /** VMs the resource pool has room for: a deploy beyond it fails as vCenter reports it (succeeded: false). */
  vmLimit?: number
  /** The VM network (port group): its subnet and gateway; default 192.168.76.0/24 via 192.168.76.1. */
  network?: {cidr: string; gateway: string}
}

interface FakeVm {
  vm: string
  name: string
  power: 'POWERED_ON' | 'POWERED_OFF'
  properties: Record<string, string>
  toolsAt: number
  /** The serial port's file, `<dir>/serial.out` on datastore1. */
  serialFile?: string | undefined
  /** What the serial port wrote while the VM last ran. */
  console: string
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine | undefined> | undefined
  deleted?: boolean | undefined
  /** The static address the guest was configured with when it last powered on (undefined: DHCP). */
  staticAddress?: string | undefined
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

export class FakeVsphere {
  readonly vms = new Map<string, FakeVm>()
  /** Every request, as `METHOD /path[?action=...]`. */
  readonly calls: string[] = []
  private readonly sessions = new Set<string>()
  private readonly library = 'e1f2a3b4-0000-4000-8000-00000000c0de'
  private readonly item = 'a9b8c7d6-0000-4000-8000-0000000b0a5e'
  /** Library items: the base image, and those made through the API (uploaded through update sessions). */
  readonly items = new Map<string, {id: string; name: string; created: Date; ready: boolean}>([
    [this.item, {id: this.item, name: FAKE_BASE_VM, created: new Date('2026-12-01T00:00:00Z'), ready: true}],
  ])
  private readonly updates = new Map<string, {item: string; files: Map<string, {size: number; received: number}>; state: string}>()
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeVsphereOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body, text}) => {
          if (text !== undefined) return res.writeHead(status, {'content-type': 'text/plain'}).end(text)
          res.writeHead(status, body === undefined ? {} : {'content-type': 'application/json'})
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
    await this.options.machines.stopAll()
  }

  /** VMs not deleted. */
  live(): string[] {
    return [...this.vms.values()].filter((v) => !v.deleted).map((v) => v.name)
  }

  /** Library items besides the base image. */
  liveItems(): string[] {
    return [...this.items.values()].filter((i) => i.id !== this.item).map((i) => i.name)
  }

  /** Requests that create something. */
  creates(): string[] {
    return this.calls.filter((c) => c.endsWith('?action=deploy'))
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown; text?: string}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    const method = req.method ?? 'GET'
    const action = url.searchParams.get('action')
    this.calls.push(`${method} ${url.pathname}${action ? `?action=${action}` : ''}`)
    try {
      if (method === 'PUT' && url.pathname.startsWith('/cls-data/')) return this.upload(req.headers, url, chunks)
      let body: unknown
      if (text) {
        try {
          body = JSON.parse(text)
        } catch {
          throw new ApiError(400, 'INVALID_ARGUMENT', 'The request body is not JSON.')
        }
      }
      if (method === 'POST' && url.pathname === '/api/session') return this.login(req.headers.authorization)
      if (method === 'GET' && url.pathname.startsWith('/folder/')) return await this.folder(req.headers.authorization, url)
      const session = req.headers['vmware-api-session-id']
      if (typeof session !== 'string' || !this.sessions.has(session)) throw new ApiError(401, 'UNAUTHENTICATED', 'Authentication required.')
      return await this.route(method, url.pathname.replace(/^\/api\//, '').split('/'), action, body, url.searchParams)
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      return {
        status: error.status,
        body: {error_type: error.type, messages: [{args: [], default_message: error.message, id: `vapi.${error.type.toLowerCase()}`}]},
      }
    }
  }

  private login(authorization: string | undefined): {status: number; body: unknown} {
    this.basicAuth(authorization)
    const session = `${randomInt(1e9).toString(16)}${randomInt(1e9).toString(16)}`
    this.sessions.add(session)
    return {status: 201, body: session}
  }

  private basicAuth(authorization: string | undefined): void {
    const expected = `Basic ${Buffer.from(`${FAKE_VC_USER}:${FAKE_VC_PASSWORD}`).toString('base64')}`
    if (authorization !== expected) throw new ApiError(401, 'UNAUTHENTICATED', 'Authentication required.')
  }

  /** vCenter's datastore file access: /folder/<path>?dcPath=<datacenter>&dsName=<datastore>, Basic auth. */
  private async folder(authorization: string | undefined, url: URL): Promise<{status: number; body?: unknown; text?: string}> {
    this.basicAuth(authorization)
    if (url.searchParams.get('dcPath') !== 'Datacenter' || url.searchParams.get('dsName') !== 'datastore1')
      throw new ApiError(404, 'NOT_FOUND', 'No such datacenter or datastore.')
    const path = decodeURIComponent(url.pathname.slice('/folder/'.length))
    const vm = [...this.vms.values()].find((v) => !v.deleted && v.serialFile === path)
    if (!vm) throw new ApiError(404, 'NOT_FOUND', `File ${path} was not found.`)
    return {status: 200, text: vm.machine ? await vm.machine.console() : vm.console}
  }

  private async route(
    method: string,
    path: string[],
    action: string | null,
    body: unknown,
    q: URLSearchParams,
  ): Promise<{status: number; body?: unknown}> {
    const p = path.join('/')
    if (method === 'GET' && p === 'vcenter/datastore')
      return {status: 200, body: [{datastore: 'datastore-11', name: 'datastore1', type: 'VMFS', free_space: 5e11, capacity: 1e12}]}
    if (method === 'GET' && p === 'vcenter/datacenter') return {status: 200, body: [{datacenter: 'datacenter-3', name: 'Datacenter'}]}
    if (method === 'GET' && p === 'vcenter/resource-pool') return {status: 200, body: [{resource_pool: 'resgroup-8', name: 'Resources'}]}
    if (method === 'POST' && p === 'content/library' && action === 'find')
      return {status: 200, body: (body as {name?: string})?.name === 'mantle' ? [this.library] : []}
    if (method === 'POST' && p === 'content/library/item' && action === 'find') {
      const b = body as {library_id?: string; name?: string}
      return {
        status: 200,
        body: b?.library_id === this.library ? [...this.items.values()].filter((i) => i.name === b.name).map((i) => i.id) : [],
      }
    }
    if (path[0] === 'content' && path[1] === 'library' && path[2] === 'item')
      return this.libraryItem(method, path.slice(3), action, body, q)
    if (method === 'POST' && path[0] === 'vcenter' && path[1] === 'ovf' && path[2] === 'library-item' && action === 'deploy')
      return this.deploy(path[3] ?? '', body)
    if (method === 'GET' && p === 'vcenter/vm') {
      const names = q.getAll('names')
      const list = [...this.vms.values()].filter((v) => !v.deleted && (names.length === 0 || names.includes(v.name)))
      return {status: 200, body: list.map((v) => ({vm: v.vm, name: v.name, power_state: v.power, cpu_count: 1, memory_size_MiB: 1024}))}
    }
    if (path[0] !== 'vcenter' || path[1] !== 'vm' || !path[2]) throw new ApiError(404, 'NOT_FOUND', `No such resource /api/${p}`)
    const vm = this.vms.get(path[2])
    if (!vm || vm.deleted) throw new ApiError(404, 'NOT_FOUND', `Virtual machine with identifier '${path[2]}' does not exist.`)
    const rest = path.slice(3).join('/')
    if (method === 'POST' && rest === 'power' && action === 'start') return this.powerOn(vm)
    if (method === 'POST' && rest === 'power' && action === 'stop') return this.powerOff(vm)
    if (method === 'GET' && rest === 'power') return {status: 200, body: {state: vm.power}}
    if (method === 'POST' && rest === 'hardware/serial') return this.addSerial(vm, body)
    if (method === 'GET' && rest === 'guest/identity') {
      if (vm.power !== 'POWERED_ON' || !vm.machine || Date.now() < vm.toolsAt)
        throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'VMware Tools are not running in the guest.')
      return {
        status: 200,
        body: {
          family: 'LINUX',
          name: 'OTHER_5X_LINUX_64',
          full_name: {default_message: 'Other 5.x Linux (64-bit)'},
          host_name: vm.name,
          ip_address: vm.machine.ip,
        },
      }
    }
    if (method === 'DELETE' && rest === '') {
      if (vm.power === 'POWERED_ON') throw new ApiError(400, 'RESOURCE_IN_USE', `The virtual machine '${vm.vm}' is powered on.`)
      vm.deleted = true
      return {status: 204}
    }
    throw new ApiError(404, 'NOT_FOUND', `No such resource /api/${p}`)
  }

  /** Library items and their update sessions (content/library/item, .../update-session), as ore esx create-base and kola --esx-ova-path use them. */
  private libraryItem(
    method: string,
    rest: string[],
    action: string | null,
    body: unknown,
    q: URLSearchParams,
  ): {status: number; body?: unknown} {
    const [first, second, third] = rest
    if (method === 'POST' && !first) {
      const b = body as {library_id?: string; name?: string; type?: string}
      if (b?.library_id !== this.library) throw new ApiError(400, 'INVALID_ARGUMENT', `Library '${b?.library_id}' does not exist.`)
      if (!b.name) throw new ApiError(400, 'INVALID_ARGUMENT', 'An item needs a name.')
      if ([...this.items.values()].some((i) => i.name === b.name))
        throw new ApiError(400, 'ALREADY_EXISTS', `An item named '${b.name}' exists.`)
      const id = `${randomInt(1e9).toString(16)}-item`
      this.items.set(id, {id, name: b.name, created: new Date(), ready: false})
      return {status: 201, body: id}
    }
    if (method === 'GET' && !first) return {status: 200, body: q.get('library_id') === this.library ? [...this.items.keys()] : []}
    if (first === 'update-session') {
      if (method === 'POST' && !second) {
        const item = (body as {library_item_id?: string})?.library_item_id ?? ''
        if (!this.items.has(item)) throw new ApiError(404, 'NOT_FOUND', `Library item '${item}' does not exist.`)
        const id = `${randomInt(1e9).toString(16)}-upd`
        this.updates.set(id, {item, files: new Map(), state: 'ACTIVE'})
        return {status: 201, body: id}
      }
      const session = this.updates.get(second ?? '')
      if (!session) throw new ApiError(404, 'NOT_FOUND', `Update session '${second}' does not exist.`)
      if (method === 'POST' && third === 'file') {
        const f = body as {name?: string; source_type?: string; size?: number}
        if (!f?.name || f.source_type !== 'PUSH' || typeof f.size !== 'number')
          throw new ApiError(400, 'INVALID_ARGUMENT', 'A PUSH file needs a name and a size.')
        session.files.set(f.name, {size: f.size, received: 0})
        return {status: 200, body: {upload_endpoint: {uri: `${this.url}/cls-data/${second}/${encodeURIComponent(f.name)}`}}}
      }
      if (method === 'GET' && third === 'file')
        return {
          status: 200,
          body: [...session.files].map(([name, f]) => ({name, status: f.received === f.size ? 'READY' : 'WAITING_FOR_TRANSFER'})),
        }
      if (method === 'GET' && !third) return {status: 200, body: {id: second, library_item_id: session.item, state: session.state}}
      if (method === 'POST' && !third && action === 'complete') {
        if ([...session.files.values()].some((f) => f.received !== f.size))
          throw new ApiError(400, 'NOT_ALLOWED_IN_CURRENT_STATE', 'Files are missing.')
        session.state = 'DONE'
        const item = this.items.get(session.item)
        if (item) item.ready = true
        return {status: 204}
      }
      if (method === 'POST' && !third && action === 'cancel') {
        session.state = 'CANCELED'
        return {status: 204}
      }
    }
    const item = this.items.get(first ?? '')
    if (!item) throw new ApiError(404, 'NOT_FOUND', `Library item '${first}' does not exist.`)
    if (method === 'GET' && !second)
      return {
        status: 200,
        body: {id: item.id, name: item.name, library_id: this.library, type: 'ovf', creation_time: item.created.toISOString()},
      }
    if (method === 'DELETE' && !second) {
      this.items.delete(item.id)
      return {status: 204}
    }
    throw new ApiError(404, 'NOT_FOUND', 'No such resource.')
  }

  /** The upload endpoint an update session hands out (the API session header, as vCenter wants it). */
  private upload(headers: IncomingMessage['headers'], url: URL, chunks: Buffer[]): {status: number} {
    const session = headers['vmware-api-session-id']
    if (typeof session !== 'string' || !this.sessions.has(session)) throw new ApiError(401, 'UNAUTHENTICATED', 'Authentication required.')
    const [, , update, name] = url.pathname.split('/')
    const file = this.updates.get(update ?? '')?.files.get(decodeURIComponent(name ?? ''))
    if (!file) throw new ApiError(404, 'NOT_FOUND', 'No such upload.')
    file.received = chunks.reduce((n, c) => n + c.length, 0)
    return {status: 200}
  }

  private deploy(item: string, body: unknown): {status: number; body: unknown} {
    if (!this.items.get(item)?.ready) throw new ApiError(404, 'NOT_FOUND', `Library item '${item}' does not exist.`)
    const b = body as {
      target?: {resource_pool_id?: string}
      deployment_spec?: {
        name?: string
        accept_all_EULA?: boolean
        default_datastore_id?: string
        additional_parameters?: Array<{type?: string; properties?: Array<{id?: string; value?: string}>}>
      }
    }
    const spec = b?.deployment_spec
    if (b?.target?.resource_pool_id !== 'resgroup-8')
      throw new ApiError(400, 'INVALID_ARGUMENT', `Resource pool '${b?.target?.resource_pool_id}' does not exist.`)
    if (!spec?.name || spec.accept_all_EULA !== true || spec.default_datastore_id !== 'datastore-11')
      throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid deployment spec: name, accept_all_EULA and a datastore are required.')
    const failed = (message: string) => ({
      status: 200,
      body: {succeeded: false, error: {errors: [{category: 'SERVER', message: {id: 'ovf.deploy', default_message: message, args: []}}]}},
    })
    const properties: Record<string, string> = {}
    for (const param of spec.additional_parameters ?? []) {
      if (param.type !== 'PropertyParams') continue
      for (const prop of param.properties ?? []) {
        if (!prop.id || !OVF_PROPERTIES.includes(prop.id)) return failed(`The OVF package has no property '${prop.id}'.`)
        properties[prop.id] = prop.value ?? ''
      }
    }
    const data = properties['guestinfo.ignition.config.data'] ?? ''
    if (properties['guestinfo.ignition.config.data.encoding'] === 'base64' && Buffer.from(data, 'base64').toString('base64') !== data)
      return failed('guestinfo.ignition.config.data is not base64.')
    const active = [...this.vms.values()].filter((v) => !v.deleted).length
    if (active + 1 > (this.options.vmLimit ?? Number.POSITIVE_INFINITY))
      return failed('Insufficient resources to satisfy configured failover level for vSphere HA.')
    if ([...this.vms.values()].some((v) => !v.deleted && v.name === spec.name)) return failed(`The name '${spec.name}' already exists.`)
    const vm: FakeVm = {vm: `vm-${1000 + this.vms.size}`, name: spec.name, power: 'POWERED_OFF', properties, toolsAt: 0, console: ''}
    this.vms.set(vm.vm, vm)
    return {
      status: 200,
      body: {succeeded: true, resource_id: {type: 'VirtualMachine', id: vm.vm}, error: {errors: [], warnings: [], information: []}},
    }
  }

  private addSerial(vm: FakeVm, body: unknown): {status: number; body: unknown} {
    if (vm.power !== 'POWERED_OFF')
      throw new ApiError(400, 'NOT_ALLOWED_IN_CURRENT_STATE', 'A serial port can only be added while the virtual machine is powered off.')
    const backing = (body as {backing?: {type?: string; file?: string}})?.backing
    const file = backing?.type === 'FILE' ? /^\[datastore1\] (.+)$/.exec(backing.file ?? '')?.[1] : undefined
    if (!file) throw new ApiError(400, 'INVALID_ARGUMENT', 'A FILE backing needs a datastore path "[datastore] path".')
    vm.serialFile = file
    return {status: 201, body: '9000'}
  }

  /** The Ignition config the VM's guestinfo holds, as Flatcar's Ignition (platform vmware) decodes it. */
  static ignitionOf(vm: {properties: Record<string, string>}): string {
    const data = vm.properties['guestinfo.ignition.config.data'] ?? ''
    return vm.properties['guestinfo.ignition.config.data.encoding'] === 'base64' ? Buffer.from(data, 'base64').toString('utf8') : data
  }

  private powerOn(vm: FakeVm): {status: number} {
    if (vm.power === 'POWERED_ON') throw new ApiError(400, 'ALREADY_IN_DESIRED_STATE', 'Virtual machine is already powered on.')
    vm.power = 'POWERED_ON'
    const config = FakeVsphere.ignitionOf(vm)
    const network = {...(this.options.network ?? {cidr: '192.168.76.0/24', gateway: '192.168.76.1'}), vmware: true}
    vm.staticAddress = ens192Address(config, network)
    vm.starting = this.options.machines.start(vm.name, config, {...network, guestAddress: vm.staticAddress}).then(
      (m) => {
        vm.machine = m
        vm.toolsAt = Date.now() + (this.options.toolsDelayMs ?? 0)
        return m
      },
      () => undefined,
    )
    return {status: 204}
  }

  private async powerOff(vm: FakeVm): Promise<{status: number}> {
    if (vm.power === 'POWERED_OFF') throw new ApiError(400, 'ALREADY_IN_DESIRED_STATE', 'Virtual machine is already powered off.')
    const machine = vm.machine ?? (await vm.starting)
    if (machine) vm.console = await machine.console()
    await machine?.stop()
    vm.machine = undefined
    vm.starting = undefined
    vm.power = 'POWERED_OFF'
    return {status: 204}
  }
}

/**
 * The static IPv4 address a guest gives its ens192 on the network: the first
 * `Address=` of a systemd.network file its Ignition config writes that
 * matches ens192 and lies in the network (undefined: none, the guest uses DHCP).
 */
export function ens192Address(config: string, network: Pick<MachineNetwork, 'cidr'>): string | undefined {
  let files: Array<{path?: string; contents?: {source?: string}}>
  try {
    files = (JSON.parse(config) as {storage?: {files?: typeof files}}).storage?.files ?? []
  } catch {
    return undefined
  }
  const [base, bits] = network.cidr.split('/') as [string, string]
  const prefix = (ip: string) =>
    ip
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('')
      .slice(0, Number(bits))
  for (const f of files) {
    if (!/^\/etc\/systemd\/network\/[^/]+\.network$/.test(f.path ?? '')) continue
    const source = f.contents?.source ?? ''
    if (!source.startsWith('data:,')) continue
    const text = decodeURIComponent(source.slice('data:,'.length))
    if (!/^Name=(.*\s)?ens192(\s|$)/m.test(text)) continue
    for (const m of text.matchAll(/^Address=(\d+\.\d+\.\d+\.\d+)\/\d+$/gm)) if (prefix(m[1] as string) === prefix(base)) return m[1]
  }
  return undefined
}
