import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {isolatedEnv, runCli} from '@mantle/test-utils'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createWorld, urlsOf, type WorldDescriptor} from '../testing/world.js'

/**
 * The failures a release must meet before it writes anything: each one line
 * on stderr, with the exit code of the table (1 check failed, 2 usage or
 * configuration), and nothing written anywhere.
 */
describe('plume fails early, in one line, before any write', () => {
  let dir: string
  let world: WorldDescriptor
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-early-'))
    world = await createWorld(dir, undefined)
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  const plume = (stage: string, ...args: string[]) =>
    runCli(
      'plume',
      [
        stage,
        '--config',
        join(dir, 'channels.yaml'),
        '-C',
        'test',
        '-B',
        'amd64-usr',
        '-V',
        '1.2.3',
        '--cache-dir',
        join(dir, 'cache'),
        ...args,
      ],
      {
        env: isolatedEnv(dir),
        cwd: dir,
      },
    )
  const releaseDir = (): string => join(urlsOf(world).source, 'amd64-usr', '1.2.3')

  function nothingWritten(): void {
    expect(existsSync(join(dir, 'pub'))).toBe(false)
    expect(existsSync(join(dir, 'mirror'))).toBe(false)
    expect(existsSync(join(dir, 'staging'))).toBe(false)
    expect(existsSync(join(dir, 'cache', 'test', 'amd64-usr', '1.2.3', 'flatcar_production_ami_image.bin'))).toBe(false)
  }

  for (const stage of ['pre-release', 'release', 'plan']) {
    it(`${stage}: a source without version.txt exits 2`, async () => {
      // Given a release directory without version.txt
      await rm(join(releaseDir(), 'version.txt'))
      // When the stage runs
      const r = await plume(stage)
      // Then it says so in one line, exit 2, and wrote nothing
      expect(r.stderr).toMatch(
        /^plume: error: source file:\/\/\/.*\/amd64-usr\/1\.2\.3\/ has no version\.txt: not a build of amd64-usr 1\.2\.3 \(.*\)\n$/,
      )
      expect(r.code).toBe(2)
      nothingWritten()
    })
  }

  it('pre-release: a bad signature on an image exits 1', async () => {
    // Given an image whose bytes are not the ones signed
    const image = join(releaseDir(), 'flatcar_production_ami_image.bin.bz2')
    await writeFile(image, Buffer.concat([await readFile(image), Buffer.from('tampered')]))
    const r = await plume('pre-release')
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(r.stderr).toMatch(/^plume: error: .*flatcar_production_ami_image\.bin\.bz2.*/)
    expect(r.code).toBe(1)
    nothingWritten()
  })

  it('release: a bad signature on the generic image exits 1', async () => {
    const image = join(releaseDir(), 'flatcar_production_image.bin.bz2')
    await writeFile(image, Buffer.from('not the signed image'))
    const r = await plume('release')
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(r.code).toBe(1)
    nothingWritten()
  })

  it('a channel missing from the config exits 2 and names the channels it has', async () => {
    const r = await runCli('plume', ['pre-release', '--config', join(dir, 'channels.yaml'), '-C', 'nightly', '-V', '1.2.3'], {
      env: isolatedEnv(dir),
      cwd: dir,
    })
    expect(r.stderr).toBe(
      `plume: error: channel "nightly" is not in ${join(dir, 'channels.yaml')} (channels: test) (choose one with -C/--channel or add it to the file)\n`,
    )
    expect(r.code).toBe(2)
    nothingWritten()
  })

  it('an invalid config file exits 2 and names the file, the field and what was expected', async () => {
    const config = join(dir, 'channels.yaml')
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('{name: arm64-usr, platforms: [aws, azure]}', '{name: arm64-usr, platforms: [aws, ec2]}'),
    )
    const r = await plume('pre-release')
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(r.stderr).toContain(
      `plume: error: channel config ${config}: $.channels.test.boards[1].platforms[1]: must be equal to one of the allowed values (expected a cloud: aws, azure or gce)`,
    )
    expect(r.code).toBe(2)
    nothingWritten()
  })
})
