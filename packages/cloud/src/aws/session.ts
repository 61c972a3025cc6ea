import type {AwsAuth} from '@mantle/auth'
import {openBucket, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {
  ec2Api,
  iamApi,
  requireRegion,
  s3BucketApi,
  stsApi,
  type AwsClientOptions,
  type Ec2Api,
  type IamApi,
  type S3BucketApi,
} from './clients.js'
import {whoAmI, type CallerIdentity} from './initialize.js'
import {eksApi, type EksApi} from './eks.js'
import type {ObjectStore} from './upload.js'

/** Clients of one account, built from credentials resolved once, after the preflight passed. */
export interface AwsSession {
  region: string
  identity: CallerIdentity
  ec2(region?: string): Promise<Ec2Api>
  s3Buckets(): Promise<S3BucketApi>
  iam(): Promise<IamApi>
  /** The EKS calls, in the session's region. */
  eks(): Promise<EksApi>
  /** The S3 bucket where disk images are staged, through kit's storage layer. */
  stagingStore(bucket: string): Promise<ObjectStore>
}

export interface ConnectAwsOptions {
  auth: AwsAuth
  context: ServiceContext
  /** An S3-compatible endpoint for the staging bucket (tests, private clouds). */
  s3Endpoint?: string | undefined
}

/**
 * Checks the region, runs the STS preflight (bad credentials become one
 * line, exit 2, before any work), and hands out clients.
 */
export async function connectAws(options: ConnectAwsOptions): Promise<AwsSession> {
  const {auth, context} = options
  const base: AwsClientOptions = {auth, ...context}
  const region = requireRegion(base)
  const identity = await whoAmI(await stsApi(base))
  context.logger.info(`aws: ${identity.arn} (account ${identity.account}) in ${region}`)
  const clients = new Map<string, Promise<Ec2Api>>()
  return {
    region,
    identity,
    ec2: (r = region) => {
      // One client per region, shared by the parallel copies.
      if (!clients.has(r)) clients.set(r, ec2Api({...base, region: r}))
      return clients.get(r)!
    },
    s3Buckets: () => s3BucketApi(base),
    iam: () => iamApi(base),
    eks: () => eksApi({...base, region}),
    stagingStore: (bucket) =>
      openBucket(`s3://${bucket}/`, {
        s3: {credentials: auth.credentials, region, ...(options.s3Endpoint ? {endpoint: options.s3Endpoint, forcePathStyle: true} : {})},
        logger: context.logger,
        signal: context.signal,
      }),
  }
}

/** Splits s3://bucket/prefix into its parts. */
export function parseS3Url(url: string): {bucket: string; prefix: string} {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url)
  if (!m) throw new UsageError(`aws: "${url}" is not an s3://bucket[/prefix] URL`)
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
  return {bucket: m[1]!, prefix: prefix ? `${prefix}/` : ''}
}
