import {fixPrefix, isStorageError, type Bucket, type Logger} from '@mantle/kit'

export interface PruneOptions {
  bucket: Pick<Bucket, 'list' | 'delete' | 'urlOf'>
  /** Where to look: the URL's key part joined with the prefix argument. */
  prefix: string
  /** Objects last updated more than this many days ago are deleted. */
  days: number
  /** Prefixes, relative to `prefix`, whose objects are never deleted. */
  whitelist: readonly string[]
  dryRun: boolean
  now?: Date | undefined
  /** Deletes in flight at once. */
  concurrency?: number | undefined
  logger: Logger
  signal?: AbortSignal | undefined
}

export interface PrunedObject {
  url: string
  key: string
  size: number
  updated: string
}

export interface PruneResult {
  prefix: string
  days: number
  whitelist: string[]
  dryRun: boolean
  cutoff: string
  /** Deleted, or with --dry-run, what would be. */
  deleted: PrunedObject[]
  /** Objects seen and kept (too new, whitelisted, or changed since listed). */
  kept: number
  /** Objects that changed between listing and deletion, left alone. */
  changed: string[]
}

const DAY_MS = 86_400_000

/**
 * Deletes the objects under a prefix that are older than `days`, except under
 * the whitelisted prefixes. Each delete carries the generation seen in the
 * listing, so an object rewritten meanwhile is left alone.
 */
export async function prune(options: PruneOptions): Promise<PruneResult> {
  const {bucket, logger} = options
  const now = options.now ?? new Date()
  const cutoff = new Date(now.getTime() - options.days * DAY_MS)
  const prefix = options.prefix
  const whitelist = options.whitelist.map((w) => fixPrefix(w))
  const doomed: PrunedObject[] = []
  const generations = new Map<string, string | undefined>()
  let kept = 0
  for await (const entry of bucket.list({prefix, ...(options.signal ? {signal: options.signal} : {})})) {
    if (entry.type !== 'object') continue
    const {key, updated, size, generation} = entry.object
    const relative = key.slice(prefix.length)
    if (whitelist.some((w) => relative.startsWith(w))) {
      kept++
      continue
    }
    if (!updated) {
      logger.warn(`${bucket.urlOf(key)}: the backend gave no modification time; kept`)
      kept++
      continue
    }
    if (updated.getTime() >= cutoff.getTime()) {
      kept++
      continue
    }
    doomed.push({url: bucket.urlOf(key), key, size, updated: updated.toISOString()})
    generations.set(key, generation)
  }

  const changed: string[] = []
  const deleted: PrunedObject[] = []
  if (options.dryRun) {
    deleted.push(...doomed)
  } else {
    const queue = [...doomed]
    const worker = async (): Promise<void> => {
      for (let object = queue.shift(); object; object = queue.shift()) {
        const generation = generations.get(object.key)
        try {
          await bucket.delete(object.key, {
            ...(generation ? {precondition: {ifGenerationMatch: generation}} : {}),
            ...(options.signal ? {signal: options.signal} : {}),
          })
          deleted.push(object)
          logger.info(`deleted ${object.url}`)
        } catch (error) {
          if (isStorageError(error, 'precondition-failed')) {
            logger.warn(`${object.url} changed since it was listed; kept`)
            changed.push(object.url)
          } else if (isStorageError(error, 'not-found')) {
            logger.info(`${object.url} is already gone`)
          } else {
            throw error
          }
        }
      }
    }
    await Promise.all(Array.from({length: Math.min(options.concurrency ?? 8, Math.max(1, queue.length))}, worker))
    deleted.sort((a, b) => a.key.localeCompare(b.key))
  }
  return {
    prefix,
    days: options.days,
    whitelist,
    dryRun: options.dryRun,
    cutoff: cutoff.toISOString(),
    deleted,
    kept: kept + changed.length,
    changed,
  }
}
