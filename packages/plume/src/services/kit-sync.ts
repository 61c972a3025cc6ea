import {syncTree, updateIndexes, type Bucket, type StorageLocation} from '@mantle/kit'

export interface IndexOptions {
  directoryHtml: boolean
  indexHtml: boolean
  /** Page titles are `<title>/<prefix>` (kit's default: the bucket's name). */
  title?: string | undefined
  /** The destination's root: a local destination's pages are titled from there down, whichever part is indexed. */
  titleRoot?: string | undefined
}

export interface SyncRequest extends IndexOptions {
  source: StorageLocation
  destination: StorageLocation
  dryRun: boolean
  force: boolean
  signal: AbortSignal
}

export interface IndexRequest extends IndexOptions {
  location: StorageLocation
  /** Every directory below too (plume index), or only this one (after a release). */
  recursive: boolean
  dryRun: boolean
  force: boolean
  signal: AbortSignal
}

/** What a sync or an index run did (or, dry, would do): one line per object written or deleted. */
export interface StorageActions {
  actions: string[]
}

/** The two storage services of the kit that releases use. */
export interface StorageSync {
  /** Recursive sync with delete, and the index pages of the synced tree. */
  sync(request: SyncRequest): Promise<StorageActions>
  /** The index pages of one directory (or a tree), stale pages deleted. */
  index(request: IndexRequest): Promise<StorageActions>
}

const lines = (bucket: Bucket, r: {copied?: string[]; written: string[]; deleted: string[]}, indexDeleted: string[] = []): string[] => [
  ...(r.copied ?? []).map((k) => `copy ${bucket.urlOf(k)}`),
  ...r.written.map((k) => `write index page ${bucket.urlOf(k)}`),
  ...[...r.deleted, ...indexDeleted].map((k) => `delete ${bucket.urlOf(k)}`),
]

/** kit's syncTree and updateIndexes (storage.md), seen through the calls plume makes. */
export function storageSync(): StorageSync {
  return {
    sync: async (r) => {
      const out = await syncTree({
        source: r.source.bucket,
        sourcePrefix: r.source.key,
        destination: r.destination.bucket,
        destinationPrefix: r.destination.key,
        delete: true,
        recursive: true,
        dryRun: r.dryRun,
        force: r.force,
        indexDirs: r.directoryHtml,
        indexHtml: r.indexHtml,
        title: r.title,
        titleRoot: r.titleRoot,
        signal: r.signal,
      })
      return {
        actions: lines(r.destination.bucket, {copied: out.copied, written: out.index.written, deleted: out.deleted}, out.index.deleted),
      }
    },
    index: async (r) => {
      const out = await updateIndexes({
        bucket: r.location.bucket,
        prefix: r.location.key,
        title: r.title,
        titleRoot: r.titleRoot,
        directoryHtml: r.directoryHtml,
        indexHtml: r.indexHtml,
        delete: true,
        recursive: r.recursive,
        dryRun: r.dryRun,
        force: r.force,
        signal: r.signal,
      })
      return {actions: lines(r.location.bucket, out)}
    },
  }
}
