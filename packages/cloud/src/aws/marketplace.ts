import {createHash} from 'node:crypto'

import {InfraError} from '@mantle/kit'

import {withRetry} from '../common/retry.js'
import type {ServiceContext} from '../common/context.js'
import type {AwsClientOptions} from './clients.js'
import {awsError} from './errors.js'

/** The AWS Marketplace Catalog calls an AMI product update makes (narrowed; field names as the API's). */
export interface MarketplaceApi {
  describeEntity(input: {Catalog: string; EntityId: string}): Promise<{Details?: string | undefined; DetailsDocument?: unknown}>
  listChangeSets(input: {
    Catalog: string
    FilterList?: {Name: string; ValueList: string[]}[]
  }): Promise<{ChangeSetSummaryList?: {ChangeSetName?: string | undefined; Status?: string | undefined}[] | undefined}>
  startChangeSet(input: MarketplaceChangeSet): Promise<{ChangeSetId?: string | undefined}>
}

export interface MarketplaceChangeSet {
  Catalog: 'AWSMarketplace'
  ChangeSetName: string
  /** Idempotency: the same request again within AWS's window starts no second change set. */
  ClientRequestToken: string
  ChangeSet: {ChangeType: 'AddDeliveryOptions'; Entity: {Identifier: string; Type: 'AmiProduct@1.0'}; Details: string}[]
}

export interface AmiDelivery {
  productId: string
  amiId: string
  /** The IAM role Marketplace assumes to read (and scan) the AMI. */
  accessRoleArn: string
  /** The login user of instances. */
  username: string
  version: string
  instanceType: string
  releaseNotes: string
  usageInstructions: string
}

/** Flatcar's usage instructions (platform/api/aws/marketplace.go). */
export const FLATCAR_USAGE_INSTRUCTIONS =
  'You can spin up single instances of Flatcar Container Linux using the instructions here: https://www.flatcar.org/docs/latest/installing/cloud/aws-ec2/\n\nFlatcar Container Linux supports a declarative provisioning using the Config format. Learn more from https://www.flatcar.org/docs/latest/provisioning/'

/** The name a version's change set carries, by which a rerun finds it. */
export function deliveryChangeSetName(delivery: Pick<AmiDelivery, 'version' | 'amiId'>): string {
  return `plume ${delivery.version} ${delivery.amiId}`
}

/**
 * The StartChangeSet request that adds an AMI as a new version of an AMI
 * product, as Flatcar's UpdateProduct builds it (platform/api/aws/marketplace.go):
 * AddDeliveryOptions on AmiProduct@1.0, the details as a JSON string.
 */
export function amiDeliveryChangeSet(d: AmiDelivery): MarketplaceChangeSet {
  const details = {
    Version: {VersionTitle: d.version, ReleaseNotes: d.releaseNotes},
    DeliveryOptions: [
      {
        Details: {
          AmiDeliveryOptionDetails: {
            AmiSource: {
              AmiId: d.amiId,
              AccessRoleArn: d.accessRoleArn,
              UserName: d.username,
              OperatingSystemName: 'OTHERLINUX',
              OperatingSystemVersion: d.version,
            },
            UsageInstructions: d.usageInstructions,
            RecommendedInstanceType: d.instanceType,
            SecurityGroups: [{IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: ['0.0.0.0/0']}],
          },
        },
      },
    ],
  }
  const name = deliveryChangeSetName(d)
  return {
    Catalog: 'AWSMarketplace',
    ChangeSetName: name,
    ClientRequestToken: createHash('sha256').update(`${d.productId} ${name}`).digest('hex').slice(0, 36),
    ChangeSet: [
      {ChangeType: 'AddDeliveryOptions', Entity: {Identifier: d.productId, Type: 'AmiProduct@1.0'}, Details: JSON.stringify(details)},
    ],
  }
}

/**
 * True when the product already offers the AMI (a version whose source is
 * it), or a change set adding it is under way or done: what makes the
 * update idempotent, since AddDeliveryOptions twice would add two versions.
 */
export async function offersAmi(api: MarketplaceApi, delivery: Pick<AmiDelivery, 'productId' | 'amiId' | 'version'>): Promise<boolean> {
  const entity = await api.describeEntity({Catalog: 'AWSMarketplace', EntityId: delivery.productId})
  const details = (entity.DetailsDocument ?? (entity.Details ? JSON.parse(entity.Details) : {})) as {
    Versions?: {Sources?: {Image?: string}[]}[]
  }
  if ((details.Versions ?? []).some((v) => (v.Sources ?? []).some((s) => s.Image === delivery.amiId))) return true
  const sets = await api.listChangeSets({Catalog: 'AWSMarketplace', FilterList: [{Name: 'EntityId', ValueList: [delivery.productId]}]})
  const name = deliveryChangeSetName(delivery)
  return (sets.ChangeSetSummaryList ?? []).some(
    (s) => s.ChangeSetName === name && ['PREPARING', 'APPLYING', 'SUCCEEDED'].includes(s.Status ?? ''),
  )
}

/** Adds the AMI to the product (StartChangeSet); returns the change set id. */
export async function addAmiDelivery(api: MarketplaceApi, delivery: AmiDelivery, ctx: ServiceContext): Promise<string> {
  const out = await api.startChangeSet(amiDeliveryChangeSet(delivery))
  if (!out.ChangeSetId) throw new InfraError(`aws marketplace: StartChangeSet for product ${delivery.productId} returned no change set id`)
  ctx.logger.info(
    `aws marketplace: product ${delivery.productId}: change set ${out.ChangeSetId} adds ${delivery.amiId} as ${delivery.version}`,
  )
  return out.ChangeSetId
}

/** The Marketplace Catalog client (its endpoint lives in us-east-1), loaded on first use. */
export async function marketplaceApi(options: AwsClientOptions): Promise<MarketplaceApi> {
  const m = await import('@aws-sdk/client-marketplace-catalog')
  const client = new m.MarketplaceCatalogClient({
    region: options.region ?? 'us-east-1',
    credentials: options.auth.credentials,
    maxAttempts: 1,
  })
  const call = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`marketplace ${what}`, op, options).catch((error: unknown) => Promise.reject(awsError(`marketplace ${what}`, error)))
  return {
    describeEntity: (input) => call('DescribeEntity', () => client.send(new m.DescribeEntityCommand(input))),
    listChangeSets: (input) => call('ListChangeSets', () => client.send(new m.ListChangeSetsCommand(input))),
    startChangeSet: (input) => call('StartChangeSet', () => client.send(new m.StartChangeSetCommand(input))),
  }
}
