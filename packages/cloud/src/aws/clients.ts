import type * as EC2 from '@aws-sdk/client-ec2'
import type * as IAM from '@aws-sdk/client-iam'
import type * as S3 from '@aws-sdk/client-s3'
import type * as STS from '@aws-sdk/client-sts'

import type {AwsAuth} from '@mantle/auth'
import {UsageError} from '@mantle/kit'

import {withRetry, type CallContext} from '../common/retry.js'
import {awsError} from './errors.js'

/**
 * Narrow interfaces: only the calls these modules make (after aws-cdk's
 * toolkit). Each call is retried with kit's backoff on throttling and 5xx;
 * the SDK's own retries are off so that there is one retry policy.
 */
export interface Ec2Api {
  readonly region: string
  describeRegions(input: EC2.DescribeRegionsCommandInput): Promise<EC2.DescribeRegionsCommandOutput>
  importSnapshot(input: EC2.ImportSnapshotCommandInput): Promise<EC2.ImportSnapshotCommandOutput>
  describeImportSnapshotTasks(input: EC2.DescribeImportSnapshotTasksCommandInput): Promise<EC2.DescribeImportSnapshotTasksCommandOutput>
  describeSnapshots(input: EC2.DescribeSnapshotsCommandInput): Promise<EC2.DescribeSnapshotsCommandOutput>
  deleteSnapshot(input: EC2.DeleteSnapshotCommandInput): Promise<EC2.DeleteSnapshotCommandOutput>
  createTags(input: EC2.CreateTagsCommandInput): Promise<EC2.CreateTagsCommandOutput>
  registerImage(input: EC2.RegisterImageCommandInput): Promise<EC2.RegisterImageCommandOutput>
  describeImages(input: EC2.DescribeImagesCommandInput): Promise<EC2.DescribeImagesCommandOutput>
  copyImage(input: EC2.CopyImageCommandInput): Promise<EC2.CopyImageCommandOutput>
  deregisterImage(input: EC2.DeregisterImageCommandInput): Promise<EC2.DeregisterImageCommandOutput>
  modifyImageAttribute(input: EC2.ModifyImageAttributeCommandInput): Promise<EC2.ModifyImageAttributeCommandOutput>
  describeImageAttribute(input: EC2.DescribeImageAttributeCommandInput): Promise<EC2.DescribeImageAttributeCommandOutput>
  modifySnapshotAttribute(input: EC2.ModifySnapshotAttributeCommandInput): Promise<EC2.ModifySnapshotAttributeCommandOutput>
  describeInstances(input: EC2.DescribeInstancesCommandInput): Promise<EC2.DescribeInstancesCommandOutput>
  terminateInstances(input: EC2.TerminateInstancesCommandInput): Promise<EC2.TerminateInstancesCommandOutput>
  describeKeyPairs(input: EC2.DescribeKeyPairsCommandInput): Promise<EC2.DescribeKeyPairsCommandOutput>
  deleteKeyPair(input: EC2.DeleteKeyPairCommandInput): Promise<EC2.DeleteKeyPairCommandOutput>
  importKeyPair(input: EC2.ImportKeyPairCommandInput): Promise<EC2.ImportKeyPairCommandOutput>
  runInstances(input: EC2.RunInstancesCommandInput): Promise<EC2.RunInstancesCommandOutput>
  getConsoleOutput(input: EC2.GetConsoleOutputCommandInput): Promise<EC2.GetConsoleOutputCommandOutput>
  describeSecurityGroups(input: EC2.DescribeSecurityGroupsCommandInput): Promise<EC2.DescribeSecurityGroupsCommandOutput>
  createSecurityGroup(input: EC2.CreateSecurityGroupCommandInput): Promise<EC2.CreateSecurityGroupCommandOutput>
  authorizeSecurityGroupIngress(
    input: EC2.AuthorizeSecurityGroupIngressCommandInput,
  ): Promise<EC2.AuthorizeSecurityGroupIngressCommandOutput>
  deleteSecurityGroup(input: EC2.DeleteSecurityGroupCommandInput): Promise<EC2.DeleteSecurityGroupCommandOutput>
}

export interface StsApi {
  getCallerIdentity(input: STS.GetCallerIdentityCommandInput): Promise<STS.GetCallerIdentityCommandOutput>
}

export interface S3BucketApi {
  headBucket(input: S3.HeadBucketCommandInput): Promise<S3.HeadBucketCommandOutput>
  createBucket(input: S3.CreateBucketCommandInput): Promise<S3.CreateBucketCommandOutput>
  getBucketLocation(input: S3.GetBucketLocationCommandInput): Promise<S3.GetBucketLocationCommandOutput>
}

export interface IamApi {
  getRole(input: IAM.GetRoleCommandInput): Promise<IAM.GetRoleCommandOutput>
  createRole(input: IAM.CreateRoleCommandInput): Promise<IAM.CreateRoleCommandOutput>
  putRolePolicy(input: IAM.PutRolePolicyCommandInput): Promise<IAM.PutRolePolicyCommandOutput>
}

