import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createWorld, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {indexDestinations} from './destinations.js'
import {runStage} from './stages.js'

describe('indexDestinations (plume index)', () => {
  let dir: string
  let world: WorldDescriptor
  let run: WorldRun
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-index-'))
    world = await createWorld(dir, undefined)
    run = await worldRun(world)
    await runStage('pre-release', run.options)
    await runStage('release', run.options)
  })
  afterAll(async () => {
    run?.restore()
    await rm(dir, {recursive: true, force: true})
  })

  const index = (o: {dryRun: boolean; boards?: string[]}) =>
    indexDestinations({
      destinations: run.options.release.spec.destinations ?? [],
      storage: run.options.storage,
      force: false,
      signal: run.options.signal,
      ...o,
    })

  it('has nothing to do right after a release', async () => {
    expect((await index({dryRun: true})).map((d) => d.actions)).toEqual([[], []])
  })

  it('rewrites a missing index page, in a dry run first', async () => {
    // Given a destination whose board page was removed
    await rm(join(dir, 'pub', 'amd64-usr', 'index.html'))
    // When indexing dry / Then the page is named and nothing is written
    const dry = await index({dryRun: true, boards: ['amd64-usr']})
    expect(dry[0]?.actions).toEqual([`write index page file://${join(dir, 'pub', 'amd64-usr', 'index.html')}`])
    expect(await readdir(join(dir, 'pub', 'amd64-usr'))).not.toContain('index.html')
    // When indexing for real / Then it is back, and the other destination was not touched
    const done = await index({dryRun: false})
    expect(done.map((d) => d.actions.length)).toEqual([1, 0])
    expect(await readdir(join(dir, 'pub', 'amd64-usr'))).toContain('index.html')
  })
})
