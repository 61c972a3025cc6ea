import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createWorld, REGIONS, TODAY, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {pruneAws} from './prune.js'

describe('pruneAws', () => {
  let dir: string
  let world: WorldDescriptor
  let run: WorldRun
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-prune-'))
    world = await createWorld(dir, undefined)
    run = await worldRun(world)
    // Given three releases of the channel in every region, and one of another channel
    run.ec2.update((s) => {
      for (const region of REGIONS) {
        for (const [version, created] of [['1.0.0', '2026-01-01'], ['1.1.0', '2026-06-01'], ['1.2.0', '2026-11-10'], ['9.0.0', '2026-01-01']] as const) {
          const name = version === '9.0.0' ? `Flatcar-other-${version}` : `Flatcar-test-${version}`
          const id = `${region}-${version}`
          s.snapshots.push({id: `snap-${id}`, region, state: 'completed', tags: {}, volumeUsers: [], public: true})
          s.images.push({id: `ami-${id}`, region, name, state: 'available', snapshotId: `snap-${id}`, tags: {}, launchUsers: [], public: true, created: `${created}T00:00:00.000Z`})
        }
      }
    })
  })
  afterEach(async () => {
    run.restore()
    await rm(dir, {recursive: true, force: true})
  })

  const prune = (o: {days?: number; keepLast?: number; daysLastLaunched?: number; checkLastLaunched?: boolean; dryRun: boolean}) =>
    pruneAws({channel: 'test', spec: run.options.release.spec.aws!, clients: run.options.clouds.aws!, now: TODAY, logger: run.options.logger, signal: run.options.signal, ...o})

  it('deletes the images older than --days beyond the --keep-last newest, with their snapshots', async () => {
    // When pruning to the newest one, and nothing younger than 30 days
    const pruned = await prune({days: 30, keepLast: 1, dryRun: false})
    // Then 1.0.0 and 1.1.0 are gone in every region, 1.2.0 and the other channel stay
    expect(pruned.map((p) => `${p.region} ${p.name}`).sort()).toEqual(REGIONS.flatMap((r) => [`${r} Flatcar-test-1.0.0`, `${r} Flatcar-test-1.1.0`]).sort())
    const left = run.ec2.read()
    expect(left.images.map((i) => i.name).sort()).toEqual(REGIONS.flatMap(() => ['Flatcar-other-9.0.0', 'Flatcar-test-1.2.0']).sort())
    expect(left.snapshots).toHaveLength(left.images.length)
  })

  it('keeps images younger than --days even beyond --keep-last', async () => {
    const pruned = await prune({days: 200, dryRun: false})
    expect(pruned.map((p) => p.name)).toEqual(REGIONS.map(() => 'Flatcar-test-1.0.0'))
  })

  it('--dry-run lists the same images and deletes nothing', async () => {
    const writes = run.ec2.read().writes.length
    const pruned = await prune({keepLast: 1, dryRun: true})
    expect(pruned).toHaveLength(REGIONS.length * 2)
    expect(pruned.every((p) => !p.deleted)).toBe(true)
    expect(run.ec2.read().writes).toHaveLength(writes)
  })

  it('refuses to run without a limit', async () => {
    await expect(prune({dryRun: true})).rejects.toThrow(/needs --days or --keep-last/)
  })

  it('--days-last-launched keeps an old image launched within that many days, and deletes one launched before', async () => {
    // Given 1.0.0 launched 5 days ago in one region, and 1.1.0 launched 100 days ago there
    run.ec2.update((s) => {
      for (const i of s.images.filter((i) => i.region === REGIONS[1])) {
        if (i.name === 'Flatcar-test-1.0.0') i.lastLaunched = '2026-11-16T00:00:00.000Z'
        if (i.name === 'Flatcar-test-1.1.0') i.lastLaunched = '2026-08-13T00:00:00.000Z'
      }
    })
    // When pruning to the newest one, keeping what was launched in the last 30 days
    const pruned = await prune({days: 30, keepLast: 1, daysLastLaunched: 30, dryRun: false})
    // Then that region keeps 1.0.0, and everything else old is gone
    const deleted = REGIONS.flatMap((r) => (r === REGIONS[1] ? [`${r} Flatcar-test-1.1.0`] : [`${r} Flatcar-test-1.0.0`, `${r} Flatcar-test-1.1.0`]))
    expect(pruned.map((p) => `${p.region} ${p.name}`).sort()).toEqual(deleted.sort())
    expect(run.ec2.read().images.filter((i) => i.region === REGIONS[1]).map((i) => i.name).sort()).toEqual(['Flatcar-other-9.0.0', 'Flatcar-test-1.0.0', 'Flatcar-test-1.2.0'])
  })

  it('--check-last-launched alone counts launches within --days, and needs a number of days', async () => {
    run.ec2.update((s) => {
      for (const i of s.images) if (i.name === 'Flatcar-test-1.0.0') i.lastLaunched = '2026-11-01T00:00:00.000Z'
    })
    const pruned = await prune({days: 30, keepLast: 1, checkLastLaunched: true, dryRun: true})
    expect(pruned.map((p) => p.name)).toEqual(REGIONS.map(() => 'Flatcar-test-1.1.0'))
    await expect(prune({keepLast: 1, checkLastLaunched: true, dryRun: true})).rejects.toThrow(/--check-last-launched needs --days-last-launched or --days/)
  })
})
