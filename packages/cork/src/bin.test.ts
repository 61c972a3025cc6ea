import {spawnSync} from 'node:child_process'
import {copyFile, mkdir, readFile, rm, stat, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {binPath, makeTempDir, REPO_ROOT} from '@mantle/test-utils'

/**
 * bin/run.cjs runs `cork enter -- <command>` from the one-file bundle only
 * while no package it was bundled from was compiled since; otherwise from the
 * modules tsc wrote. A copy of the bin beside a fake bundle (exit 5) and fake
 * modules (exit 6) shows which one ran.
 */
describe('cork bin: the bundled fast path of enter', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const bundle = (): string => join(dir, 'dist', 'fast-enter.cjs')
  const buildInfo = (): string => join(dir, 'tsconfig.tsbuildinfo')

  beforeEach(async () => {
    ;({dir, cleanup} = await makeTempDir())
    await mkdir(join(dir, 'bin'))
    await mkdir(join(dir, 'dist'))
    await copyFile(binPath('cork'), join(dir, 'bin', 'run.cjs'))
    await writeFile(join(dir, 'package.json'), '{"type": "module"}\n')
    // The bin takes its loader from the kit (@mantle/kit/start), found as an installed cork finds it.
    await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'))
    await writeFile(bundle(), 'exports.fastEnter = async () => 5\nmodule.exports.bundledFrom = ["../tsconfig.tsbuildinfo"]\n')
    await writeFile(join(dir, 'dist', 'fast-enter.js'), 'export async function fastEnter() { return 6 }\n')
    await writeFile(buildInfo(), '{}\n')
  })
  afterEach(() => cleanup())

  const enter = (): number | null => spawnSync(process.execPath, [join(dir, 'bin', 'run.cjs'), 'enter', '--', 'true']).status
  const age = (file: string, secondsAgo: number): Promise<void> => {
    const t = new Date(Date.now() - secondsAgo * 1000)
    return utimes(file, t, t)
  }

  it('runs the bundle when it is newer than every compilation it came from', async () => {
    await age(buildInfo(), 60)
    expect(enter()).toBe(5)
  })

  it('runs the compiled modules when a package was compiled after the bundle', async () => {
    await age(bundle(), 60)
    expect(enter()).toBe(6)
  })

  it('runs the bundle when there is no tsbuildinfo (an installed package)', async () => {
    await rm(buildInfo())
    expect(enter()).toBe(5)
  })

  it('runs the compiled modules when there is no bundle', async () => {
    await rm(bundle())
    expect(enter()).toBe(6)
  })

  it('keeps a code cache beside the bundle, and never runs one made for another build of it', async () => {
    await age(buildInfo(), 60)
    const cache = join(dir, 'dist', 'fast-enter.cjs.v8cache')
    const stamp = async (): Promise<string> => {
      const {size, mtimeMs} = await stat(bundle())
      return `${size} ${mtimeMs}\n`
    }
    expect(enter()).toBe(5)
    expect((await readFile(cache)).subarray(0, (await stamp()).length).toString()).toBe(await stamp())
    const written = (await stat(cache)).mtimeMs
    await age(cache, 30)
    // Accepted: the second run neither fails nor writes the cache again.
    expect(enter()).toBe(5)
    expect((await stat(cache)).mtimeMs).toBeLessThan(written)
    // A rebuilt bundle of the very same length: V8 alone would take the old cache for it.
    const rebuilt = (await readFile(bundle(), 'utf8')).replace('=> 5', '=> 7')
    await writeFile(bundle(), rebuilt)
    expect(enter()).toBe(7)
    expect((await readFile(cache)).subarray(0, (await stamp()).length).toString()).toBe(await stamp())
  })
})
