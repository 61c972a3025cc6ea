import type {SyncOptions} from '../sync.js'
import type {Bucket} from '../types.js'

/** A recursive sync, nothing deleted, no index pages: what the benchmark runs. */
export const plainSync = (source: Bucket, sourcePrefix: string, destination: Bucket, destinationPrefix: string): SyncOptions => ({
  source,
  sourcePrefix,
  destination,
  destinationPrefix,
  delete: false,
  recursive: true,
  dryRun: false,
  force: false,
  indexDirs: false,
  indexHtml: false,
})
