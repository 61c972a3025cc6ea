import {gcManagedClusters, type ManagedClusterApi} from '../common/clusters.js'
import type {ServiceContext} from '../common/context.js'
import {CREATED_AT_KEY, isExpired, isMarked} from '../common/marker.js'
import {pollUntil} from '../common/wait.js'
import type {Ec2Api} from './clients.js'
import {fromTags} from './images.js'
import {deleteSecurityGroup} from './instances.js'

async function waitTerminated(ec2: Ec2Api, ids: string[], ctx: ServiceContext): Promise<void> {
  if (ids.length === 0) return
  await pollUntil(
    async () => {
      const page = await ec2.describeInstances({InstanceIds: ids})
      const states = (page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name)
      return states.every((s) => s === 'terminated') ? true : undefined
    },
    {what: 'the collected instances to terminate', intervalMs: ctx.pollIntervalMs ?? 5_000, timeoutMs: 600_000},
  )
}

export interface AwsGcResult {
  region: string
  terminatedInstances: string[]
  deletedKeyPairs: string[]
  /** Groups kola made for a run (SSH open), once their instances are gone. */
  deletedSecurityGroups: string[]
  /** EKS clusters (node groups first), when gc was given the EKS module. */
  deletedClusters?: string[]
}

const MARKER_FILTER = {Name: 'tag:created-by', Values: ['mantle']}

/**
 * Deletes what tests leave behind: instances and key pairs that carry our
 * marker and are older than the grace period, and the security groups kola
 * made for runs, and (given `clusters`) our expired EKS clusters. Images are never collected:
 * releases live on as images.
 */
export async function gcAws(options: {
  ec2: Ec2Api
  clusters?: ManagedClusterApi | undefined
  olderThanMs: number
  dryRun?: boolean
  context: ServiceContext
}): Promise<AwsGcResult> {
  const {ec2, context: ctx} = options
  const now = ctx.now?.() ?? new Date()
  const cutoff = new Date(now.getTime() - options.olderThanMs)
  const result: AwsGcResult = {region: ec2.region, terminatedInstances: [], deletedKeyPairs: [], deletedSecurityGroups: []}

  const instances: string[] = []
  let NextToken: string | undefined
  do {
    const page = await ec2.describeInstances({
      Filters: [MARKER_FILTER, {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']}],
      NextToken,
    })
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      // The filter is the server's; check again here: gc must never touch what is not ours.
      if (instance.InstanceId && isExpired({marked: isMarked(fromTags(instance.Tags)), created: instance.LaunchTime}, cutoff))
        instances.push(instance.InstanceId)
    }
    NextToken = page.NextToken
  } while (NextToken)
  if (instances.length > 0) {
    ctx.logger.notice(
      `${options.dryRun ? 'would terminate' : 'terminating'} ${instances.length} instances in ${ec2.region}: ${instances.join(', ')}`,
    )
    if (!options.dryRun) await ec2.terminateInstances({InstanceIds: instances})
    result.terminatedInstances = instances
  }

  const keys = await ec2.describeKeyPairs({Filters: [MARKER_FILTER]})
  for (const key of keys.KeyPairs ?? []) {
    if (!key.KeyPairId || !isExpired({marked: isMarked(fromTags(key.Tags)), created: key.CreateTime}, cutoff)) continue
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} key pair ${key.KeyName ?? key.KeyPairId}`)
    if (!options.dryRun) await ec2.deleteKeyPair({KeyPairId: key.KeyPairId})
    result.deletedKeyPairs.push(key.KeyPairId)
  }

  // Security groups have no creation time: ours carry it as a tag.
  const groups = (await ec2.describeSecurityGroups({Filters: [MARKER_FILTER]})).SecurityGroups ?? []
  const expired = groups.filter((g) => {
    const tags = fromTags(g.Tags)
    return (
      g.GroupId && isExpired({marked: isMarked(tags), created: tags[CREATED_AT_KEY] ? new Date(tags[CREATED_AT_KEY]) : undefined}, cutoff)
    )
  })
  if (expired.length > 0) {
    ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} ${expired.length} security groups in ${ec2.region}`)
    // A group is deletable only once the instances in it are terminated.
    if (!options.dryRun) {
      await waitTerminated(ec2, instances, ctx)
      for (const g of expired) await deleteSecurityGroup(ec2, g.GroupId as string, ctx)
    }
    result.deletedSecurityGroups = expired.map((g) => g.GroupId as string)
  }
  if (options.clusters)
    result.deletedClusters = await gcManagedClusters({
      clusters: options.clusters,
      olderThanMs: options.olderThanMs,
      dryRun: options.dryRun,
      context: ctx,
    })
  return result
}
