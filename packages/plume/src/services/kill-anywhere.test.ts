import {execFileSync, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {boundariesOf} from '../plan/step.js'
import {createWorld, emulatorEnv, endState, removeWorldObjects, worldRun, type EmulatorEnv, type EndState, type WorldDescriptor} from '../testing/world.js'
import {prepareStages, runStage, type StageName} from './stages.js'

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url))
const CHILD = join(PACKAGE, 'dist', 'testing', 'kill-child.js')

/** Runs a stage of the world in a child that SIGKILLs itself at `point`. */
function killAt(world: WorldDescriptor, stage: StageName, point: string): Promise<{signal: NodeJS.Signals | null; code: number | null; output: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, world.dir, stage, point], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, output}))
  })
}

async function completeRun(world: WorldDescriptor, stages: StageName[]): Promise<void> {
  const run = await worldRun(world)
  try {
    for (const stage of stages) await runStage(stage, run.options)
  } finally {
    run.restore()
  }
}

/** Nothing made public: no public AMI or snapshot, no shared gallery, no public GCE image, empty destinations. */
function nothingPublic(state: EndState): void {
  expect(state.ec2.images.filter((l) => l.includes('public=true'))).toEqual([])
  expect(state.ec2.snapshots.filter((l) => l.includes('public=true'))).toEqual([])
  expect(state.azure.filter((l) => l.startsWith('shared'))).toEqual([])
  expect(state.gce.filter((l) => l.includes('public=true'))).toEqual([])
  expect(state.destinations.flat()).toEqual([])
}

/** No AMI twice under one name in a region, no snapshot without the image it belongs to, nothing left staged. */
function noDuplicates(state: EndState): void {
  const names = state.ec2.images.map((l) => l.split(' ').filter((_, i) => i === 0 || i === 2).join(' '))
  expect(new Set(names).size).toBe(names.length)
  expect(state.ec2.snapshots).toHaveLength(state.ec2.images.length)
  expect(state.staging).toEqual([])
}

function suite(name: string, emulators: EmulatorEnv | undefined): void {
  describe(`kill anywhere (${name})`, () => {
    let root: string
    let reference: EndState
    let points: {stage: StageName; point: string}[] = []
    const worlds: WorldDescriptor[] = []
    const newWorld = async (prefix: string): Promise<WorldDescriptor> => {
      const world = await createWorld(await mkdtemp(join(root, prefix)), emulators)
      worlds.push(world)
      return world
    }

    beforeAll(async () => {
      // The child runs the compiled code: build it from the sources under test.
      execFileSync(process.execPath, [join(PACKAGE, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-b', PACKAGE], {stdio: 'inherit'})
      root = await mkdtemp(join(tmpdir(), 'plume-kill-'))
      // Given an uninterrupted pre-release and release of a world
      const ref = await newWorld('ref-')
      const run = await worldRun(ref)
      try {
        const {steps} = await prepareStages(['pre-release', 'release'], run.options)
        points = (['pre-release', 'release'] as const).flatMap((stage) => boundariesOf(steps.get(stage)!).map((point) => ({stage, point})))
        for (const stage of ['pre-release', 'release'] as const) await runStage(stage, run.options)
      } finally {
        run.restore()
      }
      reference = await endState(ref)
    })
    afterAll(async () => {
      for (const world of worlds) await removeWorldObjects(world)
      if (root) await rm(root, {recursive: true, force: true})
    })

    it('has at least 20 step boundaries across pre-release and release', () => {
      expect(points.length).toBeGreaterThanOrEqual(20)
    })

    it('completes with the same end state after a SIGKILL at every step boundary', async () => {
      for (const {stage, point} of points) {
        // Given a fresh world (released up to pre-release when the kill is in release)
        const world = await newWorld('w-')
        if (stage === 'release') await completeRun(world, ['pre-release'])
        // When the stage is killed at the boundary
        const killed = await killAt(world, stage, point)
        expect({point, signal: killed.signal, output: killed.signal ? '' : killed.output}).toEqual({point, signal: 'SIGKILL', output: ''})
        if (stage === 'pre-release') nothingPublic(await endState(world))
        // and the release is run again from where it stopped
        await completeRun(world, stage === 'pre-release' ? ['pre-release', 'release'] : ['release']).catch((error: unknown) => {
          throw new Error(`rerun after a kill at ${stage} ${point}: ${(error as Error).message}`, {cause: error})
        })
        // Then the end state is the one of the uninterrupted run
        const state = await endState(world)
        noDuplicates(state)
        expect({point, state}).toEqual({point, state: reference})
      }
    }, 1_800_000)
  })
}

suite('local directories', undefined)
const emulators = emulatorEnv(process.env)
if (process.env.CI && !emulators) throw new Error('CI is set but the storage emulators are missing (scripts/services/{radosgw,azurite,gcs}.sh start)')
if (emulators) suite('S3, Azure and GCS emulators', emulators)
else describe.skip('kill anywhere (S3, Azure and GCS emulators): emulators not running', () => it('skipped', () => undefined))
