import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  BOARDS,
  createWorld,
  emulatorEnv,
  endState,
  REGIONS,
  removeWorldObjects,
  worldRun,
  type EmulatorEnv,
  type WorldDescriptor,
  type WorldRun,
} from '../testing/world.js'
import {planStages, runStage, type StageName} from './stages.js'

/**
 * `--force` on a version that is already released: every cloud image of
 * both boards is made again (in every region and project), and the fakes
 * hold exactly one of each afterwards: no AMI, snapshot, image, gallery
 * version or staged object of the first build is left behind.
 */
function suite(name: string, emulators: EmulatorEnv | undefined): void {
  describe(`--force on a released two-board version (${name})`, () => {
    let root: string
    let world: WorldDescriptor
    const runs = new Map<string, WorldRun>()
    const order: [StageName, string][] = [
      ['pre-release', 'amd64-usr'],
      ['pre-release', 'arm64-usr'],
      ['release', 'amd64-usr'],
      ['release', 'arm64-usr'],
    ]
    const releaseAll = async (force: boolean) => {
      for (const [stage, board] of order) await runStage(stage, {...runs.get(board)!.options, force})
    }

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'plume-force-'))
      world = await createWorld(root, emulators)
      for (const board of BOARDS) runs.set(board, await worldRun(world, {}, {board}))
      // Given the version released once
      await releaseAll(false)
    }, 300_000)
    afterAll(async () => {
      for (const run of runs.values()) run.restore()
      if (world) await removeWorldObjects(world)
      if (root) await rm(root, {recursive: true, force: true})
    })

    it('replaces every image of every board everywhere and leaves no orphan', async () => {
      const fakes = runs.get('amd64-usr')!
      const before = {ec2: fakes.ec2.read(), azure: fakes.azure.read(), gce: fakes.gce.read()}
      const writes = {ec2: before.ec2.writes.length, azure: before.azure.writes.length, gce: before.gce.writes.length}
      // When pre-release and release run again with --force
      await releaseAll(true)
      const after = {ec2: fakes.ec2.read(), azure: fakes.azure.read(), gce: fakes.gce.read()}
      // Then no AMI or snapshot of the first build is left, and each region has exactly one AMI per board, public, with its own snapshot
      const ids = (xs: {id: string}[]) => xs.map((x) => x.id)
      expect(ids(after.ec2.images).filter((id) => ids(before.ec2.images).includes(id))).toEqual([])
      expect(ids(after.ec2.snapshots).filter((id) => ids(before.ec2.snapshots).includes(id))).toEqual([])
      expect(after.ec2.images).toHaveLength(REGIONS.length * BOARDS.length)
      expect(after.ec2.snapshots.map((s) => s.id).sort()).toEqual(after.ec2.images.map((i) => i.snapshotId).sort())
      expect(after.ec2.images.every((i) => i.public && i.state === 'available')).toBe(true)
      // (the first build's were deregistered and deleted, every one of them)
      const deregistered = after.ec2.writes.slice(writes.ec2).filter((w) => w.startsWith('DeregisterImage'))
      expect(deregistered).toHaveLength(REGIONS.length * BOARDS.length)
      expect(after.ec2.writes.slice(writes.ec2).filter((w) => w.startsWith('DeleteSnapshot'))).toHaveLength(REGIONS.length * BOARDS.length)
      // and Azure has made the images and gallery versions again from re-uploaded blobs, one of each per board
      const azureWrites = after.azure.writes.slice(writes.azure)
      for (const arch of ['amd64', 'arm64']) {
        expect(azureWrites).toContain(`deleteImage flatcar flatcar-linux-1.2.3-test-${arch}`)
        expect(azureWrites).toContain(`createImage flatcar flatcar-linux-1.2.3-test-${arch}`)
        expect(azureWrites).toContain(`uploadPages publish/flatcar-linux-1.2.3-test-${arch}.vhd`)
      }
      expect(azureWrites.filter((w) => w.startsWith('deleteGalleryImageVersion'))).toEqual([
        'deleteGalleryImageVersion flatcar_test/flatcar-linux/1.2.3',
        'deleteGalleryImageVersion flatcar_test/flatcar-linux-arm64/1.2.3',
      ])
      expect(after.azure.images).toHaveLength(2)
      expect(after.azure.galleryVersions).toHaveLength(2)
      expect(after.azure.blobs).toHaveLength(4)
      // and GCE has made its one image again, public, with nothing staged left
      if (emulators) {
        expect(after.gce.writes.slice(writes.gce).filter((w) => /^(deleteImage|createImage|makePublic)/.test(w))).toEqual([
          'deleteImage plume-test flatcar-test-1-2-3',
          'createImage plume-test flatcar-test-1-2-3',
          'makePublic plume-test flatcar-test-1-2-3',
        ])
        expect(after.gce.images.map((i) => `${i.name} ${i.status} public=${i.public}`)).toEqual(['flatcar-test-1-2-3 READY public=true'])
      }
      expect((await endState(world)).staging).toEqual([])
      // and without --force there is nothing left to do
      for (const board of BOARDS) expect((await planStages(runs.get(board)!.options)).map((p) => p.actions)).toEqual([[], []])
    }, 300_000)
  })
}

suite('local directories', undefined)
const emulators = emulatorEnv(process.env)
if (process.env.CI && !emulators)
  throw new Error('CI is set but the storage emulators are missing (scripts/services/{radosgw,azurite,gcs}.sh start)')
if (emulators) suite('source on GCS; destinations on S3, Azure, GCS and a directory', emulators)
else describe.skip('--force on a released two-board version (emulators): not running', () => it('skipped', () => undefined))
