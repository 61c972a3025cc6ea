// A fake Oracle Cloud Infrastructure control plane for kola's own tests: a
// real HTTP server answering the Core Services (20160918) and Identity calls
// kola and `ore oci gc` make, with the JSON shapes of Oracle's API reference
// and of flatcar/mantle platform/api/oraclecloud/api.go (LaunchInstance with
// base64 metadata.user_data, GetInstance lifecycleState, ListVnicAttachments +
// GetVnic for the public address, console history capture, TerminateInstance
// with preserveBootVolume). Every request must carry a valid HTTP Signature
// (version 1) by the key it was given: an unsigned or wrongly signed request
// is 401 NotAuthenticated, as OCI answers. Each instance is a real machine.
import {createHash, createVerify, randomBytes, type KeyObject} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {oci} from '@mantle/cloud'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_OCI_IMAGE = 'ocid1.image.oc1.fake.flatcar'
export const FAKE_OCI_SUBNET = 'ocid1.subnet.oc1.fake.kola'
export const FAKE_OCI_AD = 'Fake:EU-FRANKFURT-1-AD-1'

export interface FakeOciOptions {
  machines: MachineFactory
  /** The public key of the only API key this tenancy knows, and its key id. */
  publicKey: KeyObject
  keyId: string
  /** Instances (not terminated) allowed: LaunchInstance beyond it is 400 LimitExceeded. */
  instanceLimit?: number
}

export interface FakeOciInstance {
  id: string
  displayName: string
  compartmentId: string
  lifecycleState: 'PROVISIONING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED'
  timeCreated: string
  freeformTags: Record<string, string>
  metadata: Record<string, string>
  machine?: FakeMachine | undefined
  starting?: Promise<void> | undefined
}

class OciError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const ocid = (kind: string) => `ocid1.${kind}.oc1.fake.${randomBytes(12).toString('hex')}`

