import {InfraError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import type {IamApi, S3BucketApi, StsApi} from './clients.js'
import {awsCode} from './errors.js'

export interface InitializeResult {
  bucket: string
  region: string
  bucketCreated: boolean
  role: string
  roleCreated: boolean
}

/** The role VM Import assumes to read the staged object (AWS's documented name). */
export const VMIMPORT_ROLE = 'vmimport'

/**
 * Prepares an account for `ore aws upload`: the staging bucket in the region,
 * and the vmimport service role allowed to read it. Safe to run again.
 */
export async function initializeAccount(options: {
  s3: S3BucketApi
  iam: IamApi
  bucket: string
  region: string
  context: ServiceContext
}): Promise<InitializeResult> {
  const {s3, iam, bucket, region, context: ctx} = options
  const result: InitializeResult = {bucket, region, bucketCreated: false, role: VMIMPORT_ROLE, roleCreated: false}
  try {
    await s3.headBucket({Bucket: bucket})
    ctx.logger.info(`bucket ${bucket} exists`)
  } catch (error) {
    const code = awsCode(error)
    if (code !== 'NotFound' && code !== 'NoSuchBucket') throw error
    await s3.createBucket({
      Bucket: bucket,
      ...(region === 'us-east-1' ? {} : {CreateBucketConfiguration: {LocationConstraint: region as never}}),
    })
    ctx.logger.notice(`created bucket ${bucket} in ${region}`)
    result.bucketCreated = true
  }

  try {
    await iam.getRole({RoleName: VMIMPORT_ROLE})
  } catch (error) {
    if (awsCode(error) !== 'NoSuchEntity' && awsCode(error) !== 'NoSuchEntityException') throw error
    await iam.createRole({
      RoleName: VMIMPORT_ROLE,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: {Service: 'vmie.amazonaws.com'},
            Action: 'sts:AssumeRole',
            Condition: {StringEquals: {'sts:Externalid': 'vmimport'}},
          },
        ],
      }),
      Tags: [{Key: 'created-by', Value: 'mantle'}],
    })
    ctx.logger.notice(`created role ${VMIMPORT_ROLE}`)
    result.roleCreated = true
  }
  // The policy names this bucket; putting it again adds nothing when it is already there.
  await iam.putRolePolicy({
    RoleName: VMIMPORT_ROLE,
    PolicyName: `vmimport-${bucket}`,
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket'],
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        },
        {Effect: 'Allow', Action: ['ec2:ModifySnapshotAttribute', 'ec2:CopySnapshot', 'ec2:RegisterImage', 'ec2:Describe*'], Resource: '*'},
      ],
    }),
  })
  return result
}

export interface CallerIdentity {
  account: string
  arn: string
  userId: string
}

/**
 * The preflight of spec/auth.md: one cheap call that proves the credentials
 * work, so bad ones fail as one clear line (exit 2) before any real work.
 */
export async function whoAmI(sts: StsApi): Promise<CallerIdentity> {
  const out = await sts.getCallerIdentity({})
  if (!out.Account || !out.Arn) throw new InfraError('aws: GetCallerIdentity returned no account')
  return {account: out.Account, arn: out.Arn, userId: out.UserId ?? ''}
}
