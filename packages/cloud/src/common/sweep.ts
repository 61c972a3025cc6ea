import type {ServiceContext} from './context.js'
import type {Logger} from '@mantle/kit'

/**
 * One kind of resource a gc collects: each one logged ("deleting ..." or, in
 * a dry run, "would delete ..."), deleted unless dry, and its id returned.
 * Sequential: gc runs rarely and the clouds throttle bursts of deletes.
 */
export async function sweep<T, I extends string | number = string>(
  items: readonly T[],
  options: {
    kind: string
    id: (item: T) => I
    name?: ((item: T) => string | undefined) | undefined
    remove: (item: T) => Promise<void>
    dryRun?: boolean | undefined
    logger: Logger
  },
): Promise<I[]> {
  const done: I[] = []
  for (const item of items) {
    const id = options.id(item)
    const name = options.name?.(item)
    options.logger.notice(`${options.dryRun ? 'would delete' : 'deleting'} ${options.kind} ${name ? `${name} (${id})` : id}`)
    if (!options.dryRun) await options.remove(item)
    done.push(id)
  }
  return done
}

/** The ids of the resources named by id or name, in the order given; a name that matches none is a usage error (exit 2) before anything is deleted. */
export function resolveRefs<T>(
  items: readonly T[],
  refs: readonly string[],
  options: {id: (item: T) => string; name: (item: T) => string | undefined; missing: (ref: string) => Error},
): string[] {
  return refs.map((ref) => {
    const found = items.find((i) => options.id(i) === ref || options.name(i) === ref)
    if (!found) throw options.missing(ref)
    return options.id(found)
  })
}

/** What every cloud's gc takes. */
export interface GcOptions<A> {
  api: A
  /** Collect what is older than this. */
  olderThanMs: number
  dryRun?: boolean | undefined
  context: ServiceContext
}

/** The creation time before which a marked resource is collected. */
export function gcCutoff(options: Pick<GcOptions<unknown>, 'olderThanMs' | 'context'>): Date {
  return new Date((options.context.now?.() ?? new Date()).getTime() - options.olderThanMs)
}
