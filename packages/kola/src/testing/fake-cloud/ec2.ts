// A fake EC2 (and STS) control plane for kola's own tests: a real HTTP server
// speaking the EC2 Query API (form-encoded Action=... requests, XML answers,
// as in the EC2 API reference and as @aws-sdk/client-ec2 parses them), so
// that the real SDK sends real requests to it. Every instance it launches is
// a real machine from a MachineFactory, configured by the user data it got.
// What it checks of a request: the access key id of the SigV4 Authorization
// header (not the signature), the parameters kola and `ore aws gc` send.
import {randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import type {FakeMachine, MachineFactory} from './machines.js'

export const FAKE_ACCESS_KEY = 'AKIAFAKEKOLA00000001'
export const FAKE_SECRET_KEY = 'fake-secret-key-for-kola-tests-0000000000'
export const FAKE_AMI = 'ami-0fa4e0000000000c0'

export interface FakeEc2Options {
  machines: MachineFactory
  /** Time RunInstances takes to answer. */
  launchDelayMs?: number
  /** Time from launch until the instance is `running`. */
  runningDelayMs?: number
  /** Instances (not terminated) the account may have: RunInstances beyond it is InstanceLimitExceeded. */
  instanceLimit?: number
}

interface Tagged {
  tags: Map<string, string>
}

interface Instance extends Tagged {
  id: string
  imageId: string
  type: string
  keyName?: string | undefined
  groups: string[]
  state: 'pending' | 'running' | 'shutting-down' | 'terminated'
  launchTime: Date
  runningAt: number
  machine?: FakeMachine | undefined
  starting?: Promise<FakeMachine> | undefined
  console: string
}

interface KeyPair extends Tagged {
  id: string
  name: string
  created: Date
}

interface Group extends Tagged {
  id: string
  name: string
}

const STATE_CODES = {pending: 0, running: 16, 'shutting-down': 32, terminated: 48}

class Ec2Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export class FakeEc2 {
  readonly instances = new Map<string, Instance>()
  readonly keyPairs = new Map<string, KeyPair>()
  readonly groups = new Map<string, Group>()
  /** Every Action received, in order. */
  readonly calls: string[] = []
  private server: Server | undefined
  url = ''

  constructor(private readonly options: FakeEc2Options) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      // `ore aws gc` also collects kola kube's EKS clusters: EKS's REST ListClusters (GET /clusters, JSON
      // {"clusters": [...]}, EKS API reference) answers that this account has none.
      if (req.method === 'GET' && new URL(req.url ?? '/', 'http://fake').pathname === '/clusters') {
        res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({clusters: []}))
        return
      }
      void this.handle(req).then(
        ({status, body}) => res.writeHead(status, {'content-type': 'text/xml;charset=UTF-8'}).end(body),
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

  /** Resources not yet deleted or terminated, by kind. */
  live(): {instances: string[]; keyPairs: string[]; groups: string[]} {
    return {
      instances: [...this.instances.values()].filter((i) => i.state !== 'terminated').map((i) => i.id),
      keyPairs: [...this.keyPairs.values()].map((k) => k.name),
      groups: [...this.groups.values()].filter((g) => g.name !== 'default').map((g) => g.id),
    }
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body: string}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    const action = params.get('Action') ?? ''
    this.calls.push(action)
    const sts = action === 'GetCallerIdentity'
    try {
      const key = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1]
      if (key !== FAKE_ACCESS_KEY) {
        throw sts
          ? new Ec2Error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
          : new Ec2Error(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials')
      }
      return {status: 200, body: await this.act(action, params)}
    } catch (error) {
      if (!(error instanceof Ec2Error)) throw error
      if (sts) {
        return {
          status: error.status,
          body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${esc(error.message)}</Message></Error><RequestId>${rid()}</RequestId></ErrorResponse>`,
        }
      }
      return {
        status: error.status,
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${error.code}</Code><Message>${esc(error.message)}</Message></Error></Errors><RequestID>${rid()}</RequestID></Response>`,
      }
    }
  }

  private async act(action: string, p: URLSearchParams): Promise<string> {
    switch (action) {
      case 'GetCallerIdentity':
        return `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/kola</Arn><UserId>AIDAFAKEKOLA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${rid()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
      case 'DescribeImages': {
        const ids = list(p, 'ImageId')
        const unknown = ids.find((id) => id !== FAKE_AMI)
        if (unknown) throw new Ec2Error(400, 'InvalidAMIID.NotFound', `The image id '[${unknown}]' does not exist`)
        return ec2(
          'DescribeImages',
          `<imagesSet><item><imageId>${FAKE_AMI}</imageId><imageState>available</imageState><name>kola-test-image</name><architecture>x86_64</architecture></item></imagesSet>`,
        )
      }
      case 'ImportKeyPair': {
        const name = p.get('KeyName') ?? ''
        if ([...this.keyPairs.values()].some((k) => k.name === name))
          throw new Ec2Error(400, 'InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`)
        const key: KeyPair = {id: `key-${hex(17)}`, name, created: new Date(), tags: tagsOf(p, 'key-pair')}
        this.keyPairs.set(key.id, key)
        return ec2(
          'ImportKeyPair',
          `<keyName>${esc(name)}</keyName><keyFingerprint>00:11</keyFingerprint><keyPairId>${key.id}</keyPairId>${tagSet(key.tags)}`,
        )
      }
      case 'DescribeKeyPairs': {
        const keys = [...this.keyPairs.values()].filter((k) => matches(k, filters(p), {'key-name': k.name}))
        return ec2(
          'DescribeKeyPairs',
          `<keySet>${keys.map((k) => `<item><keyPairId>${k.id}</keyPairId><keyName>${esc(k.name)}</keyName><keyFingerprint>00:11</keyFingerprint><createTime>${k.created.toISOString()}</createTime>${tagSet(k.tags)}</item>`).join('')}</keySet>`,
        )
      }
      case 'DeleteKeyPair': {
        for (const k of [...this.keyPairs.values()])
          if (k.id === p.get('KeyPairId') || k.name === p.get('KeyName')) this.keyPairs.delete(k.id)
        return ec2('DeleteKeyPair', '<return>true</return>')
      }
      case 'DescribeSecurityGroups': {
        const groups = [...this.groups.values()].filter((g) => matches(g, filters(p), {'group-name': g.name, 'group-id': g.id}))
        return ec2(
          'DescribeSecurityGroups',
          `<securityGroupInfo>${groups.map((g) => `<item><ownerId>123456789012</ownerId><groupId>${g.id}</groupId><groupName>${esc(g.name)}</groupName><groupDescription>kola</groupDescription><vpcId>vpc-0fa4e</vpcId>${tagSet(g.tags)}</item>`).join('')}</securityGroupInfo>`,
        )
      }
      case 'CreateSecurityGroup': {
        const name = p.get('GroupName') ?? ''
        if ([...this.groups.values()].some((g) => g.name === name))
          throw new Ec2Error(400, 'InvalidGroup.Duplicate', `The security group '${name}' already exists`)
        const group: Group = {id: `sg-${hex(17)}`, name, tags: tagsOf(p, 'security-group')}
        this.groups.set(group.id, group)
        return ec2('CreateSecurityGroup', `<return>true</return><groupId>${group.id}</groupId>${tagSet(group.tags)}`)
      }
      case 'AuthorizeSecurityGroupIngress':
        return ec2('AuthorizeSecurityGroupIngress', '<return>true</return>')
      case 'DeleteSecurityGroup': {
        const id = p.get('GroupId') ?? ''
        if (!this.groups.has(id)) throw new Ec2Error(400, 'InvalidGroup.NotFound', `The security group '${id}' does not exist`)
        if ([...this.instances.values()].some((i) => i.state !== 'terminated' && i.groups.includes(id)))
          throw new Ec2Error(400, 'DependencyViolation', `resource ${id} has a dependent object`)
        this.groups.delete(id)
        return ec2('DeleteSecurityGroup', '<return>true</return>')
      }
      case 'RunInstances':
        return this.runInstances(p)
      case 'DescribeInstances': {
        const ids = list(p, 'InstanceId')
        const missing = ids.find((id) => !this.instances.has(id))
        if (missing) throw new Ec2Error(400, 'InvalidInstanceID.NotFound', `The instance ID '${missing}' does not exist`)
        const found = [...this.instances.values()].filter(
          (i) => (ids.length === 0 || ids.includes(i.id)) && matches(i, filters(p), {'instance-state-name': i.state, 'instance-id': i.id}),
        )
        return ec2(
          'DescribeInstances',
          `<reservationSet>${found.map((i) => `<item><reservationId>r-${i.id.slice(2)}</reservationId><ownerId>123456789012</ownerId><instancesSet>${this.instanceXml(i)}</instancesSet></item>`).join('')}</reservationSet>`,
        )
      }
      case 'GetConsoleOutput': {
        const i = this.instances.get(p.get('InstanceId') ?? '')
        if (!i) throw new Ec2Error(400, 'InvalidInstanceID.NotFound', `The instance ID '${p.get('InstanceId')}' does not exist`)
        const text = i.machine ? await i.machine.console() : i.console
        return ec2(
          'GetConsoleOutput',
          `<instanceId>${i.id}</instanceId><timestamp>${new Date().toISOString()}</timestamp><output>${Buffer.from(text).toString('base64')}</output>`,
        )
      }
      case 'TerminateInstances': {
        const ids = list(p, 'InstanceId')
        const items = ids.map((id) => {
          const i = this.instances.get(id)
          if (!i) throw new Ec2Error(400, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`)
          const previous = i.state
          if (i.state !== 'terminated') this.terminate(i)
          return `<item><instanceId>${id}</instanceId><currentState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></currentState><previousState><code>${STATE_CODES[previous]}</code><name>${previous}</name></previousState></item>`
        })
        return ec2('TerminateInstances', `<instancesSet>${items.join('')}</instancesSet>`)
      }
      case 'CreateTags':
        return ec2('CreateTags', '<return>true</return>')
      default:
        throw new Ec2Error(400, 'InvalidAction', `The action ${action} is not valid for this web service.`)
    }
  }

  private async runInstances(p: URLSearchParams): Promise<string> {
    const imageId = p.get('ImageId') ?? ''
    if (imageId !== FAKE_AMI) throw new Ec2Error(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`)
    const active = [...this.instances.values()].filter((i) => i.state !== 'terminated').length
    const limit = this.options.instanceLimit ?? Number.POSITIVE_INFINITY
    if (active + 1 > limit)
      throw new Ec2Error(
        400,
        'InstanceLimitExceeded',
        `You have requested more instances (${active + 1}) than your current instance limit of ${limit} allows for the specified instance type.`,
      )
    await sleep(this.options.launchDelayMs ?? 0)
    const groups = list(p, 'SecurityGroupId')
    for (const g of groups)
      if (!this.groups.has(g)) throw new Ec2Error(400, 'InvalidGroup.NotFound', `The security group '${g}' does not exist`)
    const keyName = p.get('KeyName') ?? undefined
    if (keyName && ![...this.keyPairs.values()].some((k) => k.name === keyName))
      throw new Ec2Error(400, 'InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`)
    const userData = Buffer.from(p.get('UserData') ?? '', 'base64').toString('utf8')
    const instance: Instance = {
      id: `i-${hex(17)}`,
      imageId,
      type: p.get('InstanceType') ?? 'm1.small',
      keyName,
      groups,
      state: 'pending',
      launchTime: new Date(),
      runningAt: Date.now() + (this.options.runningDelayMs ?? 0),
      tags: tagsOf(p, 'instance'),
      console: '',
    }
    this.instances.set(instance.id, instance)
    instance.starting = this.options.machines.start(instance.tags.get('Name') ?? instance.id, userData)
    void instance.starting.then(
      (m) => {
        instance.machine = m
        // Terminated while it was starting.
        if (instance.state === 'shutting-down' || instance.state === 'terminated') void m.stop()
      },
      (error: unknown) => {
        instance.console = `fake ec2: the machine did not start: ${String(error)}\n`
        instance.state = 'terminated'
      },
    )
    return ec2(
      'RunInstances',
      `<reservationId>r-${instance.id.slice(2)}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>${this.instanceXml(instance)}</instancesSet>`,
    )
  }

  private terminate(i: Instance): void {
    i.state = 'shutting-down'
    void (async () => {
      const machine = i.machine ?? (await i.starting?.catch(() => undefined))
      if (machine) {
        i.console = await machine.console()
        await machine.stop()
      }
      i.state = 'terminated'
    })()
  }

  private instanceXml(i: Instance): string {
    if (i.state === 'pending' && i.machine && Date.now() >= i.runningAt) i.state = 'running'
    const ip =
      i.state === 'running' && i.machine ? `<privateIpAddress>${i.machine.ip}</privateIpAddress><ipAddress>${i.machine.ip}</ipAddress>` : ''
    const key = i.keyName ? `<keyName>${esc(i.keyName)}</keyName>` : ''
    return `<item><instanceId>${i.id}</instanceId><imageId>${i.imageId}</imageId><instanceState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></instanceState>${ip}${key}<instanceType>${esc(i.type)}</instanceType><launchTime>${i.launchTime.toISOString()}</launchTime><groupSet>${i.groups.map((g) => `<item><groupId>${g}</groupId></item>`).join('')}</groupSet>${tagSet(i.tags)}</item>`
  }
}

function ec2(action: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${rid()}</requestId>${inner}</${action}Response>`
}

/** `Prefix.1`, `Prefix.2`, ... */
function list(p: URLSearchParams, prefix: string): string[] {
  const out: string[] = []
  for (let n = 1; p.has(`${prefix}.${n}`); n++) out.push(p.get(`${prefix}.${n}`) as string)
  return out
}

function filters(p: URLSearchParams): Array<{name: string; values: string[]}> {
  const out: Array<{name: string; values: string[]}> = []
  for (let n = 1; p.has(`Filter.${n}.Name`); n++)
    out.push({name: p.get(`Filter.${n}.Name`) as string, values: list(p, `Filter.${n}.Value`)})
  return out
}

function matches(r: Tagged, fs: Array<{name: string; values: string[]}>, fields: Record<string, string>): boolean {
  return fs.every((f) => {
    const value = f.name.startsWith('tag:') ? r.tags.get(f.name.slice(4)) : fields[f.name]
    return value !== undefined && f.values.includes(value)
  })
}

/** The tags of the TagSpecification for this resource type. */
function tagsOf(p: URLSearchParams, type: string): Map<string, string> {
  const tags = new Map<string, string>()
  for (let n = 1; p.has(`TagSpecification.${n}.ResourceType`); n++) {
    if (p.get(`TagSpecification.${n}.ResourceType`) !== type) continue
    for (let m = 1; p.has(`TagSpecification.${n}.Tag.${m}.Key`); m++)
      tags.set(p.get(`TagSpecification.${n}.Tag.${m}.Key`) as string, p.get(`TagSpecification.${n}.Tag.${m}.Value`) ?? '')
  }
  return tags
}

function tagSet(tags: Map<string, string>): string {
  return `<tagSet>${[...tags].map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('')}</tagSet>`
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n)
}

function rid(): string {
  return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`
}
