import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {openLocation} from '@mantle/kit'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  BOARDS,
  cloudWrites,
  createWorld,
  emulatorEnv,
  endState,
  IMAGES,
  objectVersions,
  REGIONS,
  removeWorldObjects,
  storageOf,
  urlsOf,
  worldRun,
  type EmulatorEnv,
  type WorldDescriptor,
  type WorldRun,
} from '../testing/world.js'
import {imageList, planStages, runStage, type StageName, type StageResult} from './stages.js'
import {readText} from './text.js'

const md5 = async (file: string) =>
  createHash('md5')
    .update(await readFile(file))
    .digest('hex')

/**
 * A release of a channel with two boards, as Flatcar's: amd64-usr on AWS,
 * Azure and GCE, arm64-usr on AWS and Azure; pre-release and release run
 * once per board, in Flatcar's order. Every cloud must end with one image
 * per board (GCE: amd64 only), each made from its own board's bytes.
 */
function suite(name: string, emulators: EmulatorEnv | undefined): void {
  describe(`a two-board release end to end (${name})`, () => {
    let root: string
    let world: WorldDescriptor
    const runs = new Map<string, WorldRun>()
    const results: StageResult[] = []
    const order: [StageName, string][] = [
      ['pre-release', 'amd64-usr'],
      ['pre-release', 'arm64-usr'],
      ['release', 'amd64-usr'],
      ['release', 'arm64-usr'],
    ]

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'plume-2b-'))
      world = await createWorld(root, emulators)
      // One fake EC2 (the SDK mock is process-wide): the arm64 run reads the same state files.
      for (const board of BOARDS) runs.set(board, await worldRun(world, {}, {board}))
      for (const [stage, board] of order) results.push(await runStage(stage, runs.get(board)!.options))
    }, 300_000)
    afterAll(async () => {
      for (const run of runs.values()) run.restore()
      if (world) await removeWorldObjects(world)
      if (root) await rm(root, {recursive: true, force: true})
    })

    it('registers one AMI per board in every region, named and described as Flatcar does, each public', async () => {
      const ec2 = runs.get('amd64-usr')!.ec2.read()
      for (const region of REGIONS) {
        const here = ec2.images
          .filter((i) => i.region === region)
          .map((i) => `${i.name} ${i.architecture} ${i.description} public=${i.public}`)
        expect(here.sort()).toEqual([
          'Flatcar-test-1.2.3-arm64-hvm arm64 Flatcar Container Linux test 1.2.3 arm64 (HVM) public=true',
          'Flatcar-test-1.2.3-hvm x86_64 Flatcar Container Linux test 1.2.3 (HVM) public=true',
        ])
      }
      // and each board's AMI came from its own board's staged image
      expect(ec2.importTasks.map((t) => t.key).sort()).toEqual(BOARDS.map((b) => `${b}/1.2.3/flatcar_production_ami_image.bin`))
      expect(new Set(ec2.snapshots.map((s) => s.id)).size).toBe(REGIONS.length * BOARDS.length)
    })

    it("writes each board's AMI lists next to its source, naming only that board's AMIs", async () => {
      const ec2 = runs.get('amd64-usr')!.ec2.read()
      for (const board of BOARDS) {
        const name = board === 'arm64-usr' ? 'Flatcar-test-1.2.3-arm64-hvm' : 'Flatcar-test-1.2.3-hvm'
        const mine = Object.fromEntries(ec2.images.filter((i) => i.name === name).map((i) => [i.region, i.id]))
        const all = JSON.parse(await readSource(world, board, 'flatcar_production_ami_all.json')) as {amis: {name: string; hvm: string}[]}
        expect({board, amis: all.amis}).toEqual({board, amis: [...REGIONS].sort().map((r) => ({name: r, hvm: mine[r]}))})
        for (const region of REGIONS)
          expect(await readSource(world, board, `flatcar_production_ami_hvm_${region}.txt`)).toBe(`${mine[region]}\n`)
        const list = await imageList(runs.get(board)!.options)
        expect(list.aws?.amis).toEqual(all.amis)
      }
    })

    it("uploads each board's VHD under Flatcar's blob name, with an image and an Arm64 or x64 gallery definition of its own", async () => {
      const azure = runs.get('amd64-usr')!.azure.read()
      const cache = (board: string) => join(world.dir, 'cache', world.channel, board, world.version, IMAGES.azure.replace(/\.bz2$/, ''))
      expect(
        azure.blobs
          .filter((b) => b.container === 'publish')
          .map((b) => `${b.blob} ${b.md5}`)
          .sort(),
      ).toEqual([
        `flatcar-linux-1.2.3-test-amd64.vhd ${await md5(cache('amd64-usr'))}`,
        `flatcar-linux-1.2.3-test-arm64.vhd ${await md5(cache('arm64-usr'))}`,
      ])
      expect(new Set(azure.blobs.map((b) => b.md5)).size).toBe(2)
      expect(azure.images.map((i) => `${i.name} ${i.blobUrl.split('/').pop()}`).sort()).toEqual([
        'flatcar-linux-1.2.3-test-amd64 flatcar-linux-1.2.3-test-amd64.vhd',
        'flatcar-linux-1.2.3-test-arm64 flatcar-linux-1.2.3-test-arm64.vhd',
      ])
      expect(azure.definitions.map((d) => `${d.name} ${d.architecture} ${d.identifier.sku}`).sort()).toEqual([
        'flatcar-linux x64 test',
        'flatcar-linux-arm64 Arm64 test-arm64',
      ])
      expect(
        azure.galleryVersions.map((v) => `${v.definition}/${v.version} ${v.blobUrl.split('/').pop()} ${v.regions.join(',')}`).sort(),
      ).toEqual([
        'flatcar-linux-arm64/1.2.3 flatcar-linux-1.2.3-test-arm64.vhd westeurope,northeurope',
        'flatcar-linux/1.2.3 flatcar-linux-1.2.3-test-amd64.vhd westeurope,northeurope',
      ])
      expect(azure.galleries.map((g) => `${g.name} ${g.permissions} shared=${g.communityEnabled}`)).toEqual([
        'flatcar_test Community shared=true',
      ])
    })

    it('leaves arm64 out of GCE, as Flatcar publishes GCE for amd64 only', async () => {
      const arm64 = results.filter((r) => r.board === 'arm64-usr')
      expect(arm64.flatMap((r) => [...r.actions.map((a) => a.id), ...r.done]).filter((id) => id.startsWith('gce/'))).toEqual([])
      if (!emulators) return
      const gce = runs.get('amd64-usr')!.gce.read()
      expect(gce.images.map((i) => `${i.name} ${i.architecture} ${i.status} public=${i.public}`)).toEqual([
        'flatcar-test-1-2-3 X86_64 READY public=true',
      ])
      // and the image was made from the bytes that verified, not from the source object
      const verified = join(world.dir, 'cache', world.channel, 'amd64-usr', world.version, IMAGES.gce)
      expect(gce.images[0]!.sourceMd5).toBe(await md5(verified))
      expect(gce.images[0]!.sourceUri).toBe(`gs://${emulators.gcs.bucket}/${world.run}/gce-staging/test/amd64-usr/1.2.3/${IMAGES.gce}`)
      expect((await endState(world)).staging).toEqual([])
    })

    it('a second run of every stage of every board has nothing to do and writes nothing', async () => {
      const versions = await objectVersions(world)
      const writes = cloudWrites(runs.get('amd64-usr')!)
      for (const [stage, board] of order) {
        const again = await runStage(stage, runs.get(board)!.options)
        expect({stage, board, actions: again.actions}).toEqual({stage, board, actions: []})
      }
      for (const board of BOARDS) expect((await planStages(runs.get(board)!.options)).map((p) => p.actions)).toEqual([[], []])
      expect(cloudWrites(runs.get('amd64-usr')!)).toEqual(writes)
      expect(await objectVersions(world)).toEqual(versions)
    })
  })
}

async function readSource(world: WorldDescriptor, board: string, file: string): Promise<string> {
  const {bucket, key} = await openLocation(`${urlsOf(world).source}/${board}/${world.version}/${file}`, storageOf(world))
  return (await readText(bucket, key)) ?? ''
}

suite('local directories', undefined)
const emulators = emulatorEnv(process.env)
if (process.env.CI && !emulators)
  throw new Error('CI is set but the storage emulators are missing (scripts/services/{radosgw,azurite,gcs}.sh start)')
if (emulators) suite('source on GCS; destinations on S3, Azure, GCS and a directory', emulators)
else describe.skip('a two-board release end to end (emulators): not running', () => it('skipped', () => undefined))
