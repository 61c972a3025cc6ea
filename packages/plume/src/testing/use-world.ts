import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach} from 'vitest'

import {createWorld, worldRun, type WorldDescriptor, type WorldRun} from './world.js'

/**
 * A fresh local world for each test of the suite (a signed build, the
 * channel configuration, the fake control planes), removed after it.
 * `prepare` may change the world's files before its run is made.
 */
export function useLocalWorld(
  prefix: string,
  prepare?: (world: WorldDescriptor) => Promise<void>,
): {readonly dir: string; readonly world: WorldDescriptor; readonly run: WorldRun} {
  let current: {dir: string; world: WorldDescriptor; run: WorldRun} | undefined
  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    const world = await createWorld(dir, undefined)
    await prepare?.(world)
    current = {dir, world, run: await worldRun(world)}
  })
  afterEach(async () => {
    current?.run.restore()
    if (current) await rm(current.dir, {recursive: true, force: true})
    current = undefined
  })
  const get = () => {
    if (!current) throw new Error('useLocalWorld: used outside a test')
    return current
  }
  return {
    get dir() {
      return get().dir
    },
    get world() {
      return get().world
    },
    get run() {
      return get().run
    },
  }
}
