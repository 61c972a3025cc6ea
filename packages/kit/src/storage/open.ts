import type {Logger} from '../log.js'
import type {Bucket, StorageLocation} from './types.js'
import {parseStorageUrl, type ParsedStorageUrl} from './url.js'

/**
 * Credentials and endpoints for the backends, as plain values: the kit does
 * not depend on the auth package; commands resolve credentials there (see
 * @mantle/auth `storageOptions`) and pass them in. Each backend reads only
 * its own part, and only when a URL of its scheme is opened.
 */
export interface StorageOptions {
  gcs?: {
    /** Options for @google-cloud/storage's Storage (credentials, projectId). */
    clientOptions?: Record<string, unknown> | undefined
    /** e.g. http://127.0.0.1:9199 for an emulator (STORAGE_EMULATOR_HOST). */
    apiEndpoint?: string | undefined
  }
  s3?: {
    credentials?: S3Credentials | (() => Promise<S3Credentials>) | undefined
    region?: string | undefined
    /** An S3-compatible endpoint, e.g. http://127.0.0.1:7480. */
    endpoint?: string | undefined
    /** Path-style addressing (http://host/bucket/key); the default with a custom endpoint. */
    forcePathStyle?: boolean | undefined
  }
  azure?: {
    connectionString?: string | undefined
    accountName?: string | undefined
    accountKey?: string | undefined
    /** A SAS token (without the leading "?"). */
    sasToken?: string | undefined
    /** The blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite. */
    endpoint?: string | undefined
    /** An @azure/identity TokenCredential, for accounts reached with Azure AD. */
    tokenCredential?: unknown
  }
  http?: {headers?: Record<string, string> | undefined}
  /** Relative plain paths resolve against this (default: the process's cwd). */
  cwd?: string | undefined
  /** Attempts for transient failures (default 5). */
  attempts?: number | undefined
  /**
   * How long a connection may stay silent before it counts as stalled and is
   * dropped (then retried or reported); default 60 s.
   */
  idleTimeoutMs?: number | undefined
  logger?: Logger | undefined
  signal?: AbortSignal | undefined
}

export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

/** Opens the bucket of a storage URL and returns it with the key or prefix the URL names. */
export async function openLocation(url: string, options: StorageOptions = {}): Promise<StorageLocation> {
  const parsed = parseStorageUrl(url, options.cwd)
  return {bucket: await openParsed(parsed, options), key: parsed.key}
}

/** Opens the bucket of a storage URL (the key part is ignored). */
export async function openBucket(url: string, options: StorageOptions = {}): Promise<Bucket> {
  return (await openLocation(url, options)).bucket
}

async function openParsed(parsed: ParsedStorageUrl, options: StorageOptions): Promise<Bucket> {
  // Each backend, and its SDK, loads only when a URL of its scheme is opened.
  switch (parsed.scheme) {
    case 'file': {
      const {FileBucket} = await import('./file.js')
      return new FileBucket()
    }
    case 'http':
    case 'https': {
      const {HttpBucket} = await import('./http.js')
      return new HttpBucket(parsed.bucket, {
        headers: options.http?.headers,
        attempts: options.attempts,
        idleTimeoutMs: options.idleTimeoutMs,
        logger: options.logger,
      })
    }
    case 's3': {
      const {S3Bucket, s3BucketOptions} = await import('./s3.js')
      return S3Bucket.open(parsed.bucket, s3BucketOptions(options))
    }
    case 'az': {
      const {AzureBucket, azureBucketOptions} = await import('./azure.js')
      return AzureBucket.open(azureBucketOptions(parsed.account!, parsed.bucket, parsed.endpoint, options))
    }
    case 'gs': {
      const {GcsBucket, gcsBucketOptions} = await import('./gcs.js')
      return GcsBucket.open(parsed.bucket, gcsBucketOptions(options))
    }
  }
}
