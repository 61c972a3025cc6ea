import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BOARDS, createWorld, REGIONS, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {runStage} from './stages.js'

/**
 * The whole requests plume's pre-release makes of EC2 for each board, as the
 * fake EC2 received them at the SDK boundary, against Flatcar's values
 * (each comment names the file of github.com/flatcar/mantle they were read in).
 */
describe('the EC2 requests of a two-board pre-release', () => {
  let root: string
  let world: WorldDescriptor
  const runs = new Map<string, WorldRun>()
  const HOME = REGIONS[0]
  const boards = {
    'amd64-usr': {name: 'Flatcar-test-1.2.3-hvm', description: 'Flatcar Container Linux test 1.2.3 (HVM)', architecture: 'x86_64'},
    'arm64-usr': {
      name: 'Flatcar-test-1.2.3-arm64-hvm',
      description: 'Flatcar Container Linux test 1.2.3 arm64 (HVM)',
      architecture: 'arm64',
    },
  } as const

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'plume-shapes-'))
    world = await createWorld(root, undefined)
    for (const board of BOARDS) runs.set(board, await worldRun(world, {}, {board}))
    for (const board of BOARDS) await runStage('pre-release', runs.get(board)!.options)
  }, 120_000)
  afterAll(async () => {
    for (const run of runs.values()) run.restore()
    if (root) await rm(root, {recursive: true, force: true})
  })

  for (const board of BOARDS) {
    const want = boards[board]

    it(`${board}: RegisterImage, whole`, () => {
      const ec2 = runs.get(board)!.ec2.read()
      const registered = ec2.images.filter((i) => i.request?.command === 'RegisterImage' && i.name === want.name)
      expect(registered.map((i) => i.region)).toEqual([HOME])
      const image = registered[0]!
      expect(image.request!.input).toEqual({
        // cmd/plume/prerelease.go getSpecAWSImageMetadata: <BaseName>-<channel>-<version>[-arm64], registered with "-hvm" and " (HVM)"
        Name: want.name,
        Description: want.description,
        // platform/api/aws/images.go AmiArchForBoard
        Architecture: want.architecture,
        // platform/api/aws/images.go registerImageParams: hvm, uefi-preferred, /dev/xvda root of 16 GiB gp2 (ContainerLinuxDiskSizeGiB), xvdb ephemeral0
        VirtualizationType: 'hvm',
        BootMode: 'uefi-preferred',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [
          {DeviceName: '/dev/xvda', Ebs: {SnapshotId: image.snapshotId, DeleteOnTermination: true, VolumeSize: 16, VolumeType: 'gp2'}},
          {DeviceName: '/dev/xvdb', VirtualName: 'ephemeral0'},
        ],
        // platform/api/aws/images.go CreateHVMImage
        EnaSupport: true,
        SriovNetSupport: 'simple',
        // cmd/plume/prerelease.go awsUploadToPartition tags the AMI Channel and Version (and createImage its Name); here at registration
        TagSpecifications: [
          {
            ResourceType: 'image',
            Tags: [
              {Key: 'Name', Value: want.name},
              {Key: 'created-by', Value: 'mantle'},
              {Key: 'Channel', Value: 'test'},
              {Key: 'Version', Value: '1.2.3'},
            ],
          },
        ],
      })
      // and its snapshot came from this board's import, tagged with the AMI's name, Channel and Version
      const snapshot = ec2.snapshots.find((s) => s.id === image.snapshotId)!
      expect(snapshot.tags).toEqual({Name: want.name, 'created-by': 'mantle', Channel: 'test', Version: '1.2.3'})
      const task = ec2.importTasks.find((t) => t.snapshotId === image.snapshotId)!
      expect(task.key).toBe(`${board}/1.2.3/flatcar_production_ami_image.bin`)
    })

    it(`${board}: CopyImage to every other region, whole, then the copy and its snapshot tagged like the original`, () => {
      const ec2 = runs.get(board)!.ec2.read()
      const source = ec2.images.find((i) => i.region === HOME && i.name === want.name)!
      const sourceSnapshot = ec2.snapshots.find((s) => s.id === source.snapshotId)!
      const copies = ec2.images.filter((i) => i.request?.command === 'CopyImage' && i.name === want.name)
      expect(copies.map((c) => c.region).sort()).toEqual(REGIONS.filter((r) => r !== HOME).sort())
      for (const copy of copies) {
        // platform/api/aws/images.go copyImageIn: SourceRegion, SourceImageId, Name, Description
        expect(copy.request!.input).toEqual({Name: want.name, Description: want.description, SourceImageId: source.id, SourceRegion: HOME})
        // copyImageIn waits for the copy, then CreateTags of the image's tags on the copy and of the snapshot's tags on its snapshot
        expect(copy.state).toBe('available')
        expect(copy.tags).toEqual(source.tags)
        expect(ec2.snapshots.find((s) => s.id === copy.snapshotId)!.tags).toEqual(sourceSnapshot.tags)
        // (each once: the image, then its snapshot)
        const tagged = ec2.writes.filter((w) => w.startsWith(`CreateTags ${copy.region} `))
        expect(tagged.filter((w) => w.endsWith(` ${copy.id}`) || w.endsWith(` ${copy.snapshotId}`))).toEqual([
          `CreateTags ${copy.region} ${copy.id}`,
          `CreateTags ${copy.region} ${copy.snapshotId}`,
        ])
      }
    })
  }
})
