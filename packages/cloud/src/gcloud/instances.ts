import {randomBytes} from 'node:crypto'

import {InfraError} from '@mantle/kit'

import {gcManagedClusters, type ManagedClusterApi} from '../common/clusters.js'
import type {ServiceContext} from '../common/context.js'
import {isExpired, isMarked, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import type {GceComputeApi, GceInstance} from './compute.js'

export interface InstanceSummary {
  name: string
  zone: string
  status: string
  created?: string | undefined
  ip?: string | undefined
}

function summary(i: GceInstance): InstanceSummary {
  const nat = i.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP
  return {
    name: i.name,
    zone: i.zone?.split('/').pop() ?? '',
    status: i.status ?? '',
    created: i.creationTimestamp,
    ip: nat ?? i.networkInterfaces?.[0]?.networkIP,
  }
}

/** Instances whose name starts with the basename (kola's are "kola-..."). */
export async function listInstances(options: {compute: GceComputeApi; basename?: string | undefined}): Promise<InstanceSummary[]> {
  const prefix = options.basename ?? ''
  const all = await options.compute.listInstances(prefix ? `name eq "${prefix.replace(/[^a-z0-9-]/g, '')}.*"` : undefined)
  return all.filter((i) => i.name.startsWith(prefix)).map(summary)
}

export interface CreateInstancesOptions {
  compute: GceComputeApi
  zone: string
  count: number
  basename: string
  /** Image name in the project, or a full projects/<p>/global/images/<name> path. */
  image: string
  machineType: string
  diskType: string
  diskSizeGb?: number | undefined
  network: string
  /** Ignition config or cloud-config, passed as user-data metadata. */
  userData?: string | undefined
  sshKeys?: string[] | undefined
  context: ServiceContext
}

/** Creates `count` instances named <basename>-<random>, labelled as ours, and waits until each insert is done. */
export async function createInstances(options: CreateInstancesOptions): Promise<InstanceSummary[]> {
  const {compute, zone, context: ctx} = options
  const p = compute.project
  const image = options.image.includes('/') ? options.image : `projects/${p}/global/images/${options.image}`
  const metadata = [
    ...(options.userData ? [{key: 'user-data', value: options.userData}] : []),
    ...(options.sshKeys?.length ? [{key: 'ssh-keys', value: options.sshKeys.map((k) => `core:${k}`).join('\n')}] : []),
  ]
  const names = Array.from({length: options.count}, () => `${options.basename}-${randomBytes(4).toString('hex')}`)
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const instance: GceInstance = {
        name,
        machineType: `zones/${zone}/machineTypes/${options.machineType}`,
        labels: {[MARKER_KEY]: MARKER_VALUE},
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: {
              sourceImage: image,
              diskType: `zones/${zone}/diskTypes/${options.diskType}`,
              ...(options.diskSizeGb ? {diskSizeGb: String(options.diskSizeGb)} : {}),
            },
          },
        ],
        networkInterfaces: [
          {network: `global/networks/${options.network}`, accessConfigs: [{type: 'ONE_TO_ONE_NAT', name: 'External NAT'}]},
        ],
        ...(metadata.length ? {metadata: {items: metadata}} : {}),
      }
      await compute.waitOperation(await compute.insertInstance(zone, instance))
      ctx.logger.info(`created instance ${name} in ${zone}`)
    }),
  )
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${(r.reason as Error).message}`] : []))
  if (failed.length > 0) {
    // Leave nothing half made behind: remove what did start.
    const made = names.filter((_, i) => results[i]!.status === 'fulfilled')
    await Promise.allSettled(made.map(async (n) => compute.waitOperation(await compute.deleteInstance(zone, n))))
    throw new InfraError(`gce: ${failed.length} of ${names.length} instances failed: ${failed.join('; ')}`)
  }
  const created = await listInstances({compute, basename: options.basename})
  return created.filter((i) => names.includes(i.name))
}

/** `gc`: our instances older than the cutoff (destroyInstances) and, given `clusters`, our expired GKE clusters. */
export async function gcGcloud(options: {
  compute: GceComputeApi
  clusters?: ManagedClusterApi | undefined
  basename?: string | undefined
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{deleted: InstanceSummary[]; deletedClusters?: string[]}> {
  const {clusters, ...rest} = options
  const result: {deleted: InstanceSummary[]; deletedClusters?: string[]} = await destroyInstances(rest)
  if (clusters)
    result.deletedClusters = await gcManagedClusters({
      clusters,
      olderThanMs: options.olderThanMs,
      dryRun: options.dryRun,
      context: options.context,
    })
  return result
}

/** Deletes our instances (label and basename) and waits; with a cutoff, only those created before it (gc). */
export async function destroyInstances(options: {
  compute: GceComputeApi
  basename?: string | undefined
  olderThanMs?: number | undefined
  dryRun?: boolean | undefined
  context: ServiceContext
}): Promise<{deleted: InstanceSummary[]}> {
  const {compute, context: ctx} = options
  const prefix = options.basename ?? ''
  const now = ctx.now?.() ?? new Date()
  const cutoff = options.olderThanMs === undefined ? undefined : new Date(now.getTime() - options.olderThanMs)
  const all = await compute.listInstances(`labels.${MARKER_KEY} = "${MARKER_VALUE}"`)
  const doomed = all.filter((i) => {
    if (!i.name.startsWith(prefix)) return false
    const created = i.creationTimestamp ? new Date(i.creationTimestamp) : undefined
    // gc checks age; destroy-instances takes every one of ours with the basename.
    return cutoff ? isExpired({marked: isMarked(i.labels), created}, cutoff) : isMarked(i.labels)
  })
  for (const i of doomed) ctx.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} instance ${i.name}`)
  if (!options.dryRun) {
    const results = await Promise.allSettled(
      doomed.map(async (i) => compute.waitOperation(await compute.deleteInstance(i.zone!.split('/').pop()!, i.name))),
    )
    const failed = results.flatMap((r, n) => (r.status === 'rejected' ? [`${doomed[n]!.name}: ${(r.reason as Error).message}`] : []))
    if (failed.length > 0) throw new InfraError(`gce: ${failed.length} of ${doomed.length} deletions failed: ${failed.join('; ')}`)
  }
  return {deleted: doomed.map(summary)}
}