export class FakeOci {
  readonly instances = new Map<string, FakeOciInstance>()
  /** "METHOD /path" of every request, in order (signed or not). */
  readonly calls: string[] = []
  private readonly histories = new Map<string, string>()
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeOciOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) =>
          typeof body === 'string'
            ? res.writeHead(status, {'content-type': 'text/plain'}).end(body)
            : res.writeHead(status, {'content-type': 'application/json'}).end(body === undefined ? undefined : JSON.stringify(body)),
        (error: unknown) => {
          const e = error instanceof OciError ? error : new OciError(500, 'InternalServerError', String(error))
          res.writeHead(e.status, {'content-type': 'application/json'}).end(JSON.stringify({code: e.code, message: e.message}))
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

  /** Instances not terminated. */
  live(): string[] {
    return [...this.instances.values()].filter((i) => i.lifecycleState !== 'TERMINATED').map((i) => i.id)
  }

  /** Creating calls received: what a refused run must not have made. */
  creates(): string[] {
    return this.calls.filter((c) => c === 'POST /20160918/instances')
  }

  private verify(req: IncomingMessage, body: Buffer): void {
    const auth = String(req.headers.authorization ?? '')
    const params = Object.fromEntries([...auth.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    const refuse = () => {
      throw new OciError(401, 'NotAuthenticated', 'The required information to complete authentication was not provided or was incorrect.')
    }
    if (!auth.startsWith('Signature version="1",') || params.keyId !== this.options.keyId || params.algorithm !== 'rsa-sha256') refuse()
    const signed = (params.headers ?? '').split(' ')
    const needsBody = ['POST', 'PUT', 'PATCH'].includes(req.method ?? '')
    const required = ['date', '(request-target)', 'host', ...(needsBody ? ['content-length', 'content-type', 'x-content-sha256'] : [])]
    if (required.some((h) => !signed.includes(h))) refuse()
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
    const text = oci.ociSigningString({method: req.method ?? 'GET', url: `http://${headers.host}${req.url}`}, headers, signed)
    if (
      !createVerify('RSA-SHA256')
        .update(text)
        .verify(this.options.publicKey, params.signature ?? '', 'base64')
    )
      refuse()
    if (needsBody) {
      if (createHash('sha256').update(body).digest('base64') !== headers['x-content-sha256']) refuse()
    }
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body?: unknown}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks)
    const url = new URL(req.url ?? '/', 'http://fake')
    const path = url.pathname
    this.calls.push(`${req.method} ${path}`)
    this.verify(req, raw)
    const json = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {}
    const q = (name: string) => url.searchParams.get(name) ?? undefined
    const m = (re: RegExp) => re.exec(path)
    let match: RegExpExecArray | null

    if (req.method === 'GET' && (match = m(/^\/20160918\/users\/([^/]+)$/)))
      return {status: 200, body: {id: decodeURIComponent(match[1]!), lifecycleState: 'ACTIVE'}}
    if (req.method === 'GET' && path === '/20160918/availabilityDomains')
      return {status: 200, body: [{name: FAKE_OCI_AD, compartmentId: q('compartmentId')}]}
    if (req.method === 'GET' && (match = m(/^\/20160918\/images\/([^/]+)$/))) {
      if (decodeURIComponent(match[1]!) !== FAKE_OCI_IMAGE)
        throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
      return {status: 200, body: {id: FAKE_OCI_IMAGE, displayName: 'flatcar', lifecycleState: 'AVAILABLE'}}
    }
    if (req.method === 'GET' && ['/20160918/images', '/20160918/volumes', '/20160918/bootVolumes'].includes(path))
      return {status: 200, body: []}
    if (req.method === 'POST' && path === '/20160918/instances') return {status: 200, body: this.view(await this.launch(json))}
    if (req.method === 'GET' && path === '/20160918/instances')
      return {
        status: 200,
        body: [...this.instances.values()].filter((i) => i.compartmentId === q('compartmentId')).map((i) => this.view(i)),
      }
    if ((match = m(/^\/20160918\/instances\/([^/]+)$/))) {
      const instance = this.instances.get(decodeURIComponent(match[1]!))
      if (!instance) throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
      if (req.method === 'GET') return {status: 200, body: this.view(instance)}
      if (req.method === 'DELETE') {
        if (q('preserveBootVolume') !== 'false') throw new OciError(400, 'InvalidParameter', 'kola must not keep boot volumes')
        await this.terminate(instance)
        return {status: 204}
      }
    }
    if (req.method === 'GET' && path === '/20160918/vnicAttachments') {
      const instance = this.instances.get(q('instanceId') ?? '')
      return {
        status: 200,
        body: instance
          ? [{id: `${instance.id}.attachment`, vnicId: `${instance.id}.vnic`, instanceId: instance.id, lifecycleState: 'ATTACHED'}]
          : [],
      }
    }
    if (req.method === 'GET' && (match = m(/^\/20160918\/vnics\/(.+)\.vnic$/))) {
      const instance = this.instances.get(decodeURIComponent(match[1]!))
      if (!instance?.machine) throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
      return {
        status: 200,
        body: {id: `${instance.id}.vnic`, isPrimary: true, publicIp: instance.machine.ip, privateIp: instance.machine.ip},
      }
    }
    if (req.method === 'POST' && path === '/20160918/instanceConsoleHistories') {
      const instance = this.instances.get(String(json.instanceId))
      if (!instance) throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
      const id = ocid('consolehistory')
      this.histories.set(id, (await instance.machine?.console()) ?? '')
      return {status: 200, body: {id, instanceId: instance.id, lifecycleState: 'REQUESTED'}}
    }
    if ((match = m(/^\/20160918\/instanceConsoleHistories\/([^/]+)(\/data)?$/))) {
      const id = decodeURIComponent(match[1]!)
      const text = this.histories.get(id)
      if (text === undefined) throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
      if (req.method === 'DELETE') return (this.histories.delete(id), {status: 204})
      if (match[2]) return {status: 200, body: text.slice(-Number(q('length') ?? 10240))}
      return {status: 200, body: {id, lifecycleState: 'SUCCEEDED'}}
    }
    throw new OciError(404, 'NotAuthorizedOrNotFound', `no such API: ${req.method} ${path}`)
  }

  private async launch(body: Record<string, unknown>): Promise<FakeOciInstance> {
    const source = body.sourceDetails as {sourceType?: string; imageId?: string} | undefined
    const vnic = body.createVnicDetails as {subnetId?: string} | undefined
    const metadata = (body.metadata ?? {}) as Record<string, string>
    for (const field of ['availabilityDomain', 'compartmentId', 'shape'])
      if (typeof body[field] !== 'string') throw new OciError(400, 'MissingParameter', `Missing ${field}`)
    if (source?.sourceType !== 'image' || source.imageId !== FAKE_OCI_IMAGE)
      throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
    if (vnic?.subnetId !== FAKE_OCI_SUBNET)
      throw new OciError(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.')
    if (/\.Flex$/.test(String(body.shape)) && !body.shapeConfig)
      throw new OciError(400, 'InvalidParameter', 'A flexible shape needs shapeConfig')
    if (this.live().length >= (this.options.instanceLimit ?? Infinity))
      throw new OciError(
        400,
        'LimitExceeded',
        `You have reached the service limit for ${String(body.shape)} in ${String(body.availabilityDomain)}`,
      )
    const userData = Buffer.from(metadata.user_data ?? '', 'base64').toString('utf8')
    const instance: FakeOciInstance = {
      id: ocid('instance'),
      displayName: String(body.displayName ?? ''),
      compartmentId: String(body.compartmentId),
      lifecycleState: 'PROVISIONING',
      timeCreated: new Date().toISOString(),
      freeformTags: (body.freeformTags ?? {}) as Record<string, string>,
      metadata,
    }
    this.instances.set(instance.id, instance)
    instance.starting = this.options.machines.start(instance.displayName, userData).then((machine) => {
      instance.machine = machine
      if (instance.lifecycleState === 'PROVISIONING') instance.lifecycleState = 'RUNNING'
    })
    return instance
  }

  private async terminate(instance: FakeOciInstance): Promise<void> {
    if (instance.lifecycleState === 'TERMINATED') return
    instance.lifecycleState = 'TERMINATING'
    await instance.starting?.catch(() => undefined)
    await instance.machine?.stop()
    instance.lifecycleState = 'TERMINATED'
  }

  private view(i: FakeOciInstance): Record<string, unknown> {
    return {
      id: i.id,
      displayName: i.displayName,
      compartmentId: i.compartmentId,
      availabilityDomain: FAKE_OCI_AD,
      imageId: FAKE_OCI_IMAGE,
      lifecycleState: i.lifecycleState,
      timeCreated: i.timeCreated,
      freeformTags: i.freeformTags,
      metadata: i.metadata,
    }
  }
}
