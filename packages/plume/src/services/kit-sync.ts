import {BugError, type StorageLocation} from '@mantle/kit'

export interface IndexOptions {
  directoryHtml: boolean
  indexHtml: boolean
  title: string
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
  /** The index pages of one directory, not recursive, stale pages deleted. */
  index(request: IndexRequest): Promise<StorageActions>
}

/** kit's sync and index services (storage.md), seen through the calls plume makes. */
export function storageSync(): StorageSync {
  const missing = (): never => {
    throw new BugError('the kit has no storage sync/index service yet')
  }
  return {sync: async () => missing(), index: async () => missing()}
}
