import type {Readable} from 'node:stream'

import type {DirectRead} from './direct-get.js'

/**
 * One interface over every object store. A backend per URL scheme implements
 * `Bucket`; `openBucket` (in ./open.ts) picks it from the URL. Keys are full
 * object names inside the bucket, without a leading slash.
 */

export interface ObjectInfo {
  key: string
  size: number
  contentType?: string | undefined
  cacheControl?: string | undefined
  /** Hex-encoded MD5 of the content, where the backend has it. */
  md5?: string | undefined
  /** Base64 CRC32C (as GCS reports it), where the backend has it. */
  crc32c?: string | undefined
  /** What preconditions compare: GCS generation, S3/Azure ETag, a local file's mtime+size. */
  generation?: string | undefined
  updated?: Date | undefined
}

export interface ListOptions {
  prefix?: string
  /** With a delimiter (usually '/'), keys below the next delimiter are rolled up into `prefixes`. */
  delimiter?: string
  /**
   * Only the keys are wanted: a backend that learns size and generation with
   * a call per object (a local directory: a stat per file) may leave them out
   * (size 0, no generation). Index pages need the keys, and stat the few
   * pages they compare.
   */
  keysOnly?: boolean
  signal?: AbortSignal
}

export type ListEntry = {type: 'object'; object: ObjectInfo} | {type: 'prefix'; prefix: string}

export interface Precondition {
  /** Create only: refuse if the object exists. */
  ifNotExists?: boolean
  /** Only if the current generation/ETag equals this one. */
  ifGenerationMatch?: string
}

export interface ReadOptions {
  /** First byte to read (for resume and range reads). */
  start?: number
  /** Last byte to read, inclusive. */
  end?: number
  /** The object as a stat just before saw it: a backend that must stat before reading (GCS) uses this instead, and pins that generation. */
  known?: ObjectInfo
  signal?: AbortSignal
}

export interface ReadResult {
  body: Readable
  /**
   * Where `body` starts. Equals `start` when the backend honoured the range;
   * 0 when it sent the whole object instead (an HTTP 200 to a Range request),
   * so a resuming caller must restart.
   */
  offset: number
  /** Total size of the object, when known. */
  size?: number | undefined
  info?: ObjectInfo | undefined
  /** The whole body at once, where the backend read it so (a small object): the bytes `body` gives. */
  bytes?: Buffer | undefined
}

export interface WriteOptions {
  contentType?: string
  cacheControl?: string
  precondition?: Precondition
  /**
   * Hex MD5 of the body when the caller knows it (sync does): backends store it
   * where a multipart upload would otherwise leave no MD5, and verify it.
   */
  md5?: string
  /** Size of the body when known: lets backends choose single-shot vs multipart/resumable. */
  size?: number
  /** Called with bytes sent so far. */
  onProgress?: (bytes: number) => void
  signal?: AbortSignal
}

export interface DeleteOptions {
  precondition?: Precondition
  signal?: AbortSignal
}

/**
 * An upload begun and never finished: an S3 multipart upload, an Azure blob
 * holding only uncommitted blocks, a local temporary file. It is not an
 * object, but it holds storage (and, on S3, is billed) until aborted.
 */
export interface IncompleteUpload {
  key: string
  /** What the backend names it by: the S3 UploadId, the temporary file's name; '' for an Azure blob's blocks. */
  id: string
  /** When it began (S3) or was last added to (Azure, local), where the backend tells. */
  initiated?: Date | undefined
}

export type StorageScheme = 'gs' | 's3' | 'az' | 'https' | 'http' | 'file'

export interface Bucket {
  /** The URL of the bucket root, e.g. `s3://releases/`; `urlOf(key)` is the URL of one object. */
  readonly url: string
  readonly scheme: StorageScheme
  /** The bucket (gs, s3), container (az), origin (http) or '' (file): default title of index pages. */
  readonly name: string
  /** False for read-only mirrors (https). */
  readonly writable: boolean
  /**
   * False where objects carry no content type or cache control (a local
   * directory): writes accept and drop them.
   */
  readonly metadata: boolean
  /**
   * False where a key cannot be both an object and a prefix ("p" and "p/x"):
   * a local directory. Index pages then skip the directory objects `p` and `p/`.
   */
  readonly directoryObjects: boolean
  list(options?: ListOptions): AsyncIterable<ListEntry>
  /** Undefined when the object does not exist. */
  stat(key: string, options?: {signal?: AbortSignal}): Promise<ObjectInfo | undefined>
  /**
   * Reads an object, or its bytes from `start` to `end`. Throws a StorageError
   * `not-found` when the object is absent, and `range-not-satisfiable` (with
   * `size` when known) when `start` > 0 is at or after the end of the object:
   * a resuming caller that already holds every byte gets that error, never an
   * empty body. Reading from 0 an empty object gives an empty body.
   */
  read(key: string, options?: ReadOptions): Promise<ReadResult>
  /**
   * A plain HTTP(S) GET of the object's bytes, pinned to `info`'s generation
   * where the backend can: what readToFile uses for large downloads instead of
   * `read` (see direct-get.ts), asking for it anew for every request: what
   * it returns is good for one GET made now (an S3 signature lasts 15
   * minutes). Undefined where the backend has none (a local directory, or
   * credentials only the SDK can apply).
   */
  directRead?(key: string, info: ObjectInfo): Promise<DirectRead | undefined>
  /**
   * The MD5 of an object's bytes where reading them is cheaper than a stat
   * and a read stream (a local file); undefined when it does not exist.
   * Backends that store an MD5 leave this out: `md5Of` asks them.
   */
  md5?(key: string): Promise<string | undefined>
  write(key: string, body: Readable | Buffer | string, options?: WriteOptions): Promise<ObjectInfo>
  /** Server-side where the backend can. */
  copy(sourceKey: string, destKey: string, options?: {precondition?: Precondition; signal?: AbortSignal}): Promise<ObjectInfo>
  delete(key: string, options?: DeleteOptions): Promise<void>
  /**
   * Incomplete uploads under a prefix, where the backend can list them (not
   * GCS: a resumable session is known only to the process that began it).
   */
  incompleteUploads?(options?: {prefix?: string; signal?: AbortSignal}): AsyncIterable<IncompleteUpload>
  /** Aborts one: its parts or blocks are removed. One already gone is not an error. */
  abortUpload?(upload: IncompleteUpload, options?: {signal?: AbortSignal}): Promise<void>
  /** The URL of a key, for messages: `s3://releases/a/b`. */
  urlOf(key: string): string
}

/** A parsed storage URL: which bucket, and the key or prefix inside it. */
export interface StorageLocation {
  bucket: Bucket
  /** Key or prefix inside the bucket ('' for the root). */
  key: string
}
