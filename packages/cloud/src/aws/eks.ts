/**
 * EKS clusters: CreateCluster, wait ACTIVE, CreateNodegroup, wait ACTIVE;
 * kubeconfig from DescribeCluster's endpoint and CA, authenticated by
 * `aws eks get-token` (what `aws eks update-kubeconfig` writes); delete the
 * node group first (EKS refuses to delete a cluster that has one), wait,
 * then the cluster. Tags: created-by=mantle, created-at, kola-run.
 * Each call goes through kit's retry (throttling, 5xx); the SDK's retries are off.
 */
import type * as EKS from '@aws-sdk/client-eks'

import type {AwsAuth} from '@mantle/auth'
import {InfraError, UsageError} from '@mantle/kit'

import {KOLA_RUN_TAG, kubeconfigYaml, type ManagedCluster, type ManagedClusterApi} from '../common/clusters.js'
import {markerTags, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {withRetry, type CallContext} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'
import {awsError, isPermissionDenied} from './errors.js'

/** The EKS calls made here (narrowed from the SDK client). */
export interface EksApi {
  readonly region: string
  createCluster(input: EKS.CreateClusterCommandInput): Promise<EKS.CreateClusterCommandOutput>
  describeCluster(input: EKS.DescribeClusterCommandInput): Promise<EKS.DescribeClusterCommandOutput>
  deleteCluster(input: EKS.DeleteClusterCommandInput): Promise<EKS.DeleteClusterCommandOutput>
  listClusters(input: EKS.ListClustersCommandInput): Promise<EKS.ListClustersCommandOutput>
  createNodegroup(input: EKS.CreateNodegroupCommandInput): Promise<EKS.CreateNodegroupCommandOutput>
  describeNodegroup(input: EKS.DescribeNodegroupCommandInput): Promise<EKS.DescribeNodegroupCommandOutput>
  deleteNodegroup(input: EKS.DeleteNodegroupCommandInput): Promise<EKS.DeleteNodegroupCommandOutput>
  listNodegroups(input: EKS.ListNodegroupsCommandInput): Promise<EKS.ListNodegroupsCommandOutput>
}

export async function eksApi(
  options: CallContext & {auth: AwsAuth; region?: string | undefined; endpoint?: string | undefined},
): Promise<EksApi> {
  const sdk = await import('@aws-sdk/client-eks')
  const region = options.region ?? options.auth.region
  if (!region) throw new UsageError('eks: no region given', {hint: 'pass --region or set AWS_REGION'})
  const client = new sdk.EKSClient({
    region,
    credentials: options.auth.credentials,
    maxAttempts: 1,
    ...(options.endpoint ? {endpoint: options.endpoint} : {}),
  })
  const send =
    <I extends object, O>(name: string, Command: new (input: I) => unknown) =>
    (input: I): Promise<O> =>
      withRetry(`eks ${name}`, () => client.send(new Command(input) as never) as Promise<O>, options).catch((e: unknown) =>
        Promise.reject(awsError(`eks ${name}`, e)),
      )
  return {
    region,
    createCluster: send('CreateCluster', sdk.CreateClusterCommand),
    describeCluster: send('DescribeCluster', sdk.DescribeClusterCommand),
    deleteCluster: send('DeleteCluster', sdk.DeleteClusterCommand),
    listClusters: send('ListClusters', sdk.ListClustersCommand),
    createNodegroup: send('CreateNodegroup', sdk.CreateNodegroupCommand),
    describeNodegroup: send('DescribeNodegroup', sdk.DescribeNodegroupCommand),
    deleteNodegroup: send('DeleteNodegroup', sdk.DeleteNodegroupCommand),
    listNodegroups: send('ListNodegroups', sdk.ListNodegroupsCommand),
  }
}

export interface EksOptions {
  eks: EksApi
  /** The cluster's IAM role (EKS needs one to create; kola does not create IAM roles). Roles and subnets are unused by list and delete (gc). */
  roleArn?: string | undefined
  nodeRoleArn?: string | undefined
  subnetIds?: string[] | undefined
  instanceType?: string | undefined
  pollIntervalMs?: number | undefined
  now?: (() => Date) | undefined
}

const notFound = (e: unknown): boolean => {
  const x = e as {name?: string; cause?: {name?: string}}
  return (
    x?.name === 'ResourceNotFoundException' ||
    x?.cause?.name === 'ResourceNotFoundException' ||
    /ResourceNotFoundException|No cluster found|No node group found/.test(String((e as Error)?.message))
  )
}

export function eksClusters(options: EksOptions): ManagedClusterApi {
  const {eks} = options
  const nodegroup = (cluster: string) => `${cluster}-nodes`
  const interval = options.pollIntervalMs ?? 20_000

  const view = (c: EKS.Cluster): ManagedCluster => ({
    name: c.name ?? '',
    status: c.status ?? 'UNKNOWN',
    ready: c.status === 'ACTIVE',
    server: c.endpoint,
    caData: c.certificateAuthority?.data,
    marked: c.tags?.[MARKER_KEY] === MARKER_VALUE,
    runId: c.tags?.[KOLA_RUN_TAG],
    created: c.createdAt,
    raw: c,
  })
  const describe = async (name: string): Promise<EKS.Cluster | undefined> => {
    try {
      return (await eks.describeCluster({name})).cluster
    } catch (e) {
      if (notFound(e)) return undefined
      throw e
    }
  }
  const describeNodes = async (name: string): Promise<EKS.Nodegroup | undefined> => {
    try {
      return (await eks.describeNodegroup({clusterName: name, nodegroupName: nodegroup(name)})).nodegroup
    } catch (e) {
      if (notFound(e)) return undefined
      throw e
    }
  }

  return {
    cloud: 'eks',
    async create(spec, ctx) {
      // Checked here, not when the module is made: gc lists and deletes without roles or subnets.
      const {roleArn, nodeRoleArn, subnetIds = []} = options
      if (!roleArn || !nodeRoleArn)
        throw new UsageError('eks: the cluster and node roles are needed', {hint: 'pass --role-arn and --node-role-arn'})
      if (subnetIds.length < 2)
        throw new UsageError('eks: at least two subnets (in two availability zones) are needed', {hint: 'pass --subnets subnet-a,subnet-b'})
      const tags = {...markerTags(options.now?.()), [KOLA_RUN_TAG]: spec.runId}
      await eks.createCluster({
        name: spec.name,
        roleArn,
        resourcesVpcConfig: {subnetIds, endpointPublicAccess: true},
        ...(spec.version ? {version: spec.version} : {}),
        tags,
      })
      // The node group waits for the cluster: EKS refuses one on a cluster still CREATING.
      await pollUntil(
        async () => {
          const c = await describe(spec.name)
          if (!c) throw new InfraError(`eks: cluster ${spec.name} disappeared while being created`)
          if (c.status === 'FAILED') throw new InfraError(`eks: cluster ${spec.name} FAILED`)
          return c.status === 'ACTIVE' ? c : undefined
        },
        {what: `EKS cluster ${spec.name} to be ACTIVE`, intervalMs: interval, timeoutMs: 40 * 60_000, signal: ctx.signal},
      )
      await eks.createNodegroup({
        clusterName: spec.name,
        nodegroupName: nodegroup(spec.name),
        nodeRole: nodeRoleArn,
        subnets: subnetIds,
        scalingConfig: {minSize: spec.nodeCount, maxSize: spec.nodeCount, desiredSize: spec.nodeCount},
        instanceTypes: [options.instanceType ?? 't3.medium'],
        tags,
      })
    },
    async waitReady(name, ctx) {
      await pollUntil(
        async () => {
          const ng = await describeNodes(name)
          if (!ng) throw new InfraError(`eks: node group ${nodegroup(name)} disappeared while being created`)
          if (ng.status === 'CREATE_FAILED' || ng.status === 'DEGRADED') {
            const issue = ng.health?.issues?.[0]
            throw new InfraError(`eks: node group ${nodegroup(name)} is ${ng.status}${issue ? `: ${issue.code}: ${issue.message}` : ''}`)
          }
          return ng.status === 'ACTIVE' ? ng : undefined
        },
        {
          what: `EKS node group ${nodegroup(name)} to be ACTIVE`,
          intervalMs: ctx.intervalMs ?? interval,
          timeoutMs: ctx.timeoutMs ?? 40 * 60_000,
          signal: ctx.signal,
        },
      )
      const c = await describe(name)
      if (!c) throw new InfraError(`eks: cluster ${name} disappeared`)
      return view(c)
    },
    async get(name) {
      const c = await describe(name)
      return c ? view(c) : undefined
    },
    kubeconfig(cluster) {
      if (!cluster.server || !cluster.caData) throw new InfraError(`eks: cluster ${cluster.name} has no endpoint yet`)
      return kubeconfigYaml(`eks_${eks.region}_${cluster.name}`, cluster.server, cluster.caData, {
        exec: {command: 'aws', args: ['eks', 'get-token', '--cluster-name', cluster.name, '--region', eks.region]},
      })
    },
    async delete(name) {
      try {
        await eks.deleteNodegroup({clusterName: name, nodegroupName: nodegroup(name)})
      } catch (e) {
        if (!notFound(e)) throw e
      }
      await pollUntil(async () => ((await describeNodes(name)) ? undefined : true), {
        what: `EKS node group ${nodegroup(name)} to be deleted`,
        intervalMs: interval,
        timeoutMs: 40 * 60_000,
      })
      try {
        await eks.deleteCluster({name})
      } catch (e) {
        if (notFound(e)) return
        throw e
      }
      await pollUntil(async () => ((await describe(name)) ? undefined : true), {
        what: `EKS cluster ${name} to be deleted`,
        intervalMs: interval,
        timeoutMs: 40 * 60_000,
      })
    },
    async list(ctx) {
      const names: string[] = []
      let nextToken: string | undefined
      do {
        const page = await eks.listClusters({...(nextToken ? {nextToken} : {})}).catch((e: unknown) => {
          // Credentials for EC2 alone (no eks:ListClusters): gc of instances, images and groups must not fail
          // for it; the clusters are left to credentials that may list them, and the log says so.
          if (!isPermissionDenied(e)) throw e
          ctx.logger.warn(`eks: not allowed to list clusters in ${eks.region}; EKS clusters not collected (${(e as Error).message})`)
          return undefined
        })
        if (!page) return []
        names.push(...(page.clusters ?? []))
        nextToken = page.nextToken
      } while (nextToken)
      const out: ManagedCluster[] = []
      for (const n of names) {
        const c = await describe(n)
        if (c) out.push(view(c))
      }
      return out
    },
  }
}
