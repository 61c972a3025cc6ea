import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {useLocalWorld} from '../testing/use-world.js'
import {endState, REGIONS} from '../testing/world.js'
import {planStages, runStage} from './stages.js'

/** Flatcar's -P/--partition and -Z/--private, on local storage with the fake control planes. */
describe('plume -P/--partition and -Z/--private', () => {
  // Given a channel with two partitions: AWS in two regions, AWS-EU in the third
  const t = useLocalWorld('plume-scope-', async (world) => {
    const config = join(world.dir, 'channels.yaml')
    const yaml = (await readFile(config, 'utf8')).replace(
      `regions: [${REGIONS.join(', ')}]`,
      `regions: [${REGIONS[0]}, ${REGIONS[1]}]\n        - name: AWS-EU\n          bucket: staging\n          bucketRegion: ${REGIONS[2]}\n          regions: [${REGIONS[2]}]`,
    )
    await writeFile(config, yaml)
  })

  it('-P works on the named partition only and leaves the AMI lists, which cover every partition, alone', async () => {
    // When pre-release runs on AWS-EU
    const result = await runStage('pre-release', {...t.run.options, platforms: ['aws'], partition: 'AWS-EU'})
    // Then only AWS-EU's steps ran, and only its region has the AMI
    expect(result.actions.map((a) => a.id)).toEqual([`aws/AWS-EU/${REGIONS[2]}/upload`, `aws/AWS-EU/${REGIONS[2]}/image`])
    expect(t.run.ec2.read().images.map((i) => i.region)).toEqual([REGIONS[2]])
    expect((await endState(t.world)).source.filter((l) => l.startsWith('flatcar_production_ami_') && !l.includes('image.bin'))).toEqual([])
    // and plan on that partition has no pre-release work left, and on AWS only that partition's AMI to publish
    const plan = await planStages({...t.run.options, platforms: ['aws'], partition: 'AWS-EU'})
    expect(plan.map((s) => s.actions.map((a) => a.id).filter((id) => id.startsWith('aws/')))).toEqual([
      [],
      [`aws/AWS-EU/${REGIONS[2]}/publish`],
    ])
    expect(plan[0]!.actions).toEqual([])
  })

  it('-P with a partition the channel lacks is a usage error naming the ones it has', async () => {
    await expect(runStage('pre-release', {...t.run.options, partition: 'AWS-CN'})).rejects.toThrow(
      `channel "test" in ${join(t.dir, 'channels.yaml')} has no aws partition "AWS-CN"`,
    )
    await expect(runStage('pre-release', {...t.run.options, partition: 'AWS-CN'}).catch((e: {hint?: string}) => e.hint)).resolves.toBe(
      'partitions: AWS, AWS-EU',
    )
  })

  it('-Z: release makes nothing public but syncs the destinations, and plan with -Z has nothing left', async () => {
    // When pre-release and release run private
    await runStage('pre-release', {...t.run.options, private: true})
    const release = await runStage('release', {...t.run.options, private: true})
    // Then no image or snapshot is public, no gallery shared, and the destinations hold the release
    expect(release.actions.map((a) => a.id).filter((id) => !id.startsWith('storage'))).toEqual([])
    const state = await endState(t.world)
    expect(state.ec2.images.filter((l) => l.includes('public=true'))).toEqual([])
    expect(state.ec2.snapshots.filter((l) => l.includes('public=true'))).toEqual([])
    expect(state.azure.filter((l) => l.startsWith('shared'))).toEqual([])
    expect(state.destinations.every((tree) => tree.some((l) => l.startsWith('amd64-usr/current/flatcar_production_image.bin.bz2 ')))).toBe(
      true,
    )
    // and plan with -Z says nothing is left, while plan without it lists the sharing still to do
    expect((await planStages({...t.run.options, private: true})).map((s) => s.actions)).toEqual([[], []])
    const open = await planStages(t.run.options)
    expect(open[1]!.actions.map((a) => a.id).sort()).toEqual(
      ['azure/AzurePublicCloud/share', ...REGIONS.map((r) => `aws/${r === REGIONS[2] ? 'AWS-EU' : 'AWS'}/${r}/publish`)].sort(),
    )
  })
})
