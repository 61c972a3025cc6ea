// A fake Compute Engine control plane for kola's own tests: a real HTTP
// server speaking the Compute Engine REST API v1 (JSON, the resource and
// operation shapes of the API reference and of google.golang.org/api/compute/v1
// as flatcar/mantle platform/api/gcloud/compute.go uses them), plus the OAuth
// token endpoint a service-account key's token_uri names, so that kola's and
// ore's unchanged code authenticates and calls it. Every instance it inserts is
// a real machine from a MachineFactory, configured by its `user-data`
// metadata. What it checks: the JWT grant's RS256 signature against the key it
// knows (a wrong key is `invalid_grant`, as Google answers), the bearer token
// of every API call, the request fields Compute Engine requires.
import {createVerify, generateKeyPairSync, randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_GCE_PROJECT = 'kola-fake-project'
export const FAKE_GCE_IMAGE = 'kola-test-image'
export const FAKE_GCE_FAMILY = 'kola-test'
const CLIENT_EMAIL = `kola@${FAKE_GCE_PROJECT}.iam.gserviceaccount.com`
/** What google-auth-library and Go's oauth2 put in the grant's `aud` (Google's token endpoint). */
const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token'

export interface FakeGceOptions {
  machines: MachineFactory
  /** Time an insert operation takes until DONE. */
  launchDelayMs?: number
  /** Time from the machine's start until the instance is RUNNING. */
  runningDelayMs?: number
  /** Instances the project's quota allows: an insert beyond it ends in a QUOTA_EXCEEDED operation. */
  instanceLimit?: number
  /** The test image's guestOsFeatures; default those Flatcar's images.insert sets (platform/api/gcloud/image.go). */
  imageGuestOsFeatures?: string[]
}

/** flatcar/mantle platform/api/gcloud/image.go: every image it makes lists these. */
export const FLATCAR_GUEST_OS_FEATURES = ['VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE', 'GVNIC']

interface Instance {
  id: string
  name: string
  zone: string
  status: 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED'
  created: Date
  labels: Record<string, string>
  metadata: Array<{key: string; value: string}>
  machineType: string
  sourceImage: string
  /** networkInterfaces[0].nicType as inserted (the API's default is VIRTIO_NET). */
  nicType: string | undefined
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine | undefined> | undefined
  runningAt: number
  console: string
  deleted: boolean
}

interface Operation {
  id: string
  name: string
  zone: string
  type: 'insert' | 'delete'
  target: string
  status: 'PENDING' | 'RUNNING' | 'DONE'
  insertTime: string
  error?: {code: string; message: string} | undefined
  httpError?: {status: number; message: string} | undefined
}

class GceError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

/** A Compute Engine and its token endpoint; `keyFile(url)` is a service-account key for it. */
export class FakeGce {
  readonly instances = new Map<string, Instance>()
  readonly operations = new Map<string, Operation>()
  /** Every API method called (`instances.insert`, `oauth2.token`, ...), in order. */
  readonly calls: string[] = []
  /** The body of every instances.insert, accepted or not. */
  readonly insertRequests: Array<Record<string, unknown>> = []
  private readonly tokens = new Set<string>()
  private readonly key = generateKeyPairSync('rsa', {modulusLength: 2048})
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeGceOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({status, body}) =>
          status === 204
            ? res.writeHead(204).end()
            : res.writeHead(status, {'content-type': 'application/json; charset=UTF-8'}).end(JSON.stringify(body)),
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

  /**
   * A service-account key file as the Cloud console downloads it, whose
   * token_uri is this fake; `wrongKey` signs with a key the fake does not know.
   */
  keyFile(options: {wrongKey?: boolean} = {}): string {
    const pair = options.wrongKey ? generateKeyPairSync('rsa', {modulusLength: 2048}) : this.key
    return JSON.stringify({
      type: 'service_account',
      project_id: FAKE_GCE_PROJECT,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: pair.privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
      client_email: CLIENT_EMAIL,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${this.url}/token`,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      universe_domain: 'googleapis.com',
    })
  }

  /** Instances not yet deleted. */
  live(): string[] {
    return [...this.instances.values()].filter((i) => !i.deleted).map((i) => i.name)
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body: unknown}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    try {
      if (req.method === 'POST' && url.pathname === '/token') return {status: 200, body: this.token(new URLSearchParams(text))}
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      if (!auth || !this.tokens.has(auth))
        throw new GceError(
          401,
          'authError',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        )
      // GKE's clusters.list (ore gcloud gc also collects kola kube's clusters): this project has none.
      if (req.method === 'GET' && /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/clusters$/.test(url.pathname)) {
        this.calls.push('container.clusters.list')
        return {status: 200, body: {}}
      }
      const m = /^\/compute\/v1\/projects\/([^/]+)\/(.*)$/.exec(url.pathname)
      if (!m) throw new GceError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`)
      const [, project, rest] = m as unknown as [string, string, string]
      return {status: 200, body: await this.api(req.method ?? 'GET', project, rest, url.searchParams, text)}
    } catch (error) {
      if (!(error instanceof GceError)) throw error
      if (error instanceof TokenRefused) return {status: 400, body: {error: 'invalid_grant', error_description: error.message}}
      return {
        status: error.status,
        body: {
          error: {
            code: error.status,
            message: error.message,
            errors: [{message: error.message, domain: 'global', reason: error.reason}],
            ...(error.status === 401 ? {status: 'UNAUTHENTICATED'} : {}),
          },
        },
      }
    }
  }

  /** RFC 7523 JWT bearer grant, as oauth2.googleapis.com/token answers it. */
  private token(form: URLSearchParams): unknown {
    this.calls.push('oauth2.token')
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new TokenRefused('Invalid grant_type')
    const [h, p, s] = (form.get('assertion') ?? '').split('.')
    if (!h || !p || !s) throw new TokenRefused('Invalid JWT.')
    const verify = createVerify('RSA-SHA256').update(`${h}.${p}`)
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {iss?: string; aud?: string; scope?: string; exp?: number}
    if (!verify.verify(this.key.publicKey, Buffer.from(s, 'base64url'))) throw new TokenRefused('Invalid JWT Signature.')
    if (claims.iss !== CLIENT_EMAIL)
      throw new TokenRefused('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.')
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE) throw new TokenRefused('Invalid JWT: aud must be the token endpoint.')
    if (!claims.scope?.includes('https://www.googleapis.com/auth/cloud-platform'))
      throw new TokenRefused('Invalid OAuth scope or ID token audience provided.')
    const token = `ya29.fake-${randomBytes(24).toString('base64url')}`
    this.tokens.add(token)
    return {access_token: token, expires_in: 3599, token_type: 'Bearer'}
  }

  private async api(method: string, project: string, path: string, q: URLSearchParams, body: string): Promise<unknown> {
    if (project !== FAKE_GCE_PROJECT) throw new GceError(403, 'forbidden', `Permission denied on resource project ${project}.`)
    let m: RegExpExecArray | null
    if (method === 'GET' && (m = /^global\/images\/(family\/)?([a-z0-9-]+)$/.exec(path))) {
      this.calls.push(m[1] ? 'images.getFromFamily' : 'images.get')
      const found = m[1] ? m[2] === FAKE_GCE_FAMILY : m[2] === FAKE_GCE_IMAGE
      if (!found) throw notFound(`projects/${project}/global/images/${m[1] ?? ''}${m[2]}`)
      return this.image()
    }
    if (method === 'GET' && path === 'aggregated/instances') {
      this.calls.push('instances.aggregatedList')
      const keep = instanceFilter(q.get('filter') ?? '')
      const zones = new Map<string, unknown[]>()
      for (const i of this.instances.values())
        if (!i.deleted && keep(i)) zones.set(i.zone, [...(zones.get(i.zone) ?? []), this.instanceJson(i)])
      return {
        kind: 'compute#instanceAggregatedList',
        id: `projects/${project}/aggregated/instances`,
        items: Object.fromEntries(
          zones.size === 0
            ? [
                [
                  'zones/us-central1-a',
                  {warning: {code: 'NO_RESULTS_ON_PAGE', message: 'There are no results for scope zones/us-central1-a on this page.'}},
                ],
              ]
            : [...zones].map(([z, instances]) => [`zones/${z}`, {instances}]),
        ),
        selfLink: `${this.base()}/aggregated/instances`,
      }
    }
    if ((m = /^zones\/([a-z0-9-]+)\/operations\/([a-z0-9-]+)$/.exec(path)) && method === 'GET') {
      this.calls.push('zoneOperations.get')
      const op = this.operations.get(m[2] as string)
      if (!op || op.zone !== m[1]) throw notFound(`projects/${project}/zones/${m[1]}/operations/${m[2]}`)
      return this.operationJson(op)
    }
    if ((m = /^zones\/([a-z0-9-]+)\/instances$/.exec(path)) && method === 'POST') {
      this.calls.push('instances.insert')
      this.insertRequests.push(JSON.parse(body) as Record<string, unknown>)
      return this.insert(m[1] as string, JSON.parse(body) as Record<string, unknown>)
    }
    if ((m = /^zones\/([a-z0-9-]+)\/instances\/([a-z0-9-]+)(\/serialPort)?$/.exec(path))) {
      const [, zone, name, serial] = m as unknown as [string, string, string, string | undefined]
      const i = this.instances.get(name)
      const missing = () => notFound(`projects/${project}/zones/${zone}/instances/${name}`)
      if (method === 'GET' && serial) {
        this.calls.push('instances.getSerialPortOutput')
        if (!i || i.deleted || i.zone !== zone) throw missing()
        if ((q.get('port') ?? '1') !== '1') throw new GceError(400, 'invalid', 'Invalid value for field port: only port 1 has output.')
        const all = i.machine ? await i.machine.console() : i.console
        const start = Number(q.get('start') ?? 0)
        return {
          kind: 'compute#serialPortOutput',
          contents: all.slice(start),
          start: String(start),
          next: String(all.length),
          selfLink: `${this.base()}/zones/${zone}/instances/${name}/serialPort`,
        }
      }
      if (method === 'GET') {
        this.calls.push('instances.get')
        if (!i || i.deleted || i.zone !== zone) throw missing()
        return this.instanceJson(i)
      }
      if (method === 'DELETE') {
        this.calls.push('instances.delete')
        if (!i || i.deleted || i.zone !== zone) throw missing()
        return this.operationJson(this.remove(i))
      }
    }
    throw new GceError(400, 'invalid', `Invalid request: ${method} ${path}`)
  }

  private insert(zone: string, r: Record<string, unknown>): unknown {
    const name = String(r.name ?? '')
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
      throw new GceError(
        400,
        'invalid',
        `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      )
    if (this.instances.get(name) && !this.instances.get(name)?.deleted)
      throw new GceError(409, 'alreadyExists', `The resource 'projects/${FAKE_GCE_PROJECT}/zones/${zone}/instances/${name}' already exists`)
    const machineType = String(r.machineType ?? '')
    if (!/(^|\/)zones\/[a-z0-9-]+\/machineTypes\/[a-z0-9-]+$/.test(machineType))
      throw new GceError(400, 'invalid', `Invalid value for field 'resource.machineType': '${machineType}'.`)
    const disks = (r.disks ?? []) as Array<{boot?: boolean; initializeParams?: {sourceImage?: string}}>
    const sourceImage = disks.find((d) => d.boot)?.initializeParams?.sourceImage ?? ''
    if (!sourceImage.endsWith(`projects/${FAKE_GCE_PROJECT}/global/images/${FAKE_GCE_IMAGE}`))
      throw new GceError(
        400,
        'invalid',
        `Invalid value for field 'resource.disks[0].initializeParams.sourceImage': '${sourceImage}'. The referenced image resource cannot be found.`,
      )
    const nics = (r.networkInterfaces ?? []) as Array<{network?: string; nicType?: string}>
    if (nics.length === 0 || !nics[0]?.network)
      throw new GceError(400, 'required', "Required field 'resource.networkInterfaces[0].network' not specified")
    const nicType = nics[0].nicType
    if (nicType !== undefined && nicType !== 'VIRTIO_NET' && nicType !== 'GVNIC')
      throw new GceError(400, 'invalid', `Invalid value for field 'resource.networkInterfaces[0].nicType': '${nicType}'.`)
    if (nicType === 'GVNIC' && !this.guestOsFeatures().includes('GVNIC'))
      throw new GceError(
        400,
        'invalid',
        `Invalid value for field 'resource.networkInterfaces[0].nicType': 'GVNIC'. The source image does not have the GVNIC guest OS feature.`,
      )
    const labels = (r.labels ?? {}) as Record<string, string>
    for (const [k, v] of Object.entries(labels))
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(k) || !/^[a-z0-9_-]{0,63}$/.test(v))
        throw new GceError(400, 'invalid', `Invalid value for field 'resource.labels': '${k}'.`)
    const metadata = ((r.metadata as {items?: Array<{key: string; value: string}>} | undefined)?.items ?? []).map((i) => ({
      key: i.key,
      value: i.value,
    }))
    const op = this.operation(zone, 'insert', `zones/${zone}/instances/${name}`)
    const active = [...this.instances.values()].filter((i) => !i.deleted).length
    const limit = this.options.instanceLimit ?? Number.POSITIVE_INFINITY
    if (active + 1 > limit) {
      // Quota is checked by the operation, which ends DONE with the error (as `gcloud compute instances create` reports it).
      op.status = 'DONE'
      op.error = {
        code: 'QUOTA_EXCEEDED',
        message: `Quota 'INSTANCES' exceeded.  Limit: ${limit}.0 in region ${zone.replace(/-[a-z]$/, '')}.`,
      }
      op.httpError = {status: 403, message: 'FORBIDDEN'}
      return this.operationJson(op)
    }
    const instance: Instance = {
      id: String(BigInt(`0x${randomBytes(7).toString('hex')}`)),
      name,
      zone,
      status: 'PROVISIONING',
      created: new Date(),
      labels,
      metadata,
      machineType: machineType.split('/').pop() as string,
      sourceImage,
      nicType,
      runningAt: Number.POSITIVE_INFINITY,
      console: '',
      deleted: false,
    }
    this.instances.set(name, instance)
    const userData = metadata.find((i) => i.key === 'user-data')?.value ?? ''
    instance.starting = this.options.machines.start(name, userData).then(
      (machine) => {
        instance.machine = machine
        instance.runningAt = Date.now() + (this.options.runningDelayMs ?? 0)
        if (instance.status === 'PROVISIONING') instance.status = 'STAGING'
        return machine
      },
      (error: unknown) => {
        instance.console = `fake gce: the machine did not start: ${String(error)}\n`
        instance.status = 'TERMINATED'
        return undefined
      },
    )
    void sleep(this.options.launchDelayMs ?? 0).then(() => (op.status = 'DONE'))
    op.status = 'RUNNING'
    return this.operationJson(op)
  }

  private remove(i: Instance): Operation {
    const op = this.operation(i.zone, 'delete', `zones/${i.zone}/instances/${i.name}`)
    op.status = 'RUNNING'
    i.status = 'STOPPING'
    void (async () => {
      const machine = i.machine ?? (await i.starting)
      if (machine) {
        i.console = await machine.console()
        await machine.stop()
      }
      i.status = 'TERMINATED'
      i.deleted = true
      op.status = 'DONE'
    })()
    return op
  }

  private operation(zone: string, type: Operation['type'], target: string): Operation {
    const op: Operation = {
      id: String(BigInt(`0x${randomBytes(7).toString('hex')}`)),
      name: `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`,
      zone,
      type,
      target,
      status: 'PENDING',
      insertTime: new Date().toISOString(),
    }
    this.operations.set(op.name, op)
    return op
  }

  private base(): string {
    return `${this.url}/compute/v1/projects/${FAKE_GCE_PROJECT}`
  }

  private operationJson(op: Operation): unknown {
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      zone: `${this.base()}/zones/${op.zone}`,
      operationType: op.type,
      targetLink: `${this.base()}/${op.target}`,
      status: op.status,
      user: CLIENT_EMAIL,
      progress: op.status === 'DONE' ? 100 : 0,
      insertTime: op.insertTime,
      selfLink: `${this.base()}/zones/${op.zone}/operations/${op.name}`,
      ...(op.error
        ? {error: {errors: [op.error]}, httpErrorStatusCode: op.httpError?.status, httpErrorMessage: op.httpError?.message}
        : {}),
    }
  }

  private instanceJson(i: Instance): unknown {
    if (i.status === 'STAGING' && Date.now() >= i.runningAt) i.status = 'RUNNING'
    const ip = i.machine?.ip
    return {
      kind: 'compute#instance',
      id: i.id,
      creationTimestamp: i.created.toISOString().replace('Z', '-00:00'),
      name: i.name,
      machineType: `${this.base()}/zones/${i.zone}/machineTypes/${i.machineType}`,
      status: i.status,
      zone: `${this.base()}/zones/${i.zone}`,
      labels: i.labels,
      labelFingerprint: randomBytes(8).toString('base64'),
      metadata: {kind: 'compute#metadata', fingerprint: randomBytes(8).toString('base64'), items: i.metadata},
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: `${this.base()}/global/networks/default`,
          name: 'nic0',
          nicType: i.nicType ?? 'VIRTIO_NET',
          ...(ip ? {networkIP: ip} : {}),
          accessConfigs: [
            {
              kind: 'compute#accessConfig',
              type: 'ONE_TO_ONE_NAT',
              name: 'External NAT',
              ...(ip && i.status === 'RUNNING' ? {natIP: ip} : {}),
            },
          ],
        },
      ],
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          boot: true,
          autoDelete: true,
          deviceName: 'persistent-disk-0',
          source: `${this.base()}/zones/${i.zone}/disks/${i.name}`,
        },
      ],
      selfLink: `${this.base()}/zones/${i.zone}/instances/${i.name}`,
    }
  }

  private guestOsFeatures(): string[] {
    return this.options.imageGuestOsFeatures ?? FLATCAR_GUEST_OS_FEATURES
  }

  private image(): unknown {
    return {
      kind: 'compute#image',
      id: '7000000000000000001',
      creationTimestamp: '2026-12-01T00:00:00.000-08:00',
      name: FAKE_GCE_IMAGE,
      family: FAKE_GCE_FAMILY,
      status: 'READY',
      architecture: 'X86_64',
      guestOsFeatures: this.guestOsFeatures().map((type) => ({type})),
      diskSizeGb: '1',
      selfLink: `${this.base()}/global/images/${FAKE_GCE_IMAGE}`,
    }
  }
}

/** A token-endpoint refusal: 400 {error: invalid_grant, error_description}. */
class TokenRefused extends GceError {
  constructor(description: string) {
    super(400, 'invalid_grant', description)
  }
}

function notFound(resource: string): GceError {
  return new GceError(404, 'notFound', `The resource '${resource}' was not found`)
}

/** The filters kola and ore send: `labels.K = "V"`, `name eq "P.*"`; nothing else. */
function instanceFilter(filter: string): (i: Instance) => boolean {
  if (!filter) return () => true
  let m = /^labels\.([a-z0-9_-]+) = "([^"]*)"$/.exec(filter)
  if (m) {
    const [, k, v] = m as unknown as [string, string, string]
    return (i) => i.labels[k] === v
  }
  m = /^name eq "([^"]*)"$/.exec(filter)
  if (m) {
    const re = new RegExp(`^${m[1]}$`)
    return (i) => re.test(i.name)
  }
  throw new GceError(400, 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`)
}