export interface AwsClientOptions extends CallContext {
  auth: AwsAuth
  /** Overrides auth.region (copy-image talks to several regions). */
  region?: string | undefined
  /** For S3-compatible stores and tests. */
  endpoint?: string | undefined
}

// Every SDK client sends `Command` objects; the narrow API is built from a name -> Command map.
type AnyClient = {send(command: unknown): Promise<unknown>; destroy(): void}
type CommandCtor = new (input: never) => unknown

function bind<T>(service: string, client: AnyClient, commands: Record<string, CommandCtor>, ctx: CallContext): T {
  const api: Record<string, (input: unknown) => Promise<unknown>> = {}
  for (const [method, Command] of Object.entries(commands)) {
    api[method] = (input) =>
      withRetry(`${service} ${method}`, () => client.send(new Command(input as never)), ctx).catch((error: unknown) => {
        throw awsError(`${service} ${method}`, error)
      })
  }
  return api as T
}

function clientConfig(options: AwsClientOptions, region: string) {
  return {
    region,
    credentials: options.auth.credentials,
    // One retry policy: kit's, in bind().
    maxAttempts: 1,
    ...(options.endpoint ? {endpoint: options.endpoint} : {}),
  }
}

/** The region of the call; checked for shape so that a typo fails here, not as a DNS error. */
export function requireRegion(options: AwsClientOptions): string {
  const region = options.region ?? options.auth.region
  if (!region) throw new UsageError('aws: no region given', {hint: 'pass --region, or set region in the profile of ~/.aws/config'})
  validateRegionName(region)
  return region
}

// Every AWS partition's regions look like us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1.
const REGION_SHAPE = /^[a-z]{2}(-[a-z]+)+-\d+$/

export function validateRegionName(region: string): void {
  if (!REGION_SHAPE.test(region)) {
    throw new UsageError(`aws: unknown region "${region}"`, {hint: 'regions look like us-east-1; `ore aws list-regions` lists them'})
  }
}

export async function ec2Api(options: AwsClientOptions): Promise<Ec2Api> {
  const region = requireRegion(options)
  const m = await import('@aws-sdk/client-ec2')
  const client = new m.EC2Client(clientConfig(options, region))
  const api = bind<Omit<Ec2Api, 'region'>>(
    'ec2',
    client,
    {
      describeRegions: m.DescribeRegionsCommand,
      importSnapshot: m.ImportSnapshotCommand,
      describeImportSnapshotTasks: m.DescribeImportSnapshotTasksCommand,
      describeSnapshots: m.DescribeSnapshotsCommand,
      deleteSnapshot: m.DeleteSnapshotCommand,
      createTags: m.CreateTagsCommand,
      registerImage: m.RegisterImageCommand,
      describeImages: m.DescribeImagesCommand,
      copyImage: m.CopyImageCommand,
      deregisterImage: m.DeregisterImageCommand,
      modifyImageAttribute: m.ModifyImageAttributeCommand,
      describeImageAttribute: m.DescribeImageAttributeCommand,
      modifySnapshotAttribute: m.ModifySnapshotAttributeCommand,
      describeInstances: m.DescribeInstancesCommand,
      terminateInstances: m.TerminateInstancesCommand,
      describeKeyPairs: m.DescribeKeyPairsCommand,
      deleteKeyPair: m.DeleteKeyPairCommand,
      importKeyPair: m.ImportKeyPairCommand,
      runInstances: m.RunInstancesCommand,
      getConsoleOutput: m.GetConsoleOutputCommand,
      describeSecurityGroups: m.DescribeSecurityGroupsCommand,
      createSecurityGroup: m.CreateSecurityGroupCommand,
      authorizeSecurityGroupIngress: m.AuthorizeSecurityGroupIngressCommand,
      deleteSecurityGroup: m.DeleteSecurityGroupCommand,
    },
    options,
  )
  return {...api, region}
}

export async function stsApi(options: AwsClientOptions): Promise<StsApi> {
  const m = await import('@aws-sdk/client-sts')
  const client = new m.STSClient(clientConfig(options, requireRegion(options)))
  return bind<StsApi>('sts', client, {getCallerIdentity: m.GetCallerIdentityCommand}, options)
}

export async function s3BucketApi(options: AwsClientOptions): Promise<S3BucketApi> {
  const m = await import('@aws-sdk/client-s3')
  const client = new m.S3Client({...clientConfig(options, requireRegion(options)), ...(options.endpoint ? {forcePathStyle: true} : {})})
  return bind<S3BucketApi>(
    's3',
    client,
    {headBucket: m.HeadBucketCommand, createBucket: m.CreateBucketCommand, getBucketLocation: m.GetBucketLocationCommand},
    options,
  )
}

export async function iamApi(options: AwsClientOptions): Promise<IamApi> {
  const m = await import('@aws-sdk/client-iam')
  // IAM is global; its endpoint lives in us-east-1 for the aws partition.
  const client = new m.IAMClient(clientConfig(options, requireRegion(options)))
  return bind<IamApi>(
    'iam',
    client,
    {getRole: m.GetRoleCommand, createRole: m.CreateRoleCommand, putRolePolicy: m.PutRolePolicyCommand},
    options,
  )
}
