import type {TokenCredential} from '@azure/identity'
import type {ContainerClient, PageBlobClient} from '@azure/storage-blob'

import type {AzureAuth} from '@mantle/auth'
import {UsageError} from '@mantle/kit'
import {azureSdk} from '@mantle/kit/storage/sdks'

/** Azurite and other endpoints are given whole; Azure's is derived from the account. */
export interface BlobEndpointOptions {
  auth: AzureAuth
  /** Overrides auth's account (the --storage-account flag). */
  accountName?: string | undefined
  /** e.g. http://127.0.0.1:10000/devstoreaccount1 (Azurite). */
  endpoint?: string | undefined
  /** For accounts reached with Azure AD instead of a key. */
  tokenCredential?: TokenCredential | undefined
}

/** The calls the page-blob upload makes, narrowed from PageBlobClient. */
export type PageBlobApi = Pick<
  PageBlobClient,
  'url' | 'exists' | 'create' | 'uploadPages' | 'getProperties' | 'delete' | 'deleteIfExists' | 'generateSasUrl'
>

/** The blobs of a container (name, size, last modified), for prune. */
export async function listContainerBlobs(
  options: BlobEndpointOptions,
  container: string,
  prefix?: string,
): Promise<{name: string; size: number; lastModified: Date}[]> {
  const client = containerClient(options, container)
  const out: {name: string; size: number; lastModified: Date}[] = []
  for await (const b of client.listBlobsFlat(prefix ? {prefix} : {}))
    out.push({name: b.name, size: b.properties.contentLength ?? 0, lastModified: b.properties.lastModified})
  return out
}

/** Creates the container when it does not exist. */
export async function ensureContainer(options: BlobEndpointOptions, container: string): Promise<void> {
  await containerClient(options, container).createIfNotExists()
}

/** A page blob client for container/blob, from a connection string, an account key, or a token. */
export async function pageBlobClient(options: BlobEndpointOptions, container: string, blob: string): Promise<PageBlobApi> {
  return containerClient(options, container).getPageBlobClient(blob)
}

/** A container client from a connection string, an account key, or a token. */
function containerClient(options: BlobEndpointOptions, container: string): ContainerClient {
  // The kit's one-file bundle of the SDK: the same copy the storage backend loads, and quicker to load.
  const sb = azureSdk()
  // Our retries are kit's (withRetry around each call); the SDK's stay off.
  const pipeline = {retryOptions: {maxTries: 1}}
  const storage = options.auth.storage
  if (storage?.connectionString) {
    return sb.BlobServiceClient.fromConnectionString(storage.connectionString, pipeline).getContainerClient(container)
  }
  const accountName = options.accountName ?? storage?.accountName
  if (!accountName) {
    throw new UsageError('azure storage: no storage account given', {
      hint: 'pass --storage-account, or a connection string (--azure-connection-string or AZURE_STORAGE_CONNECTION_STRING)',
    })
  }
  const url = `${options.endpoint ?? `https://${accountName}.blob.core.windows.net`}/${container}`
  if (storage?.accountKey && (storage.accountName === undefined || storage.accountName === accountName)) {
    return new sb.ContainerClient(url, new sb.StorageSharedKeyCredential(accountName, storage.accountKey), pipeline)
  }
  if (options.tokenCredential) return new sb.ContainerClient(url, options.tokenCredential, pipeline)
  throw new UsageError(`azure storage: no key for account ${accountName}`, {hint: 'set AZURE_STORAGE_KEY, or pass a connection string'})
}
