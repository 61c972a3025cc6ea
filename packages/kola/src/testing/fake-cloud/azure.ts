// A fake Azure control plane for kola's own tests: one HTTPS server (a
// self-signed certificate the client trusts through NODE_EXTRA_CA_CERTS)
// playing Azure AD's v2.0 client-credentials token endpoint (with the OpenID
// metadata MSAL reads first) and Azure Resource Manager, so that the real
// @azure/identity and @azure/arm-* clients send real requests to it. The
// shapes are those of the ARM REST reference and of flatcar/mantle
// platform/api/azure (groups.go, network.go, instance.go): resources
// wrapped as {id, name, type, location, tags, properties}, PUTs of network
// and compute resources answered 201 with an Azure-AsyncOperation header to
// poll ({status: InProgress|Succeeded|Failed}), DELETEs 202 with
// Azure-AsyncOperation and Location, resource group deletion 202 with a
// Location polled until 200, errors as {error: {code, message}}. Every VM is
// a real machine from a MachineFactory, configured by the customData it
// got; retrieveBootDiagnosticsData hands out a SAS URI of its serial log.
// What it refuses: a wrong bearer token or client secret, a missing
// api-version, resources in a group that does not exist, references to
// NICs, subnets or public IPs that do not exist, a VM without size, image,
// admin user or NIC, an unknown image, cores beyond the quota.
// The subscription also holds a group `shared` that is not kola's (SHARED_*:
// a VNet with subnets `default` and `kola`, an availability set, a
// user-assigned identity), for the --azure-* flags that use existing
// resources; the VM PUT is checked as ARM checks it (availability set in the
// VM's group, identity ids that exist, Trusted Launch / confidential VMs only
// from a generation 2 image, a confidential VM only on a confidential size
// with its disk's securityEncryptionType, NVMe only on a size that has it),
// and a group holding a NIC that a VM elsewhere uses cannot be deleted.
// Storage accounts (Microsoft.Storage, flatcar/mantle storage.go) answer with
// the blob endpoint of `storage` (Azurite: the blobs are real) and its key
// from listKeys; managed images and gallery image versions (image.go,
// gallery-image-template.json) may be made of a blob under a storage
// account's endpoint, and VMs boot from either.
import {execFile} from 'node:child_process'
import {randomBytes, randomUUID} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {promisify} from 'node:util'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_TENANT = '72f988bf-0000-4000-8000-00000000fa4e'
export const FAKE_CLIENT_ID = '0f4e0000-1111-4222-8333-000000000001'
export const FAKE_CLIENT_SECRET = 'fake-azure-secret-for-kola-tests'
export const FAKE_SUBSCRIPTION = '0f4e0000-2222-4333-8444-000000000002'
/** A page blob the subscription's storage holds (as `ore azure upload-blob` leaves it): images can be made of it. */
export const FAKE_BLOB_URL = 'https://kolafake.blob.core.windows.net/vhds/kola-test-image.vhd'
export const FAKE_IMAGE_ID = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Compute/images/kola-test-image`
/** A group of the subscription that is not kola's, and what it holds. */
export const SHARED_GROUP = 'shared'
export const SHARED_VNET = 'shared-vn'
export const SHARED_AVSET = 'kola-avset'
export const SHARED_IDENTITY = 'kola-identity'
const sharedId = (type: string, name: string) =>
  `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${SHARED_GROUP}/providers/${type}/${name}`
export const SHARED_VNET_ID = sharedId('Microsoft.Network/virtualNetworks', SHARED_VNET)
export const SHARED_AVSET_ID = sharedId('Microsoft.Compute/availabilitySets', SHARED_AVSET)
export const SHARED_IDENTITY_ID = sharedId('Microsoft.ManagedIdentity/userAssignedIdentities', SHARED_IDENTITY)

export interface FakeAzureOptions {
  machines: MachineFactory
  /** Where the server's key and certificate are written. */
  dir: string
  /** Time from a VM's PUT until its operation succeeds (beyond the machine's start). */
  runningDelayMs?: number
  /** Regional cores the subscription may use: a VM beyond it is refused (OperationNotAllowed). */
  coreLimit?: number
  /** The blob service every storage account made here is (Azurite's account endpoint and key). */
  storage?: {blobEndpoint: string; key: string} | undefined
}

interface Resource {
  id: string
  name: string
  type: string
  resourceGroup: string
  location: string
  tags: Record<string, string>
  properties: Record<string, unknown>
}

interface Vm extends Resource {
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine | undefined> | undefined
  readyAt: number
  failed?: string | undefined
  customData: string
  sasToken: string
  /** The console kept after the machine stopped. */
  console: string
}

interface Group {
  name: string
  location: string
  tags: Record<string, string>
  deleting?: Promise<void> | undefined
}

class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const SIZES_CORES: Record<string, number> = {
  standard_ds2_v2: 2,
  standard_d2s_v3: 2,
  standard_b1s: 1,
  standard_b2s: 2,
  standard_d2s_v6: 2,
  standard_dc2as_v5: 2,
}
/** Sizes with an NVMe disk controller (the v6 generation), and the confidential (AMD SEV-SNP) ones. */
const NVME_SIZES = new Set(['standard_d2s_v6'])
const CONFIDENTIAL_SIZES = new Set(['standard_dc2as_v5'])

export class FakeAzure {
  readonly groups = new Map<string, Group>()
  /** Every resource but groups, by lowercase id. */
  readonly resources = new Map<string, Resource>()
  /** Every VM ever created, by lowercase id (also after deletion). */
  readonly vms = new Map<string, Vm>()
  /** `METHOD type` of every ARM request, and `token` for each token request, in order. */
  readonly calls: string[] = []
  /** The addresses every VM's NIC got (public: its public IP's, if it has one), in order. */
  readonly addressed: Array<{vm: string; public?: string | undefined; private: string}> = []
  /** The body of every PUT of a resource (not of groups), in order. */
  readonly puts: Array<{type: string; resourceGroup: string; name: string; body: Record<string, unknown>}> = []
  /** The resources the subscription had before any run (live() leaves them out), by lowercase id. */
  private readonly seeded = new Set<string>()
  private readonly operations = new Map<string, () => 'InProgress' | 'Succeeded' | {failed: string}>()
  private privateAddresses = 0
  /** Storage account creations by operation id: their Location answers with the account when done. */
  private readonly accountOperations = new Map<string, Resource>()
  private server: Server | undefined
  private readonly token = `fake-arm-token-${randomBytes(8).toString('hex')}`
  url = ''
  /** The certificate to trust (NODE_EXTRA_CA_CERTS). */
  caFile = ''

  constructor(private readonly options: FakeAzureOptions) {
    // The subscription's own group holding the image machines boot (not kola's: live() leaves it out).
    this.groups.set('images', {name: 'images', location: 'westus', tags: {}})
    this.groups.set(SHARED_GROUP, {name: SHARED_GROUP, location: 'westeurope', tags: {}})
    const seed = (type: string, name: string, properties: Record<string, unknown>) => {
      const id = sharedId(type, name)
      this.resources.set(id.toLowerCase(), {id, name, type, resourceGroup: SHARED_GROUP, location: 'westeurope', tags: {}, properties})
      this.seeded.add(id.toLowerCase())
    }
    seed('Microsoft.Network/virtualNetworks', SHARED_VNET, {
      addressSpace: {addressPrefixes: ['10.1.0.0/16']},
      subnets: ['default', 'kola'].map((subnet, i) => ({
        id: `${SHARED_VNET_ID}/subnets/${subnet}`,
        name: subnet,
        type: 'Microsoft.Network/virtualNetworks/subnets',
        properties: {addressPrefix: `10.1.${i}.0/24`, provisioningState: 'Succeeded'},
      })),
    })
    seed('Microsoft.Compute/availabilitySets', SHARED_AVSET, {platformFaultDomainCount: 2, platformUpdateDomainCount: 5})
    seed('Microsoft.ManagedIdentity/userAssignedIdentities', SHARED_IDENTITY, {
      principalId: randomUUID(),
      clientId: randomUUID(),
      tenantId: FAKE_TENANT,
    })
  }

  async start(): Promise<this> {
    const key = join(this.options.dir, 'fake-azure.key')
    this.caFile = join(this.options.dir, 'fake-azure.crt')
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      this.caFile,
    ])
    this.server = createServer({key: await readFile(key), cert: await readFile(this.caFile)}, (req, res) => {
      void this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, {'content-type': 'application/json'})
        res.end(JSON.stringify({error: {code: 'InternalServerError', message: String(error)}}))
      })
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve))
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
    await this.options.machines.stopAll()
  }

  /** An SDK auth file (`az ad sp create-for-rbac --sdk-auth`) naming this fake's endpoints. */
  authFile(secret = FAKE_CLIENT_SECRET): string {
    return JSON.stringify({
      clientId: FAKE_CLIENT_ID,
      clientSecret: secret,
      subscriptionId: FAKE_SUBSCRIPTION,
      tenantId: FAKE_TENANT,
      activeDirectoryEndpointUrl: this.url,
      resourceManagerEndpointUrl: this.url,
      managementEndpointUrl: `${this.url}/`,
    })
  }

  /** What is not deleted, by kind (names). */
  live(): {resourceGroups: string[]; vms: string[]; nics: string[]; publicIps: string[]; other: string[]; machines: number} {
    const made = [...this.resources.values()].filter((r) => !this.seeded.has(r.id.toLowerCase()))
    const of = (type: string) => made.filter((r) => r.type === type).map((r) => r.name)
    return {
      resourceGroups: [...this.groups.values()].filter((g) => g.name !== 'images' && g.name !== SHARED_GROUP).map((g) => g.name),
      vms: of('Microsoft.Compute/virtualMachines'),
      nics: of('Microsoft.Network/networkInterfaces'),
      publicIps: of('Microsoft.Network/publicIPAddresses'),
      other: made
        .filter((r) => !/virtualMachines|networkInterfaces|publicIPAddresses/.test(r.type))
        .map((r) => `${r.type.split('/')[1]}/${r.name}`),
      machines: this.options.machines.running(),
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID(), ...headers})
      res.end(value === undefined ? undefined : JSON.stringify(value))
    }
    // Azure AD v2.0 (login.microsoftonline.com/<tenant>/...)
    const aad = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname)
    if (aad) return this.aad(aad[1]!, aad[2]!, body, send)
    // The serial console log blob behind a SAS URI (storage, not ARM: no bearer token).
    const blob = /^\/bootdiagnostics\/([^/]+)\/serialconsole\.log$/.exec(url.pathname)
    if (blob && req.method === 'GET') {
      const vm = [...this.vms.values()].find((v) => v.name === blob[1])
      if (!vm || url.searchParams.get('sig') !== vm.sasToken) {
        res.writeHead(403).end('<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>')
        return
      }
      res.writeHead(200, {'content-type': 'text/plain'}).end(vm.machine ? await vm.machine.console() : vm.console)
      return
    }
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`)
        throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.')
      if (!url.searchParams.get('api-version'))
        throw new ArmError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        )
      const out = await this.arm(req.method ?? 'GET', url, body ? (JSON.parse(body) as Record<string, unknown>) : {})
      send(out.status, out.body, out.headers)
    } catch (error) {
      if (!(error instanceof ArmError)) throw error
      send(error.status, {error: {code: error.code, message: error.message}})
    }
  }

  private aad(tenant: string, what: string, body: string, send: (status: number, value: unknown) => void): void {
    const base = `${this.url}/${tenant}`
    if (what.startsWith('v2.0')) {
      send(200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      })
      return
    }
    this.calls.push('token')
    const form = new URLSearchParams(body)
    if (tenant !== FAKE_TENANT) {
      send(400, {error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tenant}' not found.`, error_codes: [90002]})
      return
    }
    if (
      form.get('grant_type') !== 'client_credentials' ||
      form.get('client_id') !== FAKE_CLIENT_ID ||
      form.get('client_secret') !== FAKE_CLIENT_SECRET
    ) {
      send(401, {
        error: 'invalid_client',
        error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${FAKE_CLIENT_ID}'.`,
        error_codes: [7000215],
      })
      return
    }
    // Azure AD knows this cloud's ARM by its management URL: a token for any other resource is refused.
    if (form.get('scope') !== `${this.url}/.default`) {
      send(400, {
        error: 'invalid_resource',
        error_description: `AADSTS500011: The resource principal named ${form.get('scope') ?? ''} was not found in the tenant named ${tenant}.`,
        error_codes: [500011],
      })
      return
    }
    send(200, {token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: this.token})
  }

  private operation(
    provider: string,
    location: string,
    status: () => 'InProgress' | 'Succeeded' | {failed: string},
  ): Record<string, string> {
    const id = randomUUID()
    this.operations.set(id, status)
    const op = `${this.url}/subscriptions/${FAKE_SUBSCRIPTION}/providers/${provider}/locations/${location}/operations/${id}?api-version=2024-07-01`
    return {'azure-asyncoperation': op, location: `${op}&monitor=true`}
  }

  private async arm(
    method: string,
    url: URL,
    body: Record<string, unknown>,
  ): Promise<{status: number; body?: unknown; headers?: Record<string, string>}> {
    const segments = url.pathname.split('/').filter(Boolean)
    if (segments[0]?.toLowerCase() !== 'subscriptions' || segments[1] !== FAKE_SUBSCRIPTION)
      throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${segments[1] ?? ''}' could not be found.`)
    const rest = segments.slice(2)
    const lower = rest.map((s) => s.toLowerCase())
    // Long-running operations: /providers/<ns>/locations/<l>/operations/<id>, /operationresults/<id>
    if (lower[0] === 'providers' && lower[2] === 'locations' && lower[4] === 'operations') {
      const status = this.operations.get(rest[5] ?? '')?.()
      this.calls.push('GET operation')
      if (!status) throw new ArmError(404, 'NotFound', 'operation not found')
      const monitor = url.searchParams.has('monitor')
      if (typeof status === 'object') return {status: 200, body: {status: 'Failed', error: {code: 'VMStartFailed', message: status.failed}}}
      const account = this.accountOperations.get(rest[5] ?? '')
      if (monitor && status === 'Succeeded' && account) return {status: 200, body: this.accountView(account)}
      if (monitor) return status === 'Succeeded' ? {status: 200} : {status: 202, headers: {location: url.toString(), 'retry-after': '1'}}
      return {status: 200, body: {name: rest[5], status}}
    }
    // virtualNetworks.listAll, and Resources - List (by tag or resource type) of the whole subscription.
    if (
      method === 'GET' &&
      rest.length === 3 &&
      lower[0] === 'providers' &&
      lower[1] === 'microsoft.network' &&
      lower[2] === 'virtualnetworks'
    ) {
      this.calls.push('GET virtualNetworks (subscription)')
      return {status: 200, body: {value: this.live0('Microsoft.Network/virtualNetworks').map(view)}}
    }
    if (method === 'GET' && rest.length === 1 && lower[0] === 'resources') {
      this.calls.push('GET resources')
      return {status: 200, body: {value: this.listResources(url.searchParams.get('$filter') ?? '')}}
    }
    if (lower[0] !== 'resourcegroups') throw new ArmError(400, 'InvalidRequestUri', `no such ARM path ${url.pathname}`)
    if (rest.length === 1 && method === 'GET') {
      this.calls.push('GET resourceGroups')
      return {status: 200, body: {value: this.listGroups(url.searchParams.get('$filter') ?? '')}}
    }
    const rgName = rest[1] ?? ''
    const rg = this.groups.get(rgName.toLowerCase())
    if (rest.length === 2) return this.group(method, rgName, rg, body)
    if (!rg || rg.deleting) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rgName}' could not be found.`)
    // /providers/<namespace>/<type>/<name>[/<child type>/<child name>][/<action>]
    if (lower[2] !== 'providers' || rest.length < 5) throw new ArmError(400, 'InvalidRequestUri', `no such ARM path ${url.pathname}`)
    const type = `${rest[3]}/${rest[4]}`
    if (rest.length === 5 && method === 'GET') {
      // A listing: kola kube's AKS clusters (ore azure gc), none here.
      this.calls.push(`GET ${rest[4]}`)
      return {
        status: 200,
        body: {
          value: [...this.resources.values()]
            .filter((r) => r.type.toLowerCase() === type.toLowerCase() && r.resourceGroup === rg.name)
            .map(view),
        },
      }
    }
    if (lower[3] === 'microsoft.compute' && lower[4] === 'galleries') return this.gallery(method, rest, rg, body)
    const name = rest[5] ?? ''
    const id = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${rg.name}/providers/${type}/${name}`
    this.calls.push(`${method} ${rest[4]}${rest.length === 7 ? `/${rest[6]}` : ''}`)
    if (method === 'PUT' && rest.length === 6) this.puts.push({type, resourceGroup: rg.name, name, body})
    if (type.toLowerCase() === 'microsoft.compute/virtualmachines') {
      if (rest.length === 7 && method === 'POST' && lower[6] === 'retrievebootdiagnosticsdata') return this.bootDiagnostics(id)
      if (rest.length === 6) return this.vm(method, id, name, rg, body)
    }
    if (type.toLowerCase() === 'microsoft.storage/storageaccounts') return this.storageAccount(method, id, name, rg, body, lower[6])
    if (type.toLowerCase() === 'microsoft.compute/images' && rest.length === 6 && method !== 'GET')
      return this.image(method, id, name, rg, body)
    if (type.toLowerCase() === 'microsoft.compute/images' && rest.length === 6 && method === 'GET') {
      const made = this.resources.get(id.toLowerCase())
      if (made) return {status: 200, body: view(made)}
      if (id.toLowerCase() !== FAKE_IMAGE_ID.toLowerCase())
        throw new ArmError(
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.Compute/images/${name}' under resource group '${rg.name}' was not found.`,
        )
      return {
        status: 200,
        body: {
          id: FAKE_IMAGE_ID,
          name,
          type: 'Microsoft.Compute/images',
          location: 'westus',
          properties: {hyperVGeneration: 'V2', provisioningState: 'Succeeded'},
        },
      }
    }
    if (
      /^microsoft\.network\/(networksecuritygroups|virtualnetworks|publicipaddresses|networkinterfaces)$/.test(type.toLowerCase()) &&
      rest.length === 6
    )
      return this.network(method, id, name, type, rg, body)
    throw new ArmError(400, 'InvalidResourceType', `The resource type '${type}' could not be found in the namespace '${rest[3]}'.`)
  }

  /** Every resource of a type that exists, in any group. */
  private live0(type: string): Resource[] {
    return [...this.resources.values()].filter((r) => r.type === type && !this.groups.get(r.resourceGroup.toLowerCase())?.deleting)
  }

  /** Resources - List: `tagName eq 'k' and tagValue eq 'v'` or `resourceType eq 't'`, the only filters ARM takes alone. */
  private listResources(filter: string) {
    const tag = /^tagName eq '([^']*)' and tagValue eq '([^']*)'$/.exec(filter)
    const type = /^resourceType eq '([^']*)'$/.exec(filter)
    if (filter && !tag && !type)
      throw new ArmError(400, 'InvalidFilterInQueryString', `Invalid $filter '${filter}' specified in the query string.`)
    return [...this.resources.values()]
      .filter((r) => (!tag || r.tags[tag[1]!] === tag[2]) && (!type || r.type.toLowerCase() === type[1]!.toLowerCase()))
      .map(({id, name, type: t, location, tags}) => ({id, name, type: t, location, tags}))
  }

  private listGroups(filter: string) {
    const m = /tagName eq '([^']*)' and tagValue eq '([^']*)'/.exec(filter)
    return [...this.groups.values()]
      .filter((g) => !g.deleting && (!m || g.tags[m[1]!] === m[2]))
      .map((g) => ({
        id: groupId(g.name),
        name: g.name,
        type: 'Microsoft.Resources/resourceGroups',
        location: g.location,
        tags: g.tags,
        properties: {provisioningState: 'Succeeded'},
      }))
  }

  private group(
    method: string,
    name: string,
    rg: Group | undefined,
    body: Record<string, unknown>,
  ): {status: number; body?: unknown; headers?: Record<string, string>} {
    const out = (g: Group) => ({
      id: groupId(g.name),
      name: g.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: g.location,
      tags: g.tags,
      properties: {provisioningState: g.deleting ? 'Deleting' : 'Succeeded'},
    })
    this.calls.push(`${method} resourceGroups`)
    switch (method) {
      case 'PUT': {
        if (typeof body.location !== 'string' || !body.location)
          throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
        if (rg?.deleting)
          throw new ArmError(
            409,
            'ResourceGroupBeingDeleted',
            `The resource group '${name}' is in deprovisioning state and cannot perform this operation.`,
          )
        const g: Group = {name, location: body.location, tags: (body.tags as Record<string, string>) ?? {}}
        this.groups.set(name.toLowerCase(), g)
        return {status: rg ? 200 : 201, body: out(g)}
      }
      case 'GET':
      case 'HEAD':
        if (!rg) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`)
        return {status: method === 'HEAD' ? 204 : 200, body: method === 'HEAD' ? undefined : out(rg)}
      case 'DELETE': {
        if (!rg) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`)
        for (const r of this.resources.values()) {
          const user = r.resourceGroup === rg.name ? this.attachedTo(r) : undefined
          if (user && user.resourceGroup !== rg.name)
            throw new ArmError(
              400,
              'InUseNetworkInterfaceCannotBeDeleted',
              `Network Interface ${r.id} is used by existing resource ${user.id}.`,
            )
        }
        let done = false
        rg.deleting ??= this.deleteGroupContents(rg).then(() => {
          this.groups.delete(rg.name.toLowerCase())
        })
        void rg.deleting.then(() => (done = true))
        const id = randomUUID()
        this.operations.set(id, () => (done ? 'Succeeded' : 'InProgress'))
        return {
          status: 202,
          headers: {
            location: `${this.url}/subscriptions/${FAKE_SUBSCRIPTION}/providers/Microsoft.Resources/locations/${rg.location}/operations/${id}?api-version=2022-09-01&monitor=true`,
            'retry-after': '1',
          },
        }
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not allowed on a resource group`)
    }
  }

  private async deleteGroupContents(rg: Group): Promise<void> {
    const inGroup = [...this.resources.values()].filter((r) => r.resourceGroup === rg.name)
    await Promise.all(inGroup.filter((r): r is Vm => this.vms.has(r.id.toLowerCase())).map((vm) => this.powerOff(vm)))
    for (const r of inGroup) this.resources.delete(r.id.toLowerCase())
  }

  private network(method: string, id: string, name: string, type: string, rg: Group, body: Record<string, unknown>) {
    const key = id.toLowerCase()
    const existing = this.resources.get(key)
    const canonical =
      type.split('/')[0] +
      '/' +
      (
        {
          networksecuritygroups: 'networkSecurityGroups',
          virtualnetworks: 'virtualNetworks',
          publicipaddresses: 'publicIPAddresses',
          networkinterfaces: 'networkInterfaces',
        } as Record<string, string>
      )[type.split('/')[1]!.toLowerCase()]!
    if (method === 'GET') {
      if (!existing)
        throw new ArmError(404, 'ResourceNotFound', `The Resource '${canonical}/${name}' under resource group '${rg.name}' was not found.`)
      return {status: 200, body: view(existing)}
    }
    if (method === 'DELETE') {
      if (!existing) return {status: 204}
      if (this.attachedTo(existing)) throw new ArmError(400, 'NicInUse', `Network Interface ${id} is used by existing resource.`)
      this.resources.delete(key)
      return {status: 202, headers: this.operation('Microsoft.Network', rg.location, () => 'Succeeded')}
    }
    if (method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `${method} not allowed`)
    if (typeof body.location !== 'string' || !body.location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
    const properties = {...((body.properties as Record<string, unknown>) ?? {})}
    if (canonical === 'Microsoft.Network/virtualNetworks') {
      const prefixes = (properties.addressSpace as {addressPrefixes?: string[]} | undefined)?.addressPrefixes
      if (!prefixes?.length) throw new ArmError(400, 'InvalidAddressSpace', 'The virtual network has no address space.')
      properties.subnets = ((properties.subnets as Array<{name?: string; properties?: Record<string, unknown>}>) ?? []).map((s) => {
        const nsg = (s.properties?.networkSecurityGroup as {id?: string} | undefined)?.id
        if (nsg && !this.resources.has(nsg.toLowerCase()))
          throw new ArmError(400, 'InvalidResourceReference', `Resource ${nsg} referenced by resource ${id} was not found.`)
        return {
          id: `${id}/subnets/${s.name}`,
          name: s.name,
          type: 'Microsoft.Network/virtualNetworks/subnets',
          properties: {...s.properties, provisioningState: 'Succeeded'},
        }
      })
    }
    if (canonical === 'Microsoft.Network/networkInterfaces') {
      const configs = (properties.ipConfigurations as Array<{properties?: Record<string, unknown>}> | undefined) ?? []
      if (!configs.length)
        throw new ArmError(400, 'NetworkInterfaceWithoutIpConfiguration', 'A network interface needs an IP configuration.')
      for (const c of configs) {
        const subnet = (c.properties?.subnet as {id?: string} | undefined)?.id ?? ''
        if (!this.subnetExists(subnet))
          throw new ArmError(400, 'InvalidResourceReference', `Resource ${subnet} referenced by resource ${id} was not found.`)
        const ip = (c.properties?.publicIPAddress as {id?: string} | undefined)?.id
        if (ip && !this.resources.has(ip.toLowerCase()))
          throw new ArmError(400, 'InvalidResourceReference', `Resource ${ip} referenced by resource ${id} was not found.`)
      }
    }
    if (canonical === 'Microsoft.Network/publicIPAddresses') {
      const sku = (body.sku as {name?: string} | undefined)?.name ?? 'Basic'
      // Basic SKU public IPs were retired on 2025-09-30.
      if (sku !== 'Standard') throw new ArmError(400, 'BasicSkuPublicIpRetired', 'Basic SKU public IP addresses can no longer be created.')
    }
    const resource: Resource = {
      id,
      name,
      type: canonical,
      resourceGroup: rg.name,
      location: body.location,
      tags: (body.tags as Record<string, string>) ?? {},
      properties: {...properties, provisioningState: 'Succeeded'},
    }
    if (body.sku) (resource as Resource & {sku?: unknown}).sku = body.sku
    this.resources.set(key, resource)
    let polls = 0
    return {
      status: existing ? 200 : 201,
      body: view({...resource, properties: {...resource.properties, provisioningState: 'Updating'}}),
      headers: this.operation('Microsoft.Network', rg.location, () => (polls++ < 1 ? 'InProgress' : 'Succeeded')),
    }
  }

  /** A managed image made of a page blob (images.createOrUpdate with storageProfile.osDisk.blobUri). */
  private image(method: string, id: string, name: string, rg: Group, body: Record<string, unknown>) {
    const key = id.toLowerCase()
    if (method === 'DELETE') {
      if (!this.resources.delete(key)) return {status: 204}
      return {status: 202, headers: this.operation('Microsoft.Compute', rg.location, () => 'Succeeded')}
    }
    if (method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `${method} not allowed`)
    if (typeof body.location !== 'string' || !body.location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
    const osDisk = (body.properties as {storageProfile?: {osDisk?: {blobUri?: string; osType?: string; osState?: string}}} | undefined)
      ?.storageProfile?.osDisk
    if (!osDisk?.osType || !osDisk.osState)
      throw new ArmError(400, 'InvalidParameter', "Required parameter 'osDisk.osType' is missing (null).")
    if (osDisk.blobUri !== FAKE_BLOB_URL && !this.accountOfBlob(osDisk.blobUri))
      throw new ArmError(
        400,
        'InvalidParameter',
        `Source blob ${osDisk.blobUri ?? 'null'} does not exist or is not accessible from the subscription.`,
      )
    const image: Resource = {
      id,
      name,
      type: 'Microsoft.Compute/images',
      resourceGroup: rg.name,
      location: body.location,
      tags: (body.tags as Record<string, string>) ?? {},
      properties: {...(body.properties as Record<string, unknown>), provisioningState: 'Succeeded'},
    }
    this.resources.set(key, image)
    let polls = 0
    return {
      status: 201,
      body: view({...image, properties: {...image.properties, provisioningState: 'Creating'}}),
      headers: this.operation('Microsoft.Compute', rg.location, () => (polls++ < 1 ? 'InProgress' : 'Succeeded')),
    }
  }

  private subnetExists(id: string): boolean {
    const m = /^(.*\/virtualNetworks\/[^/]+)\/subnets\/([^/]+)$/i.exec(id)
    const vnet = m ? this.resources.get(m[1]!.toLowerCase()) : undefined
    return Boolean(vnet && (vnet.properties.subnets as Array<{name: string}>).some((s) => s.name === m![2]))
  }

  /** The VM a NIC belongs to, or the NIC a public IP belongs to. */
  private attachedTo(r: Resource): Resource | undefined {
    const id = r.id.toLowerCase()
    return [...this.resources.values()].find(
      (o) => JSON.stringify(o.properties).toLowerCase().includes(`"id":"${id}"`) && o.id.toLowerCase() !== id,
    )
  }

  private vm(method: string, id: string, name: string, rg: Group, body: Record<string, unknown>) {
    const key = id.toLowerCase()
    const existing = this.resources.get(key) as Vm | undefined
    if (method === 'GET') {
      if (!existing)
        throw new ArmError(
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.Compute/virtualMachines/${name}' under resource group '${rg.name}' was not found.`,
        )
      return {status: 200, body: this.vmView(existing)}
    }
    if (method === 'DELETE') {
      if (!existing) return {status: 204}
      const stopping = this.deleteVm(existing)
      let done = false
      void stopping.then(() => (done = true))
      return {status: 202, headers: this.operation('Microsoft.Compute', rg.location, () => (done ? 'Succeeded' : 'InProgress'))}
    }
    if (method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `${method} not allowed`)
    if (existing) throw new ArmError(409, 'PropertyChangeNotAllowed', 'kola never updates a VM: the fake does not either.')
    if (typeof body.location !== 'string' || !body.location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
    const p = (body.properties ?? {}) as {
      hardwareProfile?: {vmSize?: string}
      storageProfile?: {
        imageReference?: {id?: string; publisher?: string}
        osDisk?: {createOption?: string; managedDisk?: {securityProfile?: {securityEncryptionType?: string}}}
        diskControllerType?: string
      }
      securityProfile?: {securityType?: string; uefiSettings?: {secureBootEnabled?: boolean; vTpmEnabled?: boolean}}
      availabilitySet?: {id?: string}
      osProfile?: {
        computerName?: string
        adminUsername?: string
        customData?: string
        linuxConfiguration?: {ssh?: {publicKeys?: Array<{path?: string; keyData?: string}>}}
      }
      networkProfile?: {networkInterfaces?: Array<{id?: string; properties?: {deleteOption?: string}}>}
      diagnosticsProfile?: {bootDiagnostics?: {enabled?: boolean}}
    }
    const size = p.hardwareProfile?.vmSize ?? ''
    const cores = SIZES_CORES[size.toLowerCase()]
    if (!cores) throw new ArmError(400, 'InvalidParameter', `The value ${size || 'null'} provided for the VM size is not valid.`)
    const image = p.storageProfile?.imageReference
    if (!image?.id) throw new ArmError(400, 'InvalidParameter', "Required parameter 'imageReference' is missing (null).")
    const known =
      image.id.toLowerCase() === FAKE_IMAGE_ID.toLowerCase() ||
      /^Microsoft\.Compute\/(images|galleries\/images\/versions)$/.test(this.resources.get(image.id.toLowerCase())?.type ?? '')
    if (!known) throw new ArmError(404, 'NotFound', `The Image '${image.id}' cannot be found in '${body.location}' region.`)
    this.checkVmOptions(
      id,
      rg,
      size,
      image.id,
      p,
      body.identity as {type?: string; userAssignedIdentities?: Record<string, unknown>} | undefined,
    )
    if (!p.osProfile?.adminUsername) throw new ArmError(400, 'InvalidParameter', "Required parameter 'adminUsername' is missing (null).")
    for (const k of p.osProfile.linuxConfiguration?.ssh?.publicKeys ?? [])
      if (k.path !== `/home/${p.osProfile.adminUsername}/.ssh/authorized_keys`)
        throw new ArmError(
          400,
          'InvalidParameter',
          `Destination path for SSH public keys is currently limited to its default value /home/${p.osProfile.adminUsername}/.ssh/authorized_keys due to a known issue in Linux provisioning agent.`,
        )
    const nics = p.networkProfile?.networkInterfaces ?? []
    if (!nics.length) throw new ArmError(400, 'InvalidParameter', "Required parameter 'networkProfile' is missing (null).")
    for (const n of nics) {
      const nic = this.resources.get((n.id ?? '').toLowerCase())
      if (!nic) throw new ArmError(400, 'InvalidResourceReference', `Resource ${n.id} referenced by resource ${id} was not found.`)
      if (this.attachedTo(nic)) throw new ArmError(400, 'NicInUse', `Network Interface ${n.id} is used by existing resource.`)
    }
    const used = [...this.resources.values()]
      .filter((r): r is Vm => this.vms.has(r.id.toLowerCase()))
      .reduce((sum, v) => sum + (SIZES_CORES[String((v.properties.hardwareProfile as {vmSize: string}).vmSize).toLowerCase()] ?? 0), 0)
    const limit = this.options.coreLimit ?? Number.POSITIVE_INFINITY
    if (used + cores > limit)
      throw new ArmError(
        409,
        'OperationNotAllowed',
        `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Additional details - Deployment Model: Resource Manager, Location: ${body.location}, Current Limit: ${limit}, Current Usage: ${used}, Additional Required: ${cores}, (Minimum) New Limit Required: ${used + cores}.`,
      )
    const customData = Buffer.from(p.osProfile.customData ?? '', 'base64').toString('utf8')
    const vm: Vm = {
      id,
      name,
      type: 'Microsoft.Compute/virtualMachines',
      resourceGroup: rg.name,
      location: body.location,
      tags: (body.tags as Record<string, string>) ?? {},
      properties: {...p, osProfile: {...p.osProfile, customData: undefined}, vmId: randomUUID()},
      readyAt: Number.POSITIVE_INFINITY,
      customData,
      sasToken: randomBytes(12).toString('hex'),
      console: '',
    }
    this.resources.set(key, vm)
    this.vms.set(key, vm)
    vm.starting = this.options.machines.start(name, customData).then(
      (m) => {
        vm.machine = m
        vm.readyAt = Date.now() + (this.options.runningDelayMs ?? 0)
        this.addresses(vm, m.ip)
        return m
      },
      (error: unknown) => {
        vm.failed = `the machine did not start: ${String(error)}`
        return undefined
      },
    )
    const status = () => (vm.failed ? {failed: vm.failed} : Date.now() >= vm.readyAt ? ('Succeeded' as const) : ('InProgress' as const))
    return {status: 201, body: this.vmView(vm), headers: this.operation('Microsoft.Compute', rg.location, status)}
  }

  /** What ARM checks of the --azure-* flags' parts of a VM (Compute REST reference, Virtual Machines - Create Or Update). */
  private checkVmOptions(
    id: string,
    rg: Group,
    size: string,
    imageId: string,
    p: {
      storageProfile?: {osDisk?: {managedDisk?: {securityProfile?: {securityEncryptionType?: string}}}; diskControllerType?: string}
      securityProfile?: {securityType?: string; uefiSettings?: {vTpmEnabled?: boolean}}
      availabilitySet?: {id?: string}
    },
    identity: {type?: string; userAssignedIdentities?: Record<string, unknown>} | undefined,
  ): void {
    const bad = (message: string) => new ArmError(400, 'InvalidParameter', message)
    const controller = p.storageProfile?.diskControllerType
    if (controller !== undefined && controller !== 'SCSI' && controller !== 'NVMe')
      throw bad(`The value '${controller}' of parameter 'diskControllerType' is not valid.`)
    if (controller === 'NVMe' && !NVME_SIZES.has(size.toLowerCase()))
      throw bad(`The VM size '${size}' does not support the disk controller type 'NVMe'.`)
    const security = p.securityProfile?.securityType
    if (security !== undefined) {
      if (security !== 'TrustedLaunch' && security !== 'ConfidentialVM')
        throw bad(`The value '${security}' of parameter 'securityProfile.securityType' is not valid.`)
      const generation = this.generationOf(imageId)
      if (generation !== 'V2') throw bad(`The image '${imageId}' is Hyper-V generation 1: ${security} needs a generation 2 image.`)
      if (security === 'ConfidentialVM') {
        if (!CONFIDENTIAL_SIZES.has(size.toLowerCase())) throw bad(`The VM size '${size}' is not supported for a confidential VM.`)
        if (!p.storageProfile?.osDisk?.managedDisk?.securityProfile?.securityEncryptionType)
          throw bad("Required parameter 'osDisk.managedDisk.securityProfile.securityEncryptionType' is missing (null).")
        if (!p.securityProfile?.uefiSettings?.vTpmEnabled) throw bad('A confidential VM needs vTpmEnabled.')
      }
    }
    const avset = p.availabilitySet?.id
    if (avset !== undefined) {
      const found = this.resources.get(avset.toLowerCase())
      if (found?.type !== 'Microsoft.Compute/availabilitySets')
        throw new ArmError(404, 'NotFound', `Availability set ${avset} referenced by resource ${id} was not found.`)
      if (found.resourceGroup !== rg.name)
        throw bad(`Availability set ${avset} must be in the resource group ${rg.name} of the virtual machine.`)
    }
    if (identity !== undefined) {
      const ids = Object.keys(identity.userAssignedIdentities ?? {})
      if (identity.type !== 'UserAssigned' || !ids.length)
        throw bad("The identity type must be 'UserAssigned' with userAssignedIdentities when identities are listed.")
      for (const i of ids)
        if (this.resources.get(i.toLowerCase())?.type !== 'Microsoft.ManagedIdentity/userAssignedIdentities')
          throw new ArmError(400, 'FailedIdentityOperation', `Identity '${i}' does not exist.`)
    }
  }

  /** An image's Hyper-V generation (a gallery version's is its image definition's). */
  private generationOf(imageId: string): unknown {
    if (imageId.toLowerCase() === FAKE_IMAGE_ID.toLowerCase()) return 'V2'
    const version = /^(.*\/galleries\/[^/]+\/images\/[^/]+)\/versions\/[^/]+$/i.exec(imageId)
    return this.resources.get((version ? version[1]! : imageId).toLowerCase())?.properties.hyperVGeneration
  }

  /** The storage account a blob URL is under (its primaryEndpoints.blob), if one was made here. */
  private accountOfBlob(uri: string | undefined): Resource | undefined {
    return [...this.resources.values()].find(
      (r) =>
        r.type === 'Microsoft.Storage/storageAccounts' && uri?.startsWith(String((r.properties.primaryEndpoints as {blob: string}).blob)),
    )
  }

  /** Storage Accounts - Create (sku, kind, location; a 3-24 character lowercase name) and List Keys. */
  private storageAccount(method: string, id: string, name: string, rg: Group, body: Record<string, unknown>, action: string | undefined) {
    const key = id.toLowerCase()
    const existing = this.resources.get(key)
    const missing = () => new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Storage/storageAccounts/${name}' was not found.`)
    if (action === 'listkeys' && method === 'POST') {
      if (!existing) throw missing()
      return {status: 200, body: {keys: [{keyName: 'key1', value: existing.properties.key, permissions: 'FULL'}]}}
    }
    if (action) throw new ArmError(400, 'InvalidRequestUri', `no such storage account action ${action}`)
    if (method === 'GET') {
      if (!existing) throw missing()
      return {status: 200, body: this.accountView(existing)}
    }
    if (method === 'DELETE') {
      this.resources.delete(key)
      return {status: existing ? 200 : 204}
    }
    if (method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `${method} not allowed`)
    if (!/^[a-z0-9]{3,24}$/.test(name))
      throw new ArmError(
        400,
        'AccountNameInvalid',
        `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
      )
    if (typeof body.location !== 'string' || !body.location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
    if (!(body.sku as {name?: string} | undefined)?.name)
      throw new ArmError(400, 'InvalidRequestContent', "The request content is missing 'sku'.")
    if (!body.kind) throw new ArmError(400, 'InvalidRequestContent', "The request content is missing 'kind'.")
    const properties = {...((body.properties as Record<string, unknown>) ?? {})}
    for (const rule of (properties.networkAcls as {virtualNetworkRules?: Array<{id?: string}>} | undefined)?.virtualNetworkRules ?? [])
      if (!this.subnetExists(rule.id ?? ''))
        throw new ArmError(400, 'NetworkAclsValidationFailure', `Validation of network acls failure: SubnetsNotFound:${rule.id ?? ''}.`)
    const blob = this.options.storage
      ? `${this.options.storage.blobEndpoint.replace(/\/+$/, '')}/`
      : `https://${name}.blob.core.windows.net/`
    const account: Resource = {
      id,
      name,
      type: 'Microsoft.Storage/storageAccounts',
      resourceGroup: rg.name,
      location: body.location,
      tags: (body.tags as Record<string, string>) ?? {},
      properties: {
        ...properties,
        key: this.options.storage?.key ?? randomBytes(32).toString('base64'),
        primaryEndpoints: {blob},
        provisioningState: 'Succeeded',
      },
    }
    Object.assign(account, {sku: body.sku, kind: body.kind})
    this.resources.set(key, account)
    // Storage answers a create with 202 and a Location to poll, which then gives the account.
    let polls = 0
    const op = this.operation('Microsoft.Storage', rg.location, () => (polls++ < 1 ? 'InProgress' : 'Succeeded'))
    this.accountOperations.set(/\/operations\/([^?]+)/.exec(op.location!)![1]!, account)
    return {status: 202, headers: {location: op.location!, 'retry-after': '1'}}
  }

  /** An account as ARM shows it: no key. */
  private accountView(r: Resource) {
    const {key: _key, ...properties} = r.properties
    return {...view({...r, properties}), kind: (r as Resource & {kind?: unknown}).kind}
  }

  /** Galleries, their image definitions and versions (Compute REST reference, Shared Image Galleries). */
  private gallery(method: string, rest: string[], rg: Group, body: Record<string, unknown>) {
    const kinds = ['galleries', 'images', 'versions']
    const depth = (rest.length - 4) / 2
    if (!Number.isInteger(depth) || depth < 1 || depth > 3 || rest.slice(4).some((p, i) => i % 2 === 0 && p.toLowerCase() !== kinds[i / 2]))
      throw new ArmError(400, 'InvalidRequestUri', `no such ARM path ${rest.join('/')}`)
    const type = `Microsoft.Compute/${kinds.slice(0, depth).join('/')}`
    const id = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${rg.name}/providers/Microsoft.Compute/${rest.slice(4).join('/')}`
    const name = rest.at(-1) ?? ''
    const parent = depth > 1 ? id.split('/').slice(0, -2).join('/') : undefined
    this.calls.push(`${method} ${kinds.slice(0, depth).join('/')}`)
    const existing = this.resources.get(id.toLowerCase())
    if (method === 'GET') {
      if (!existing)
        throw new ArmError(
          404,
          ['GalleryNotFound', 'GalleryImageNotFound', 'NotFound'][depth - 1]!,
          `The Resource '${type}/${name}' under resource group '${rg.name}' was not found.`,
        )
      return {status: 200, body: view(existing)}
    }
    if (method === 'DELETE') {
      this.resources.delete(id.toLowerCase())
      return {status: existing ? 200 : 204}
    }
    if (method !== 'PUT') throw new ArmError(405, 'MethodNotAllowed', `${method} not allowed`)
    this.puts.push({type, resourceGroup: rg.name, name, body})
    if (parent && !this.resources.has(parent.toLowerCase()))
      throw new ArmError(
        404,
        'ParentResourceNotFound',
        `Can not perform requested operation on nested resource. Parent resource '${parent.split('/').at(-1) ?? ''}' not found.`,
      )
    if (typeof body.location !== 'string' || !body.location)
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.')
    const properties = (body.properties as Record<string, unknown> | undefined) ?? {}
    if (depth === 1 && !/^[A-Za-z0-9._]+$/.test(name))
      throw new ArmError(400, 'InvalidParameter', `The gallery name '${name}' may contain only letters, digits, dots and underscores.`)
    if (depth === 2) {
      const identifier = properties.identifier as {publisher?: string; offer?: string; sku?: string} | undefined
      if (!properties.osType || !properties.osState || !identifier?.publisher || !identifier.offer || !identifier.sku)
        throw new ArmError(400, 'InvalidParameter', 'An image definition needs osType, osState and identifier {publisher, offer, sku}.')
    }
    if (depth === 3) {
      if (!/^\d+\.\d+\.\d+$/.test(name))
        throw new ArmError(400, 'InvalidParameter', `The gallery image version name '${name}' is not valid.`)
      const source = (properties.storageProfile as {osDiskImage?: {source?: {uri?: string; storageAccountId?: string}}} | undefined)
        ?.osDiskImage?.source
      const account = this.accountOfBlob(source?.uri)
      if (!account || account.id.toLowerCase() !== source?.storageAccountId?.toLowerCase())
        throw new ArmError(
          400,
          'InvalidParameter',
          `The source blob ${source?.uri ?? 'null'} is not in the storage account ${source?.storageAccountId ?? 'null'}.`,
        )
    }
    const resource: Resource = {
      id,
      name,
      type,
      resourceGroup: rg.name,
      location: body.location,
      tags: (body.tags as Record<string, string>) ?? {},
      properties: {...properties, provisioningState: 'Succeeded'},
    }
    this.resources.set(id.toLowerCase(), resource)
    let polls = 0
    return {
      status: existing ? 200 : 201,
      body: view({...resource, properties: {...resource.properties, provisioningState: 'Creating'}}),
      headers: this.operation('Microsoft.Compute', rg.location, () => (polls++ < 1 ? 'InProgress' : 'Succeeded')),
    }
  }

  /**
   * The machine's address (where kola reaches it) becomes its public IP's address, and the NIC gets a
   * private one of its subnet that kola cannot reach; a NIC without a public IP is reached at its private
   * address (kola runs inside the VNet, as --azure-use-private-ips assumes), which is then the machine's.
   */
  private addresses(vm: Vm, ip: string): void {
    for (const n of (vm.properties.networkProfile as {networkInterfaces: Array<{id: string}>}).networkInterfaces) {
      const nic = this.resources.get(n.id.toLowerCase())
      for (const c of (nic?.properties.ipConfigurations as Array<{properties: Record<string, unknown>}> | undefined) ?? []) {
        const pip = this.resources.get(((c.properties.publicIPAddress as {id?: string} | undefined)?.id ?? '').toLowerCase())
        if (pip) pip.properties.ipAddress = ip
        c.properties.privateIPAddress = pip ? this.privateAddress(String((c.properties.subnet as {id?: string}).id)) : ip
        this.addressed.push({vm: vm.name, public: pip ? ip : undefined, private: String(c.properties.privateIPAddress)})
      }
    }
  }

  /** The next address of a subnet (Azure keeps its first four). */
  private privateAddress(subnetId: string): string {
    const m = /^(.*\/virtualNetworks\/[^/]+)\/subnets\/([^/]+)$/i.exec(subnetId)
    const subnets = (this.resources.get(m?.[1]?.toLowerCase() ?? '')?.properties.subnets ?? []) as Array<{
      name: string
      properties: {addressPrefix?: string}
    }>
    const prefix = subnets.find((s) => s.name === m?.[2])?.properties.addressPrefix ?? '10.0.0.0/24'
    return `${prefix.split('.').slice(0, 3).join('.')}.${4 + this.privateAddresses++}`
  }

  private vmView(vm: Vm) {
    const state = vm.failed ? 'Failed' : Date.now() >= vm.readyAt ? 'Succeeded' : 'Creating'
    return view({...vm, properties: {...vm.properties, provisioningState: state}})
  }

  private bootDiagnostics(id: string) {
    const vm = this.resources.get(id.toLowerCase()) as Vm | undefined
    if (!vm)
      throw new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachines/${id.split('/').pop()}' was not found.`)
    if (!(vm.properties.diagnosticsProfile as {bootDiagnostics?: {enabled?: boolean}} | undefined)?.bootDiagnostics?.enabled)
      throw new ArmError(409, 'OperationNotAllowed', 'Boot diagnostics are not enabled for this virtual machine.')
    const base = `${this.url}/bootdiagnostics/${vm.name}`
    return {
      status: 200,
      body: {
        consoleScreenshotBlobUri: `${base}/screenshot.bmp?sv=2022-11-02&sig=${vm.sasToken}`,
        serialConsoleLogBlobUri: `${base}/serialconsole.log?sv=2022-11-02&sr=b&sp=r&sig=${vm.sasToken}`,
      },
    }
  }

  /** Deletes a VM and, by their deleteOption, its NICs and their public IPs. */
  private async deleteVm(vm: Vm): Promise<void> {
    this.resources.delete(vm.id.toLowerCase())
    for (const n of (vm.properties.networkProfile as {networkInterfaces: Array<{id: string; properties?: {deleteOption?: string}}>})
      .networkInterfaces) {
      if (n.properties?.deleteOption !== 'Delete') continue
      const nic = this.resources.get(n.id.toLowerCase())
      if (!nic) continue
      this.resources.delete(nic.id.toLowerCase())
      for (const c of (nic.properties.ipConfigurations as Array<{
        properties: {publicIPAddress?: {id?: string; properties?: {deleteOption?: string}}}
      }>) ?? []) {
        const ip = c.properties.publicIPAddress
        if (ip?.id && ip.properties?.deleteOption === 'Delete') this.resources.delete(ip.id.toLowerCase())
      }
    }
    await this.powerOff(vm)
  }

  private async powerOff(vm: Vm): Promise<void> {
    const machine = vm.machine ?? (await vm.starting)
    if (!machine) return
    vm.console = await machine.console()
    vm.machine = undefined
    await machine.stop()
  }
}

function groupId(name: string): string {
  return `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${name}`
}

function view(r: Resource): Record<string, unknown> {
  const {id, name, type, location, tags, properties} = r
  const sku = (r as Resource & {sku?: unknown}).sku
  return {id, name, type, location, tags, ...(sku ? {sku} : {}), properties}
}
