import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openLocation} from '@mantle/kit'

import {
  cloudWrites,
  createWorld,
  removeWorldObjects,
  emulatorEnv,
  endState,
  objectVersions,
  REGIONS,
  storageOf,
  urlsOf,
  worldRun,
  type EmulatorEnv,
  type WorldDescriptor,
  type WorldRun,
} from '../testing/world.js'
import {imageList, planStages, runStage} from './stages.js'
import {readText} from './text.js'

/** The objects each destination must hold after a release: both copies of the release and the index pages. */
function expectedTree(sourceFiles: string[], directoryHtml: boolean): string[] {
  const dirs = ['', 'amd64-usr/', 'amd64-usr/1.2.3/', 'amd64-usr/current/']
  // With directory HTML each directory p gets p/ (its listing) and p (a redirect); the root's redirect lies outside the tree.
  const pages = dirs.flatMap((d) => [`${d}index.html`, ...(directoryHtml ? (d === '' ? [''] : [d, d.slice(0, -1)]) : [])])
  return [...pages, ...['amd64-usr/1.2.3/', 'amd64-usr/current/'].flatMap((d) => sourceFiles.map((f) => d + f))].sort()
}

function suite(name: string, emulators: EmulatorEnv | undefined): void {
  describe(`pre-release and release end to end (${name})`, () => {
    let root: string
    let world: WorldDescriptor
    let run: WorldRun
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'plume-e2e-'))
      world = await createWorld(root, emulators)
      run = await worldRun(world)
    })
    afterAll(async () => {
      run?.restore()
      if (world) await removeWorldObjects(world)
      if (root) await rm(root, {recursive: true, force: true})
    })

    it('publishes exactly the release tree with index pages to every destination', async () => {
      // Given a signed build in the source / When pre-release and then release run
      await runStage('pre-release', run.options)
      await runStage('release', run.options)
      // Then each destination holds the release directory twice, under its version and under current, with index pages
      const state = await endState(world)
      const sourceFiles = state.source.map((l) => l.split(' ')[0]!)
      const urls = urlsOf(world)
      for (const [i, tree] of state.destinations.entries()) {
        const directoryHtml = Boolean(emulators) && i === 0
        expect({url: urls.destinations[i], keys: tree.map((l) => l.split(' ')[0])}).toEqual({
          url: urls.destinations[i],
          keys: expectedTree(sourceFiles, directoryHtml),
        })
        // and the copies are the source's bytes
        for (const line of state.source) {
          const [file, digest] = line.split(' ')
          expect(tree).toContain(`amd64-usr/1.2.3/${file} ${digest}`)
          expect(tree).toContain(`amd64-usr/current/${file} ${digest}`)
        }
      }
      // and every image is public, in every region
      expect(state.ec2.images).toHaveLength(REGIONS.length)
      expect(state.ec2.images.every((l) => l.includes('public=true'))).toBe(true)
      expect(state.ec2.snapshots.every((l) => l.includes('public=true'))).toBe(true)
      expect(state.azure).toContain('shared flatcar/flatcar_test')
      if (emulators) expect(state.gce).toEqual(['flatcar-test-1-2-3 READY X86_64 public=true deprecated=null'])
    })

    it('the image list names the AMI of every region and the Azure image', async () => {
      const list = await imageList(run.options)
      const all = JSON.parse(await readSource(world, 'flatcar_production_ami_all.json')) as {amis: unknown}
      expect(list).toEqual({
        aws: {amis: all.amis},
        azure: {image: 'flatcar-linux-1.2.3-test-amd64', blob: 'flatcar-linux-1.2.3-test-amd64.vhd'},
      })
      expect(list.aws?.amis.map((a) => a.name)).toEqual([...REGIONS].sort())
    })

    it('a second run of each stage performs no writes', async () => {
      const versions = await objectVersions(world)
      const writes = cloudWrites(run)
      for (const stage of ['pre-release', 'release'] as const) {
        const again = await runStage(stage, run.options)
        expect({stage, actions: again.actions}).toEqual({stage, actions: []})
      }
      expect(cloudWrites(run)).toEqual(writes)
      expect(await objectVersions(world)).toEqual(versions)
    })

    it('plan says there is nothing to do', async () => {
      const plan = await planStages(run.options)
      expect(plan.map((p) => p.actions)).toEqual([[], []])
    })
  })
}

async function readSource(world: WorldDescriptor, file: string): Promise<string> {
  const {bucket, key} = await openLocation(`${urlsOf(world).source}/amd64-usr/1.2.3/${file}`, storageOf(world))
  return (await readText(bucket, key)) ?? ''
}
suite('local directories', undefined)
const emulators = emulatorEnv(process.env)
if (process.env.CI && !emulators)
  throw new Error('CI is set but the storage emulators are missing (scripts/services/{radosgw,azurite,gcs}.sh start)')
if (emulators) suite('source on GCS; destinations on S3, Azure, GCS and a directory', emulators)
else describe.skip('pre-release and release end to end (emulators): not running', () => it('skipped', () => undefined))
