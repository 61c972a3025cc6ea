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
  for (const dest of release.spec.destinations ?? []) {
    const where = `storage ${dest.url}`
    const open = async (sub: string): Promise<StorageLocation> => {
      const base = await openLocation(dest.url, ctx.storage)
      return {bucket: base.bucket, key: `${fixPrefix(base.key)}${sub}`}
    }
    const pages = (location: StorageLocation): IndexOptions => indexOptions(dest, location)
    const syncTo = (sub: string): Step => ({
      id: `storage/${dest.url}/${sub}`,
      where,
      check: async (c) => {
        const destination = await open(sub)
        return (await storageSync().sync({source: sourceLocation(ctx), destination, ...pages(destination), dryRun: true, force: ctx.force, signal: c.signal})).actions
      },
      run: async (c) => {
        const destination = await open(sub)
        await storageSync().sync({source: sourceLocation(ctx), destination, ...pages(destination), dryRun: false, force: ctx.force, signal: c.signal})
      },
    })
    const syncs: Step[] = []
    if (dest.versionPath !== false) syncs.push(syncTo(`${release.board}/${release.version}/`))
    if (dest.namedPath) syncs.push(syncTo(`${release.board}/${dest.namedPath}/`))
    steps.push(...syncs)
    for (const sub of [`${release.board}/`, '']) {
      steps.push({
        id: `storage/${dest.url}/${sub || '.'}index`,
        where,
        check: async (c) => {
          // A dry index now would list the tree as it is before the syncs above.
          for (const s of syncs) if ((await s.check(c)).length > 0) return [`regenerate the index pages of ${(await open(sub)).bucket.urlOf((await open(sub)).key)}`]
          const location = await open(sub)
          return (await storageSync().index({location, ...pages(location), dryRun: true, force: ctx.force, signal: c.signal})).actions
        },
        run: async (c) => {
          const location = await open(sub)
          await storageSync().index({location, ...pages(location), dryRun: false, force: ctx.force, signal: c.signal})
        },
      })
    }
  }
  return steps
}

function sourceLocation(ctx: StageContext): StorageLocation {
  return {bucket: ctx.source.bucket, key: ctx.source.prefix}
}

function indexOptions(dest: DestinationSpec, location: StorageLocation): IndexOptions {
  return {directoryHtml: dest.directoryHtml ?? false, indexHtml: dest.indexHtml ?? false, title: dest.title ?? location.bucket.name}
}
