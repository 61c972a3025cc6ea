import {azureTokenCredential, type AzureAuth} from '@mantle/auth'

import type {ManagedClusterApi} from '../common/clusters.js'
import type {ServiceContext} from '../common/context.js'
import {aksClusters} from './aks.js'
import {azureComputeApi, azureResourcesApi, type AzureComputeApi, type AzureResourcesApi} from './arm.js'
import {azureVmApi, type AzureVmApi} from './vms.js'
import {withRetry} from '../common/retry.js'
import {ensureContainer, listContainerBlobs, pageBlobClient, type BlobEndpointOptions, type PageBlobApi} from './clients.js'
import {azureError} from './errors.js'

export interface AzureSession {
  subscriptionId: string | undefined
  compute(): Promise<AzureComputeApi>
  resources(): Promise<AzureResourcesApi>
  /** The calls of a kola run's VMs (resource group, network, VMs, boot diagnostics). */
  vms(): Promise<AzureVmApi>
  /** AKS managedClusters of one resource group. */
  aks(resourceGroup: string, location: string): Promise<ManagedClusterApi>
  pageBlob(container: string, blob: string): Promise<PageBlobApi>
  /** Creates the container when it does not exist. */
  ensureContainer(container: string): Promise<void>
  listBlobs(container: string, prefix?: string): Promise<{name: string; size: number; lastModified: Date}[]>
}

/** Clients for one subscription and storage account, from credentials resolved once. */
export function connectAzure(options: {
  auth: AzureAuth
  subscriptionId?: string | undefined
  storageAccount?: string | undefined
  blobEndpoint?: string | undefined
  armEndpoint?: string | undefined
  context: ServiceContext
}): AzureSession {
  const {auth, context} = options
  const subscriptionId = options.subscriptionId ?? auth.subscriptionId
  const arm = async () => ({
    credential: await azureTokenCredential(auth),
    subscriptionId,
    endpoint: options.armEndpoint ?? auth.armEndpoint,
    audience: auth.armAudience,
    ...context,
  })
  const endpoint = async (): Promise<BlobEndpointOptions> => ({
    auth,
    accountName: options.storageAccount,
    endpoint: options.blobEndpoint,
    tokenCredential: auth.storage ? undefined : await azureTokenCredential(auth),
  })
  return {
    subscriptionId,
    compute: async () => azureComputeApi(await arm()),
    resources: async () => azureResourcesApi(await arm()),
    vms: async () => azureVmApi(await arm()),
    aks: async (resourceGroup, location) => aksClusters({...(await arm()), resourceGroup, location}),
    pageBlob: async (container, blob) => pageBlobClient(await endpoint(), container, blob),
    ensureContainer: async (container) =>
      withRetry(`azure create container ${container}`, async () => ensureContainer(await endpoint(), container), context).catch(
        (e: unknown) => Promise.reject(azureError(`azure create container ${container}`, e)),
      ),
    listBlobs: async (container, prefix) => listContainerBlobs(await endpoint(), container, prefix),
  }
}
