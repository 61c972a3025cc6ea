import {fixPrefix, openLocation, type StorageLocation} from '@mantle/kit'

import type {DestinationSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
import type {StageContext} from './context.js'
import {storageSync, type IndexOptions} from './kit-sync.js'

/**
 * release to storage, per destination: sync the release directory to
 * `<url>/<board>/<version>/` and to `<url>/<board>/<namedPath>/` (copy what
 * differs, delete what the source no longer has, index pages of the synced
 * tree), then regenerate the index pages of `<url>/` and `<url>/<board>/`.
 * Every check is the sync's own dry run, so a plan lists exactly the object
 * writes and deletes still needed.
 */
export function destinationSteps(ctx: StageContext): Step[] {
  const {release} = ctx
  const steps: Step[] = []
  // Ids name a destination by its position: they must not change with the URL (tests kill at them).
  for (const [i, dest] of (release.spec.destinations ?? []).entries()) {
    const where = `storage ${dest.url}`
    const id = (what: string): string => `storage/${i + 1}/${what}`
    // Pages are titled from the destination's root down, whichever part of it a step indexes.
    const open = async (sub: string): Promise<{location: StorageLocation; pages: IndexOptions}> => {
      const base = await openLocation(dest.url, ctx.storage)
      const root = fixPrefix(base.key)
      return {location: {bucket: base.bucket, key: `${root}${sub}`}, pages: {...indexOptions(dest), titleRoot: root}}
    }
    const syncTo = (sub: string): Step => ({
      id: id(sub.slice(0, -1)),
      where,
      check: async (c) => {
        const {location: destination, pages} = await open(sub)
        return (
          await storageSync().sync({source: sourceLocation(ctx), destination, ...pages, dryRun: true, force: ctx.force, signal: c.signal})
        ).actions
      },
      run: async (c) => {
        const {location: destination, pages} = await open(sub)
        await storageSync().sync({source: sourceLocation(ctx), destination, ...pages, dryRun: false, force: ctx.force, signal: c.signal})
      },
    })
    const syncs: Step[] = []
    if (dest.versionPath !== false) syncs.push(syncTo(`${release.board}/${release.version}/`))
    if (dest.namedPath) syncs.push(syncTo(`${release.board}/${dest.namedPath}/`))
    steps.push(...syncs)
    for (const sub of [`${release.board}/`, '']) {
      steps.push({
        id: id(`${sub}index`),
        where,
        check: async (c) => {
          const {location, pages} = await open(sub)
          // A dry index now would list the tree as it is before the syncs above.
          for (const s of syncs)
            if ((await s.check(c)).length > 0) return [`regenerate the index pages of ${location.bucket.urlOf(location.key)}`]
          return (await storageSync().index({location, ...pages, recursive: false, dryRun: true, force: ctx.force, signal: c.signal}))
            .actions
        },
        run: async (c) => {
          const {location, pages} = await open(sub)
          await storageSync().index({location, ...pages, recursive: false, dryRun: false, force: ctx.force, signal: c.signal})
        },
      })
    }
  }
  return steps
}

function sourceLocation(ctx: StageContext): StorageLocation {
  return {bucket: ctx.source.bucket, key: ctx.source.prefix}
}

function indexOptions(dest: DestinationSpec): IndexOptions {
  return {directoryHtml: dest.directoryHtml ?? false, indexHtml: dest.indexHtml ?? false, title: dest.title}
}

export interface IndexDestinationsOptions {
  destinations: readonly DestinationSpec[]
  /** Only below these boards (and the root page); all of the tree when undefined. */
  boards?: readonly string[] | undefined
  storage: StageContext['storage']
  dryRun: boolean
  force: boolean
  signal: AbortSignal
}

/** plume index: regenerates the index pages of destinations (whole trees, or the root and some boards). */
export async function indexDestinations(options: IndexDestinationsOptions): Promise<{url: string; actions: string[]}[]> {
  const out: {url: string; actions: string[]}[] = []
  for (const dest of options.destinations) {
    const base = await openLocation(dest.url, options.storage)
    const root: StorageLocation = {bucket: base.bucket, key: fixPrefix(base.key)}
    const targets = options.boards
      ? [
          ...options.boards.map((b) => ({location: {bucket: root.bucket, key: `${root.key}${b}/`}, recursive: true})),
          {location: root, recursive: false},
        ]
      : [{location: root, recursive: true}]
    const actions: string[] = []
    for (const t of targets) {
      const done = await storageSync().index({
        location: t.location,
        ...indexOptions(dest),
        titleRoot: root.key,
        recursive: t.recursive,
        dryRun: options.dryRun,
        force: options.force,
        signal: options.signal,
      })
      actions.push(...done.actions)
    }
    out.push({url: dest.url, actions})
  }
  return out
}
