import {execFileSync, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {boundariesOf} from '../plan/step.js'
import {
  createWorld,
  emulatorEnv,
  endState,
  removeWorldObjects,
  worldRun,
  type EmulatorEnv,
  type EndState,
  type WorldDescriptor,
} from '../testing/world.js'
import {prepareStages, runStage, type StageName} from './stages.js'

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url))
// Bundled from the sources under test (packages left external, resolved from node_modules as the tests resolve them): test helpers stay out of dist.
const CHILD = join(PACKAGE, 'node_modules', '.cache', 'plume-kill-child.mjs')

/** A two-board release as Flatcar runs it: pre-release of each board, then release of each. */
type Run = {stage: StageName; board: string}
const RUNS: Run[] = [
  {stage: 'pre-release', board: 'amd64-usr'},
  {stage: 'pre-release', board: 'arm64-usr'},
  {stage: 'release', board: 'amd64-usr'},
  {stage: 'release', board: 'arm64-usr'},
]

/** Runs a stage of the world for a board in a child that SIGKILLs itself at `point`. */
function killAt(
  world: WorldDescriptor,
  run: Run,
  point: string,
): Promise<{signal: NodeJS.Signals | null; code: number | null; output: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, world.dir, run.stage, point, run.board], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, output}))
  })
}

async function completeRuns(world: WorldDescriptor, runs: Run[]): Promise<void> {
  for (const r of runs) {
    const run = await worldRun(world, {}, {board: r.board})
    try {
      await runStage(r.stage, run.options)
    } finally {
      run.restore()
    }
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
  const names = state.ec2.images.map((l) =>
    l
      .split(' ')
      .filter((_, i) => i === 0 || i === 2)
      .join(' '),
  )
  expect(new Set(names).size).toBe(names.length)
  expect(state.ec2.snapshots).toHaveLength(state.ec2.images.length)
  expect(state.staging).toEqual([])
}

// Every boundary of a two-board release is ~90 kills, each a fresh world, its earlier runs and a rerun: over 20 minutes
// locally and over 40 on the emulators, past what CI can spend. By default each run's first and last boundary and an
// even spread between them are killed; KILL_ANYWHERE_ALL=1 kills at every boundary.
const LOCAL_POINTS = 32
const EMULATOR_POINTS = 12

function killPoints<T extends {index: number}>(points: T[], budget: number): T[] {
  if (process.env.KILL_ANYWHERE_ALL || points.length <= budget) return points
  const byRun = new Map<number, T[]>()
  for (const p of points) byRun.set(p.index, [...(byRun.get(p.index) ?? []), p])
  const perRun = Math.max(2, Math.floor(budget / byRun.size))
  return [...byRun.values()].flatMap((run) => {
    if (run.length <= perRun) return run
    const picked = new Set<number>()
    for (let i = 0; i < perRun; i++) picked.add(Math.round((i * (run.length - 1)) / (perRun - 1)))
    return [...picked].map((i) => run[i]!)
  })
}

function suite(name: string, emulators: EmulatorEnv | undefined): void {
  describe(`kill anywhere (${name})`, () => {
    let root: string
    let reference: EndState
    const points: {index: number; point: string}[] = []
    const worlds: WorldDescriptor[] = []
    const newWorld = async (prefix: string): Promise<WorldDescriptor> => {
      const world = await createWorld(await mkdtemp(join(root, prefix)), emulators)
      worlds.push(world)
      return world
    }

    beforeAll(async () => {
      // The child runs the code under test, bundled from the sources (the workspace packages it imports are built).
      const esbuild = join(PACKAGE, '..', '..', 'node_modules', '.bin', 'esbuild')
      execFileSync(
        esbuild,
        [
          join(PACKAGE, 'src', 'testing', 'kill-child.ts'),
          '--bundle',
          '--platform=node',
          '--format=esm',
          '--packages=external',
          `--outfile=${CHILD}`,
          '--log-level=warning',
        ],
        {stdio: 'inherit'},
      )
      root = await mkdtemp(join(tmpdir(), 'plume-kill-'))
      // Given an uninterrupted two-board pre-release and release of a world
      const ref = await newWorld('ref-')
      for (const [index, r] of RUNS.entries()) {
        const run = await worldRun(ref, {}, {board: r.board})
        try {
          const {steps} = await prepareStages([r.stage], run.options)
          // after:<id> leaves the world as before:<next id> does (nothing runs between the two), so the befores and before:end cover every state a kill can leave.
          points.push(
            ...boundariesOf(steps.get(r.stage)!)
              .filter((point) => point.startsWith('before:'))
              .map((point) => ({index, point})),
          )
          await runStage(r.stage, run.options)
        } finally {
          run.restore()
        }
      }
      reference = await endState(ref)
    })
    afterAll(async () => {
      for (const world of worlds) await removeWorldObjects(world)
      if (root) await rm(root, {recursive: true, force: true})
    })

    it("has at least 20 step boundaries in each board's pre-release and release", () => {
      for (const board of ['amd64-usr', 'arm64-usr'])
        expect(points.filter((p) => RUNS[p.index]!.board === board).length).toBeGreaterThanOrEqual(20)
      expect(new Set(points.map((p) => p.index))).toEqual(new Set([0, 1, 2, 3]))
      // and the reference has both boards' images: two AMIs per region, two blobs, two gallery definitions
      expect(reference.ec2.images.filter((l) => l.includes('-arm64-hvm '))).toHaveLength(reference.ec2.images.length / 2)
      expect(reference.azure.filter((l) => l.startsWith('definition '))).toEqual([
        'definition flatcar_test/flatcar-linux x64 test',
        'definition flatcar_test/flatcar-linux-arm64 Arm64 test-arm64',
      ])
    })

    it(`completes with the same end state after a SIGKILL at ${process.env.KILL_ANYWHERE_ALL ? 'every' : 'a spread of'} step boundar${process.env.KILL_ANYWHERE_ALL ? 'y' : 'ies'}`, async () => {
      for (const {index, point} of killPoints(points, emulators ? EMULATOR_POINTS : LOCAL_POINTS)) {
        const run = RUNS[index]!
        const where = `${run.stage} ${run.board} ${point}`
        // Given a fresh world, with the runs before this one done
        const world = await newWorld('w-')
        await completeRuns(world, RUNS.slice(0, index))
        // When the run is killed at the boundary
        const killed = await killAt(world, run, point)
        expect({where, signal: killed.signal, output: killed.signal ? '' : killed.output}).toEqual({where, signal: 'SIGKILL', output: ''})
        if (run.stage === 'pre-release') nothingPublic(await endState(world))
        // and the release is run again from where it stopped
        await completeRuns(world, RUNS.slice(index)).catch((error: unknown) => {
          throw new Error(`rerun after a kill at ${where}: ${(error as Error).message}`, {cause: error})
        })
        // Then the end state is the one of the uninterrupted run
        const state = await endState(world)
        noDuplicates(state)
        expect({where, state}).toEqual({where, state: reference})
      }
    }, 3_600_000)
  })
}

suite('local directories', undefined)
const emulators = emulatorEnv(process.env)
if (process.env.CI && !emulators)
  throw new Error('CI is set but the storage emulators are missing (scripts/services/{radosgw,azurite,gcs}.sh start)')
if (emulators) suite('S3, Azure and GCS emulators', emulators)
else describe.skip('kill anywhere (S3, Azure and GCS emulators): emulators not running', () => it('skipped', () => undefined))
