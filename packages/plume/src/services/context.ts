import type {Logger, StorageOptions} from '@mantle/kit'

import type {Platform} from '../config/types.js'
import type {ReleaseSpec, SourceLocation} from '../spec.js'
import type {VerifiedImage} from './images.js'

/** What every stage's steps share: the release, its source, and the run's context. */
export interface StageContext {
  release: ReleaseSpec
  source: SourceLocation
  /** Images that passed the signature gate, by file name. */
  images: ReadonlyMap<string, VerifiedImage>
  /** For opening destinations and staging buckets. */
  storage: StorageOptions
  platforms: ReadonlySet<Platform>
  /** Write even what looks up to date (storage objects, the Azure blob). */
  force: boolean
  /** Only one AWS partition is worked on (-P): what covers every partition is left out. */
  onePartition: boolean
  /** Nothing is made public (-Z). */
  private: boolean
  logger: Logger
  signal: AbortSignal
  /** Between two polls of a long-running cloud operation (tests pass 0). */
  pollIntervalMs?: number | undefined
  /** The current time (GCE image names carry the date). */
  now: () => Date
}
