import {randomUUID} from 'node:crypto'

import type * as EC2 from '@aws-sdk/client-ec2'
import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {markerTags} from '../common/marker.js'
import {pollUntil} from '../common/wait.js'
import type {Ec2Api} from './clients.js'
import {awsCode} from './errors.js'

/** The tag that names the run a resource belongs to. */
export const RUN_TAG = 'kola-run'

/** Our marker, the run id and a Name, as EC2 tags. */
export function runTags(name: string, runId: string, now = new Date()): EC2.Tag[] {
  return Object.entries({Name: name, ...markerTags(now), [RUN_TAG]: runId}).map(([Key, Value]) => ({Key, Value}))
}

function tagSpec(type: EC2.ResourceType, name: string, runId: string): EC2.TagSpecification[] {
  return [{ResourceType: type, Tags: runTags(name, runId)}]
}

/** Checks that an AMI exists before anything is created: a typo is one line, not a failed test per machine. */
export async function requireImage(ec2: Ec2Api, imageId: string): Promise<void> {
  try {
    const found = await ec2.describeImages({ImageIds: [imageId]})
    if ((found.Images ?? []).length > 0) return
  } catch (error) {
    if (!awsCode(error)?.startsWith('InvalidAMIID')) throw error
  }
  throw new InfraError(`aws: image ${imageId} does not exist in ${ec2.region}`, {hint: 'pass --aws-ami with an AMI id of that region'})
}

/** Imports an SSH public key as a key pair named and tagged for the run. */
export async function importRunKey(ec2: Ec2Api, name: string, runId: string, publicKey: string): Promise<string> {
  const out = await ec2.importKeyPair({
    KeyName: name,
    PublicKeyMaterial: new TextEncoder().encode(publicKey),
    TagSpecifications: tagSpec('key-pair', name, runId),
  })
  return out.KeyName ?? name
}

/**
 * The security group machines get: the one named, if it exists; otherwise
 * one made for the run (SSH open), tagged so that gc finds it if the run dies.
 */
export async function runSecurityGroup(ec2: Ec2Api, wanted: string, runId: string): Promise<{groupId: string; created: boolean}> {
  const found = await ec2.describeSecurityGroups({Filters: [{Name: 'group-name', Values: [wanted]}]})
  const existing = found.SecurityGroups?.[0]?.GroupId
  if (existing) return {groupId: existing, created: false}
  const created = await ec2.createSecurityGroup({
    GroupName: runId,
    Description: `kola run ${runId}: SSH from anywhere`,
    TagSpecifications: tagSpec('security-group', runId, runId),
  })
  const groupId = created.GroupId
  if (!groupId) throw new InfraError('aws: CreateSecurityGroup returned no group id')
  await ec2.authorizeSecurityGroupIngress({
    GroupId: groupId,
    IpPermissions: [{IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{CidrIp: '0.0.0.0/0'}]}],
  })
  return {groupId, created: true}
}

export interface LaunchOptions {
  name: string
  runId: string
  imageId: string
  instanceType: string
  securityGroupId: string
  keyName?: string | undefined
  /** The Ignition config: user data is how EC2 hands it to the machine. */
  userData: string
  iamInstanceProfile?: string | undefined
}

/** One instance, tagged with our marker and the run; the client token makes the retried call idempotent. */
export async function launchInstance(ec2: Ec2Api, o: LaunchOptions): Promise<string> {
  const out = await ec2.runInstances({
    ImageId: o.imageId,
    InstanceType: o.instanceType as EC2._InstanceType,
    MinCount: 1,
    MaxCount: 1,
    KeyName: o.keyName,
    SecurityGroupIds: [o.securityGroupId],
    UserData: Buffer.from(o.userData).toString('base64'),
    ClientToken: `${o.name}-${randomUUID()}`.slice(0, 64),
    TagSpecifications: tagSpec('instance', o.name, o.runId),
    ...(o.iamInstanceProfile ? {IamInstanceProfile: {Name: o.iamInstanceProfile}} : {}),
  })
  const id = out.Instances?.[0]?.InstanceId
  if (!id) throw new InfraError('aws: RunInstances returned no instance')
  return id
}

async function describe(ec2: Ec2Api, id: string): Promise<EC2.Instance | undefined> {
  try {
    return (await ec2.describeInstances({InstanceIds: [id]})).Reservations?.[0]?.Instances?.[0]
  } catch (error) {
    // EC2 is eventually consistent: a new instance may not be visible yet.
    if (awsCode(error) === 'InvalidInstanceID.NotFound') return undefined
    throw error
  }
}

/** Waits until the instance runs and has a public address (the original waits up to 10 minutes). */
export async function waitRunning(
  ec2: Ec2Api,
  id: string,
  ctx: ServiceContext & {timeoutMs?: number},
): Promise<{publicIp: string; privateIp: string}> {
  return pollUntil(
    async () => {
      const i = await describe(ec2, id)
      const state = i?.State?.Name
      if (state === 'terminated' || state === 'shutting-down')
        throw new InfraError(`aws: instance ${id} is ${state} before it ran`, {hint: i?.StateReason?.Message})
      if (state !== 'running' || !i?.PublicIpAddress) return undefined
      return {publicIp: i.PublicIpAddress, privateIp: i.PrivateIpAddress ?? i.PublicIpAddress}
    },
    {what: `instance ${id} to run`, intervalMs: ctx.pollIntervalMs ?? 2_000, timeoutMs: ctx.timeoutMs ?? 600_000, signal: ctx.signal},
  )
}

/** The serial console EC2 kept (GetConsoleOutput, base64), as text. */
export async function consoleText(ec2: Ec2Api, id: string): Promise<string> {
  const out = await ec2.getConsoleOutput({InstanceId: id, Latest: true})
  return out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : ''
}

/** Terminates and waits until EC2 says terminated (never aborted: teardown must finish). */
export async function terminateAndWait(ec2: Ec2Api, ids: string[], ctx: ServiceContext): Promise<void> {
  if (ids.length === 0) return
  await ec2.terminateInstances({InstanceIds: ids})
  for (const id of ids) {
    await pollUntil(async () => ((await describe(ec2, id))?.State?.Name === 'terminated' ? true : undefined), {
      what: `instance ${id} to terminate`,
      intervalMs: ctx.pollIntervalMs ?? 2_000,
      timeoutMs: 600_000,
    })
  }
}

/** Deletes a security group once nothing uses it (EC2 says DependencyViolation until its instances are gone). */
export async function deleteSecurityGroup(ec2: Ec2Api, groupId: string, ctx: ServiceContext): Promise<void> {
  await pollUntil(
    async () => {
      try {
        await ec2.deleteSecurityGroup({GroupId: groupId})
        return true
      } catch (error) {
        if (awsCode(error) === 'DependencyViolation') return undefined
        if (awsCode(error) === 'InvalidGroup.NotFound') return true
        throw error
      }
    },
    {what: `security group ${groupId} to be deletable`, intervalMs: ctx.pollIntervalMs ?? 5_000, timeoutMs: 300_000},
  )
}

/** The instance type's shape is EC2's: family, generation, size (m4.large, t3a.micro). */
export function validateInstanceType(type: string): void {
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type))
    throw new UsageError(`aws: "${type}" is not an instance type`, {hint: 'instance types look like m4.large'})
}
