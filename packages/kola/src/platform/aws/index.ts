import type {AwsAuth} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {UsageError} from '@mantle/kit'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'

/** The AWS platform's own options (flatcar/mantle cmd/kola/options.go: --aws-*). */
export interface AwsPlatformOptions {
  /** Resolves the credentials (the command's flags and files); called once, when the flight is made. */
  credentials: () => Promise<AwsAuth>
  /** The AMI machines boot. */
  ami: string
  instanceType: string
  /** A security group name; when none of that name exists, the run makes its own (SSH open) and deletes it. */
  securityGroup: string
  iamInstanceProfile?: string | undefined
  /** Between two polls of an instance's state. */
  pollIntervalMs?: number | undefined
}

export const awsPlatform: PlatformDefinition<AwsPlatformOptions> = {
  name: 'aws',
  summary: 'Amazon EC2 instances, the Ignition config as user data',
  createFlight: createAwsFlight,
}

/**
 * An EC2 session: credentials checked (STS) and the AMI looked up before
 * anything is created; then the run's key pair and, if needed, its security
 * group, both named by the run id and tagged with the gc marker, deleted
 * once every machine is terminated.
 */
async function createAwsFlight(options: AwsPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.ami) throw new UsageError('aws: no image to boot', {hint: 'pass --aws-ami'})
  aws.validateInstanceType(options.instanceType)
  const context = {logger: common.logger, signal: common.signal, pollIntervalMs: options.pollIntervalMs}
  const session = await aws.connectAws({auth: await options.credentials(), context})
  const ec2 = await session.ec2()
  await aws.requireImage(ec2, options.ami)
  const identity = await generateIdentity(common.distro.user)
  const created: {keyName?: string | undefined; groupId?: string | undefined} = {}
  try {
    created.keyName = await aws.importRunKey(ec2, common.runId, common.runId, identity.publicKey)
    const group = await aws.runSecurityGroup(ec2, options.securityGroup, common.runId)
    if (group.created) created.groupId = group.groupId
    common.logger.info(
      `aws: run ${common.runId} in ${ec2.region}: key pair ${created.keyName}, security group ${group.groupId}${group.created ? ' (made for the run)' : ''}`,
    )
    const withKey = new Ec2Provisioner(ec2, options, {...context, keyName: created.keyName, groupId: group.groupId, runId: common.runId})
    const withoutKey = withKey.withoutKey()
    return new RemoteFlight(
      'aws',
      identity,
      (o) => (o.flags?.includes('NoSSHKeyInMetadata') ? withoutKey : withKey),
      common,
      () => deleteRunResources(ec2, created, common),
    )
  } catch (error) {
    await deleteRunResources(ec2, created, common)
    throw error
  }
}

async function deleteRunResources(
  ec2: aws.Ec2Api,
  created: {keyName?: string | undefined; groupId?: string | undefined},
  common: CommonFlightOptions,
): Promise<void> {
  const context = {logger: common.logger}
  if (created.keyName)
    await ec2
      .deleteKeyPair({KeyName: created.keyName})
      .catch((e: unknown) => common.logger.warn(`aws: cannot delete key pair ${created.keyName}: ${String(e)}; ore aws gc will`))
  if (created.groupId)
    await aws
      .deleteSecurityGroup(ec2, created.groupId, context)
      .catch((e: unknown) => common.logger.warn(`aws: cannot delete security group ${created.groupId}: ${String(e)}; ore aws gc will`))
  created.keyName = undefined
  created.groupId = undefined
}

interface Ec2Settings {
  logger: CommonFlightOptions['logger']
  pollIntervalMs?: number | undefined
  keyName?: string | undefined
  groupId: string
  runId: string
}

/** One EC2 instance per machine: launched, waited for, its console read, terminated. */
class Ec2Provisioner implements Provisioner {
  constructor(
    private readonly ec2: aws.Ec2Api,
    private readonly options: AwsPlatformOptions,
    private readonly settings: Ec2Settings,
  ) {}

  withoutKey(): Ec2Provisioner {
    return new Ec2Provisioner(this.ec2, this.options, {...this.settings, keyName: undefined})
  }

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {ec2, settings} = this
    const context = {logger: settings.logger, pollIntervalMs: settings.pollIntervalMs ?? 1000}
    const id = await aws.launchInstance(ec2, {
      name: request.name,
      runId: settings.runId,
      imageId: this.options.ami,
      instanceType: this.options.instanceType,
      securityGroupId: settings.groupId,
      keyName: settings.keyName,
      userData: JSON.stringify(request.config),
      iamInstanceProfile: this.options.iamInstanceProfile,
    })
    settings.logger.info(`aws: ${request.name} is ${id}`)
    const terminate = (): Promise<void> => aws.terminateAndWait(ec2, [id], context)
    let address: {publicIp: string; privateIp: string}
    try {
      address = await aws.waitRunning(ec2, id, {...context, signal: request.signal})
    } catch (error) {
      await terminate().catch((e: unknown) => settings.logger.warn(`aws: cannot terminate ${id}: ${String(e)}; ore aws gc will`))
      throw error
    }
    return {
      instanceId: id,
      ip: address.publicIp,
      sshPort: 22,
      privateIp: address.privateIp,
      console: () => aws.consoleText(ec2, id),
      terminate,
    }
  }
}
