import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Logger, Redactor} from '@mantle/kit'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createWorld, REGIONS, TODAY, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {pruneAws, pruneChannel, SOFT_DELETE_TAG} from './prune.js'

const DAY = 86_400_000
const later = (days: number) => new Date(TODAY.getTime() + days * DAY)

describe('plume prune', () => {
  let dir: string
  let world: WorldDescriptor
  let run: WorldRun
  let warnings: string[]
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-prune-'))
    world = await createWorld(dir, undefined)
    warnings = []
    const stream = {write: (line: string) => void warnings.push(line)} as unknown as NodeJS.WritableStream
    run = await worldRun(world, {logger: new Logger({level: 'warn', stream, redactor: new Redactor()})})
    // Given three amd64 releases of the channel in every region, an arm64 one, one of another channel,
    // and one named like this channel's but tagged for another (Flatcar selects by the Channel tag)
    run.ec2.update((s) => {
      for (const region of REGIONS) {
        const seeds = [
          ['1.0.0', '2026-01-01', 'test', 'x86_64', 'Flatcar-test-1.0.0-hvm'],
          ['1.1.0', '2026-06-01', 'test', 'x86_64', 'Flatcar-test-1.1.0-hvm'],
          ['1.2.0', '2026-11-10', 'test', 'x86_64', 'Flatcar-test-1.2.0-hvm'],
          ['1.0.0a', '2026-01-01', 'test', 'arm64', 'Flatcar-test-1.0.0-arm64-hvm'],
          ['9.0.0', '2026-01-01', 'other', 'x86_64', 'Flatcar-other-9.0.0-hvm'],
          ['8.0.0', '2026-01-01', 'other', 'x86_64', 'Flatcar-test-8.0.0-hvm'],
        ] as const
        for (const [version, created, channel, architecture, name] of seeds) {
          const id = `${region}-${version}`
          s.snapshots.push({id: `snap-${id}`, region, state: 'completed', tags: {Name: name}, volumeUsers: [], public: true})
          s.images.push({
            id: `ami-${id}`,
            region,
            name,
            architecture,
            state: 'available',
            snapshotId: `snap-${id}`,
            tags: {Channel: channel, Version: version},
            launchUsers: [],
            public: true,
            created: `${created}T00:00:00.000Z`,
          })
        }
      }
    })
  })
  afterEach(async () => {
    run.restore()
    await rm(dir, {recursive: true, force: true})
  })

  const prune = (o: {
    days?: number
    keepLast?: number
    daysLastLaunched?: number
    checkLastLaunched?: boolean
    daysSoftDeleted?: number
    dryRun: boolean
    now?: Date
  }) =>
    pruneAws({
      channel: 'test',
      spec: run.options.release.spec.aws!,
      clients: run.options.clouds.aws!,
      now: TODAY,
      logger: run.options.logger,
      signal: run.options.signal,
      ...o,
    })
  const names = (region: string) =>
    run.ec2
      .read()
      .images.filter((i) => i.region === region)
      .map((i) => i.name)
      .sort()

  it('deletes the tagged images older than --days beyond the --keep-last newest of each architecture, with their snapshots', async () => {
    // When pruning to the newest one, and nothing younger than 30 days
    const pruned = await prune({days: 30, keepLast: 1, dryRun: false})
    // Then 1.0.0 and 1.1.0 are gone in every region; 1.2.0, the only arm64 one, and the other channel's (whatever their names) stay
    expect(pruned.map((p) => `${p.region} ${p.name} ${p.action}`).sort()).toEqual(
      REGIONS.flatMap((r) => [`${r} Flatcar-test-1.0.0-hvm deleted`, `${r} Flatcar-test-1.1.0-hvm deleted`]).sort(),
    )
    for (const region of REGIONS)
      expect(names(region)).toEqual([
        'Flatcar-other-9.0.0-hvm',
        'Flatcar-test-1.0.0-arm64-hvm',
        'Flatcar-test-1.2.0-hvm',
        'Flatcar-test-8.0.0-hvm',
      ])
    const left = run.ec2.read()
    expect(left.snapshots).toHaveLength(left.images.length)
  })

  it('keeps images younger than --days even beyond --keep-last', async () => {
    const pruned = await prune({days: 200, dryRun: false})
    expect(pruned.map((p) => p.name).sort()).toEqual(
      REGIONS.flatMap(() => ['Flatcar-test-1.0.0-arm64-hvm', 'Flatcar-test-1.0.0-hvm']).sort(),
    )
  })

  it('--dry-run lists the same images and deletes nothing', async () => {
    const writes = run.ec2.read().writes.length
    const pruned = await prune({keepLast: 1, dryRun: true})
    expect(pruned).toHaveLength(REGIONS.length * 2)
    expect(pruned.every((p) => !p.deleted && p.action === 'would delete')).toBe(true)
    expect(run.ec2.read().writes).toHaveLength(writes)
  })

  it('refuses to run without a limit', async () => {
    await expect(prune({dryRun: true})).rejects.toThrow(/needs --days or --keep-last/)
  })

  it('--days-soft-deleted: first private and tagged, kept within the window, deleted after it', async () => {
    // When pruning with a 7-day soft-delete window
    const first = await prune({days: 30, keepLast: 1, daysSoftDeleted: 7, dryRun: false})
    // Then the due images are soft-deleted: still there, no longer public, tagged with the time
    expect(first.map((p) => p.action)).toEqual(first.map(() => 'soft-deleted'))
    expect(first).toHaveLength(REGIONS.length * 2)
    const soft = run.ec2.read().images.filter((i) => first.some((p) => p.imageId === i.id))
    expect(soft.map((i) => `${i.public} ${i.tags[SOFT_DELETE_TAG]}`)).toEqual(soft.map(() => `false ${TODAY.toISOString()}`))
    expect(run.ec2.read().snapshots).toHaveLength(REGIONS.length * 6)
    // When pruning again 3 days later: nothing changes
    const writes = run.ec2.read().writes.length
    expect(await prune({days: 30, keepLast: 1, daysSoftDeleted: 7, dryRun: false, now: later(3)})).toEqual([])
    expect(run.ec2.read().writes).toHaveLength(writes)
    // When pruning 8 days later: the soft-deleted images and their snapshots are gone
    const second = await prune({days: 30, keepLast: 1, daysSoftDeleted: 7, dryRun: false, now: later(8)})
    expect(second.map((p) => `${p.imageId} ${p.action}`).sort()).toEqual(first.map((p) => `${p.imageId} deleted`).sort())
    for (const region of REGIONS)
      expect(names(region)).toEqual([
        'Flatcar-other-9.0.0-hvm',
        'Flatcar-test-1.0.0-arm64-hvm',
        'Flatcar-test-1.2.0-hvm',
        'Flatcar-test-8.0.0-hvm',
      ])
    expect(run.ec2.read().snapshots).toHaveLength(REGIONS.length * 4)
  })

  it('warns about a snapshot it cannot delete and goes on with the others', async () => {
    // Given 1.0.0's AMI in the first region sharing its snapshot with an AMI that stays (EC2 refuses to delete it)
    run.ec2.update((s) => {
      s.images.push({
        id: 'ami-keeper',
        region: REGIONS[0],
        name: 'keeper',
        state: 'available',
        snapshotId: `snap-${REGIONS[0]}-1.0.0`,
        tags: {},
        launchUsers: [],
        public: false,
        created: '2026-01-01T00:00:00.000Z',
      })
    })
    const pruned = await prune({days: 30, keepLast: 1, dryRun: false})
    // Then every due AMI is deregistered, the shared snapshot is kept with a warning, and every other snapshot is deleted
    expect(pruned.filter((p) => p.action === 'deleted')).toHaveLength(REGIONS.length * 2)
    expect(pruned.filter((p) => p.snapshotErrors).map((p) => `${p.imageId} ${p.snapshotErrors!.join()}`)).toEqual([
      `ami-${REGIONS[0]}-1.0.0 snap-${REGIONS[0]}-1.0.0: ec2 deleteSnapshot: InvalidSnapshot.InUse: The snapshot snap-${REGIONS[0]}-1.0.0 is currently in use by ami-keeper`,
    ])
    expect(warnings.join('')).toContain(`could not delete snapshot snap-${REGIONS[0]}-1.0.0`)
    expect(run.ec2.read().snapshots.map((x) => x.id)).toContain(`snap-${REGIONS[0]}-1.0.0`)
    expect(run.ec2.read().snapshots.map((x) => x.id)).not.toContain(`snap-${REGIONS[1]}-1.0.0`)
  })

  it('--days-last-launched keeps an old image launched within that many days, and deletes one launched before', async () => {
    // Given 1.0.0 launched 5 days ago in one region, and 1.1.0 launched 100 days ago there
    run.ec2.update((s) => {
      for (const i of s.images.filter((i) => i.region === REGIONS[1])) {
        if (i.name === 'Flatcar-test-1.0.0-hvm') i.lastLaunched = '2026-11-16T00:00:00.000Z'
        if (i.name === 'Flatcar-test-1.1.0-hvm') i.lastLaunched = '2026-08-13T00:00:00.000Z'
      }
    })
    const pruned = await prune({days: 30, keepLast: 1, daysLastLaunched: 30, dryRun: false})
    const deleted = REGIONS.flatMap((r) =>
      r === REGIONS[1] ? [`${r} Flatcar-test-1.1.0-hvm`] : [`${r} Flatcar-test-1.0.0-hvm`, `${r} Flatcar-test-1.1.0-hvm`],
    )
    expect(pruned.map((p) => `${p.region} ${p.name}`).sort()).toEqual(deleted.sort())
    expect(names(REGIONS[1])).toContain('Flatcar-test-1.0.0-hvm')
  })

  it('--check-last-launched alone counts launches within --days, and needs a number of days', async () => {
    run.ec2.update((s) => {
      for (const i of s.images) if (i.name === 'Flatcar-test-1.0.0-hvm') i.lastLaunched = '2026-11-01T00:00:00.000Z'
    })
    const pruned = await prune({days: 30, keepLast: 1, checkLastLaunched: true, dryRun: true})
    expect(pruned.map((p) => p.name)).toEqual(REGIONS.map(() => 'Flatcar-test-1.1.0-hvm'))
    await expect(prune({keepLast: 1, checkLastLaunched: true, dryRun: true})).rejects.toThrow(
      /--check-last-launched needs --days-last-launched or --days/,
    )
  })

  it("prunes the channel's old Azure VHD blobs by age, in every container, and no other blob", async () => {
    // Given blobs of this channel (old and new), of another channel, and another file, uploaded 60 days ago or today
    const old = new Date(TODAY.getTime() - 60 * DAY).toISOString()
    run.azure.update((s) => {
      const blob = (container: string, name: string, lastModified: string) => ({
        container,
        blob: name,
        size: 1,
        md5: '',
        complete: true,
        lastModified,
      })
      s.blobs.push(
        blob('publish', 'flatcar-linux-1.0.0-test-amd64.vhd', old),
        blob('mirror', 'flatcar-linux-1.0.0-test-arm64.vhd', old),
        blob('publish', 'flatcar-linux-1.2.0-test-amd64.vhd', TODAY.toISOString()),
        blob('publish', 'flatcar-linux-1.0.0-other-amd64.vhd', old),
        blob('publish', 'notes-test.txt', old),
      )
    })
    // When the channel is pruned with --days 30
    const {images, blobs} = await pruneChannel({
      channel: 'test',
      spec: run.options.release.spec,
      clouds: run.options.clouds,
      days: 30,
      keepLast: 1,
      dryRun: false,
      now: TODAY,
      logger: run.options.logger,
      signal: run.options.signal,
    })
    // Then the AMIs and the old blobs of this channel are gone, and nothing else
    expect(images).toHaveLength(REGIONS.length * 2)
    expect(blobs.map((b) => `${b.container}/${b.blob} ${b.action}`).sort()).toEqual([
      'mirror/flatcar-linux-1.0.0-test-arm64.vhd deleted',
      'publish/flatcar-linux-1.0.0-test-amd64.vhd deleted',
    ])
    expect(
      run.azure
        .read()
        .blobs.map((b) => `${b.container}/${b.blob}`)
        .sort(),
    ).toEqual(['publish/flatcar-linux-1.0.0-other-amd64.vhd', 'publish/flatcar-linux-1.2.0-test-amd64.vhd', 'publish/notes-test.txt'])
  })
})
