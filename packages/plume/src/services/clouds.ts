import type {AwsAuth, AzureAuth, GceAuth} from '@mantle/auth'
import {aws, azure, gcloud, type ServiceContext} from '@mantle/cloud'

import type {AwsPartitionSpec} from '../config/types.js'
import type {AwsClients} from './aws.js'
import type {AzureImagesApi} from './azure.js'
import {azureImagesApi} from './azure-api.js'
import {gceImagesApi} from './gce-api.js'
import type {CloudDeps} from './stages.js'

export interface AwsClientsOptions {
  /** Credentials for a partition's profile, resolved once per profile. */
  auth: (profile: string | undefined) => Promise<AwsAuth>
  context: ServiceContext
  /** An S3-compatible endpoint for the staging buckets (tests, private clouds). */
  s3Endpoint?: string | undefined
  /** Replaces the S3 staging bucket (tests on a local directory). */
  staging?: ((partition: AwsPartitionSpec) => Promise<aws.ObjectStore>) | undefined
}

/**
 * One AWS session per partition (ore's connectAws: the STS preflight turns
 * bad credentials into one line before any work), opened on first use: a
 * plan of a channel without AWS never asks for credentials.
 */
export function awsClients(options: AwsClientsOptions): AwsClients {
  const sessions = new Map<string, Promise<aws.AwsSession>>()
  const session = (partition: AwsPartitionSpec): Promise<aws.AwsSession> => {
    let s = sessions.get(partition.name)
    if (!s) {
      s = options
        .auth(partition.profile)
        .then((auth) =>
          aws.connectAws({auth: {...auth, region: partition.bucketRegion}, context: options.context, s3Endpoint: options.s3Endpoint}),
        )
      sessions.set(partition.name, s)
    }
    return s
  }
  return {
    ec2: async (partition, region) => (await session(partition)).ec2(region),
    staging: async (partition) =>
      options.staging ? options.staging(partition) : (await session(partition)).stagingStore(partition.bucket),
    marketplace: async (profile) => aws.marketplaceApi({auth: await options.auth(profile), region: 'us-east-1', ...options.context}),
  }
}

/** One Azure session per environment (subscription), opened on first use. */
export function azureClients(options: {auth: () => Promise<AzureAuth>; context: ServiceContext}): NonNullable<CloudDeps['azure']> {
  const apis = new Map<string, Promise<AzureImagesApi>>()
  return (environment, spec, channel) => {
    let api = apis.get(environment.name)
    if (!api) {
      api = options.auth().then((auth) =>
        azureImagesApi(
          azure.connectAzure({
            auth,
            subscriptionId: environment.subscription,
            storageAccount: spec.storageAccount,
            context: options.context,
          }),
          spec,
          channel,
          options.context,
        ),
      )
      apis.set(environment.name, api)
    }
    return api
  }
}

/** The GCE project of a channel, connected on first use. */
export function gceClients(options: {auth: () => Promise<GceAuth>; context: ServiceContext}): NonNullable<CloudDeps['gce']> {
  const computes = new Map<string, Promise<gcloud.GceComputeApi>>()
  return async (project) => {
    const compute = (): Promise<gcloud.GceComputeApi> => {
      let c = computes.get(project)
      if (!c) {
        c = options.auth().then((auth) => gcloud.gceComputeApi({auth, project, ...options.context}))
        computes.set(project, c)
      }
      return c
    }
    return gceImagesApi(compute, options.context)
  }
}
