import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {makeTestKey, signDetached} from '@mantle/kit/verify/testing'
import {isolatedEnv, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

/**
 * The README's main job, on the shipped local configuration: a build in
 * ./build/boards, published to ./release/ by the real CLI, with nothing but
 * local defaults (no --config: the shipped channels/local.yaml).
 */
describe('plume on the shipped local configuration', () => {
  let dir: string
  const plume = (...args: string[]) =>
    runCli('plume', [...args, '-B', 'amd64-usr', '-V', '1.2.3', '--verify-key', 'key.asc'], {env: isolatedEnv(dir), cwd: dir})

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-local-'))
    // Given a signed build where the local configuration looks for it
    const key = await makeTestKey()
    await writeFile(join(dir, 'key.asc'), key.publicArmored)
    const build = join(dir, 'build', 'boards', 'amd64-usr', '1.2.3')
    await mkdir(build, {recursive: true})
    const image = execFileSync('bzip2', ['-c'], {input: Buffer.alloc(65536, 7)})
    await writeFile(join(build, 'flatcar_production_image.bin.bz2'), image)
    await writeFile(join(build, 'flatcar_production_image.bin.bz2.sig'), await signDetached(image, key.privateKey))
    await writeFile(join(build, 'version.txt'), 'FLATCAR_VERSION=1.2.3\nFLATCAR_VERSION_ID=1.2.3\n')
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('pre-release, release, then plan has nothing to do', async () => {
    const pre = await plume('pre-release')
    expect({code: pre.code, stderr: pre.stderr}).toEqual({code: 0, stderr: ''})
    const rel = await plume('release')
    expect({code: rel.code, stderr: rel.stderr}).toEqual({code: 0, stderr: ''})
    expect(rel.stdout).toMatch(/release user\/amd64-usr\/1\.2\.3: \d+ steps performed/)
    expect((await readdir(join(dir, 'release', 'amd64-usr', 'current'))).sort()).toEqual([
      'flatcar_production_image.bin.bz2',
      'flatcar_production_image.bin.bz2.sig',
      'index.html',
      'version.txt',
    ])
    expect(await readdir(join(dir, 'release'))).toContain('index.html')
    const plan = await plume('plan')
    expect(plan.stdout).toBe('nothing to do: pre-release and release of user/amd64-usr/1.2.3 are complete\n')
    expect(plan.code).toBe(0)
  })
})
