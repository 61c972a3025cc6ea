import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createWorld, endState, GRANTEE, REGIONS, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {imageList, runStage} from './stages.js'

describe('pre-release on local storage with fake control planes', () => {
  let dir: string
  let world: WorldDescriptor
  let run: WorldRun
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-pre-'))
    world = await createWorld(dir, undefined)
    run = await worldRun(world)
  })
  afterEach(async () => {
    run.restore()
    await rm(dir, {recursive: true, force: true})
  })

  it('registers the AMI in every region, shares it with the listed account only, writes the AMI lists, leaves no staged object', async () => {
    // Given a signed build in the source / When pre-release runs
    const result = await runStage('pre-release', run.options)
    // Then every step had work but the clean-up of the staged object, which the upload already did
    expect(result.done).toEqual(['aws/AWS/us-east-1/staged-object'])
    const state = await endState(world)
    // and each region has one AMI, shared with the grantee, not public
    expect(state.ec2.images).toHaveLength(REGIONS.length)
    for (const line of state.ec2.images)
      expect(line).toMatch(new RegExp(`Flatcar-test-1\\.2\\.3-hvm available public=false users=${GRANTEE}`))
    expect(state.ec2.snapshots.every((s) => s.includes('public=false'))).toBe(true)
    expect(state.staging).toEqual([])
    // and the AMI lists sit next to the source
    const lists = state.source
      .map((l) => l.split(' ')[0]!)
      .filter((f) => f.startsWith('flatcar_production_ami_') && !f.includes('image.bin'))
    expect(lists.sort()).toEqual(
      ['all.json', 'all.txt', 'hvm.txt', ...REGIONS.flatMap((r) => [`hvm_${r}.txt`, `${r}.txt`])]
        .map((f) => `flatcar_production_ami_${f}`)
        .sort(),
    )
    // and Azure has the blob, its copy, the image and the gallery version, but nothing is shared
    expect(state.azure).toEqual([
      'blob mirror/flatcar-linux-1.2.3-test-amd64.vhd 65536 complete=true',
      'blob publish/flatcar-linux-1.2.3-test-amd64.vhd 65536 complete=true',
      'definition flatcar_test/flatcar-linux x64 test',
      'image flatcar/flatcar-linux-1.2.3-test-amd64',
      'version flatcar_test/flatcar-linux/1.2.3 westeurope,northeurope',
    ])
    // and the image list names one AMI per region
    const list = await imageList(run.options)
    expect(list.aws?.amis.map((a) => a.name)).toEqual([...REGIONS].sort())
    expect(list.azure).toEqual({image: 'flatcar-linux-1.2.3-test-amd64', blob: 'flatcar-linux-1.2.3-test-amd64.vhd'})
  })

  it('with azure.sasUrlDays the image list carries a read-only SAS URL of the blob per environment, valid that long', async () => {
    // Given a channel asking for SAS URLs valid 30 days
    run.restore()
    const config = join(dir, 'channels.yaml')
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('      gallery: flatcar_test\n', '      gallery: flatcar_test\n      sasUrlDays: 30\n'),
    )
    run = await worldRun(world)
    await runStage('pre-release', run.options)
    // When the image list is made
    const list = await imageList(run.options)
    // Then it names the blob and a read-only URL of it expiring in 30 days
    expect(list.azure).toEqual({
      image: 'flatcar-linux-1.2.3-test-amd64',
      blob: 'flatcar-linux-1.2.3-test-amd64.vhd',
      sasUrls: {
        AzurePublicCloud:
          'https://flatcartest.blob.core.windows.net/publish/flatcar-linux-1.2.3-test-amd64.vhd?sp=r&se=2026-12-21T12:00:00.000Z&sig=fake',
      },
    })
  })

  it('a second run writes nothing', async () => {
    await runStage('pre-release', run.options)
    const before = await endState(world)
    const writes = {ec2: run.ec2.read().writes.length, azure: run.azure.read().writes.length}
    // When pre-release runs again
    const again = await runStage('pre-release', run.options)
    // Then no step had anything to do, and no cloud or storage write happened
    expect(again.actions).toEqual([])
    expect(run.ec2.read().writes.length).toBe(writes.ec2)
    expect(run.azure.read().writes.length).toBe(writes.azure)
    expect(await endState(world)).toEqual(before)
  })

  it('--dry-run lists the actions and writes nothing', async () => {
    const result = await runStage('pre-release', {...run.options, dryRun: true})
    expect(result.actions.map((a) => a.id)).toContain('aws/AWS/us-east-1/image')
    expect(run.ec2.read().writes).toEqual([])
    expect(run.azure.read().writes).toEqual([])
  })

  it("copies to the partition's other regions at the same time, and skips a region that has the AMI", async () => {
    // Given a fake EC2 whose CopyImage answers only once every copy it expects has been asked for
    run.restore()
    const others = REGIONS.filter((r) => r !== REGIONS[0])
    const asked: string[] = []
    let release: () => void = () => undefined
    const allAsked = new Promise<void>((resolve) => (release = resolve))
    run = await worldRun(
      world,
      {},
      {
        beforeCopy: async (region) => {
          asked.push(region)
          if (asked.length === others.length) release()
          await allAsked
        },
      },
    )
    // When pre-release runs (copied one after another, the first copy would wait forever)
    await runStage('pre-release', run.options)
    // Then both copies were in flight together, and every region has the AMI
    expect(asked.sort()).toEqual([...others].sort())
    expect((await endState(world)).ec2.images).toHaveLength(REGIONS.length)

    // Given a world where one region already has the AMI (a copy of an earlier, killed run)
    run.restore()
    await rm(join(dir, 'ec2.json'))
    asked.length = 0
    run = await worldRun(world, {}, {beforeCopy: async (region) => void asked.push(region)})
    run.ec2.update((s) => {
      s.snapshots.push({id: 'snap-earlier', region: REGIONS[2], state: 'completed', tags: {}, volumeUsers: [], public: false})
      s.images.push({
        id: 'ami-earlier',
        region: REGIONS[2],
        name: 'Flatcar-test-1.2.3-hvm',
        state: 'available',
        snapshotId: 'snap-earlier',
        tags: {},
        launchUsers: [],
        public: false,
      })
    })
    // When pre-release runs
    await runStage('pre-release', run.options)
    // Then only the region without it was copied to, and the earlier AMI is the one that region keeps
    expect(asked).toEqual([REGIONS[1]])
    expect(
      run.ec2
        .read()
        .images.filter((i) => i.region === REGIONS[2])
        .map((i) => i.id),
    ).toEqual(['ami-earlier'])
  }, 30_000)
})
