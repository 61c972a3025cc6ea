/**
 * AKS clusters through ARM's Microsoft.ContainerService/managedClusters
 * (@azure/arm-containerservice): PUT the cluster with one system node pool
 * and a system-assigned identity, poll its provisioningState until
 * Succeeded, kubeconfig from listClusterUserCredential (AKS hands out a whole
 * file), DELETE and wait until gone. Tags: created-by=mantle, created-at,
 * kola-run. Calls go through kit's retry (the SDK's retries are off).
 */
import type * as CS from '@azure/arm-containerservice'

import {InfraError, UsageError} from '@mantle/kit'

import {KOLA_RUN_TAG, type ManagedCluster, type ManagedClusterApi} from '../common/clusters.js'
import {markerTags, MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {withRetry} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'
import {type AzureArmOptions, armClientOptions} from './arm.js'
import {azureError} from './errors.js'

export interface AksOptions extends AzureArmOptions {
  resourceGroup: string
  location: string
  vmSize?: string | undefined
  now?: (() => Date) | undefined
}

export async function aksClusters(options: AksOptions): Promise<ManagedClusterApi> {
  if (!options.subscriptionId)
    throw new UsageError('aks: no subscription given', {hint: 'pass --subscription or set AZURE_SUBSCRIPTION_ID'})
  if (!options.resourceGroup) throw new UsageError('aks: no resource group given', {hint: 'pass --resource-group'})
  if (!options.location) throw new UsageError('aks: no location given', {hint: 'pass --location'})
  const {ContainerServiceClient} = await import('@azure/arm-containerservice')
  const client = new ContainerServiceClient(options.credential, options.subscriptionId, armClientOptions(options))
  const rg = options.resourceGroup
  const interval = options.pollIntervalMs ?? 15_000
  const lro = {updateIntervalInMs: interval}
  const call = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRetry(`aks ${what}`, op, options).catch((e: unknown) => Promise.reject(azureError(`aks ${what}`, e)))
  const notFound = (e: unknown) =>
    (e as {statusCode?: number}).statusCode === 404 || (e as {cause?: {statusCode?: number}}).cause?.statusCode === 404
  const get = (name: string): Promise<CS.ManagedCluster | undefined> =>
    call('managedClusters.get', () =>
      client.managedClusters.get(rg, name).catch((e: unknown) => (notFound(e) ? undefined : Promise.reject(e))),
    )

  const view = (c: CS.ManagedCluster): ManagedCluster => ({
    name: c.name ?? '',
    status: c.provisioningState ?? 'Unknown',
    ready: c.provisioningState === 'Succeeded',
    server: c.fqdn ? `https://${c.fqdn}:443` : undefined,
    marked: c.tags?.[MARKER_KEY] === MARKER_VALUE,
    runId: c.tags?.[KOLA_RUN_TAG],
    created: c.tags?.['created-at'] ? new Date(c.tags['created-at']) : undefined,
    raw: c,
  })

  return {
    cloud: 'aks',
    async create(spec) {
      const body: CS.ManagedCluster = {
        location: options.location,
        tags: {...markerTags(options.now?.()), [KOLA_RUN_TAG]: spec.runId},
        identity: {type: 'SystemAssigned'},
        dnsPrefix: spec.name,
        ...(spec.version ? {kubernetesVersion: spec.version} : {}),
        agentPoolProfiles: [
          {name: 'nodes', mode: 'System', count: spec.nodeCount, vmSize: options.vmSize ?? 'Standard_D2s_v3', osType: 'Linux'},
        ],
      }
      // Only the PUT: waitReady polls the cluster itself, so that an interrupt can stop waiting.
      await call('managedClusters.beginCreateOrUpdate', async () => {
        await client.managedClusters.beginCreateOrUpdate(rg, spec.name, body, lro)
      })
    },
    async waitReady(name, ctx) {
      const c = await pollUntil(
        async () => {
          const c = await get(name)
          if (!c) throw new InfraError(`aks: cluster ${name} disappeared while being created`)
          if (c.provisioningState === 'Failed' || c.provisioningState === 'Canceled')
            throw new InfraError(`aks: cluster ${name} provisioning ${c.provisioningState}`)
          return c.provisioningState === 'Succeeded' ? c : undefined
        },
        {
          what: `AKS cluster ${name} to be Succeeded`,
          intervalMs: ctx.intervalMs ?? interval,
          timeoutMs: ctx.timeoutMs ?? 45 * 60_000,
          signal: ctx.signal,
        },
      )
      const creds = await call('managedClusters.listClusterUserCredentials', () =>
        client.managedClusters.listClusterUserCredentials(rg, name),
      )
      const file = creds.kubeconfigs?.[0]?.value
      if (!file) throw new InfraError(`aks: cluster ${name} gave no kubeconfig`)
      return {...view(c), kubeconfig: Buffer.from(file).toString('utf8')}
    },
    async get(name) {
      const c = await get(name)
      return c ? view(c) : undefined
    },
    kubeconfig(cluster) {
      if (!cluster.kubeconfig) throw new InfraError(`aks: no kubeconfig for cluster ${cluster.name} yet`)
      return cluster.kubeconfig
    },
    async delete(name) {
      if (!(await get(name))) return
      await call('managedClusters.beginDeleteAndWait', () => client.managedClusters.beginDeleteAndWait(rg, name, lro))
    },
    async list() {
      return call('managedClusters.listByResourceGroup', async () => {
        const out: ManagedCluster[] = []
        try {
          for await (const c of client.managedClusters.listByResourceGroup(rg)) out.push(view(c))
        } catch (e) {
          // No such resource group (404 ResourceGroupNotFound): no cluster of ours there.
          if (notFound(e)) return []
          throw e
        }
        return out
      })
    },
  }
}
