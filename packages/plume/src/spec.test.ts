import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {arch, tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {ChannelsConfig} from './config/types.js'
import {parseVersionTxt, resolveSpec} from './spec.js'

describe('resolveSpec', () => {
  let dir: string
  let config: ChannelsConfig
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-spec-'))
    config = {
      file: join(dir, 'c.yaml'),
      channels: {
        user: {
          source: join(dir, 'src'),
          boards: ['amd64-usr', 'arm64-usr'],
          boardSettings: {'amd64-usr': {arch: 'amd64'}, 'arm64-usr': {arch: 'arm64'}},
        },
      },
    }
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })
  const resolve = (o: {board?: string; version?: string} = {}) =>
    resolveSpec({config, channel: 'user', sdkRoot: join(dir, 'sdk'), storage: {}, ...o})
  const build = async (board: string, version: string) => {
    await mkdir(join(dir, 'src', board, version), {recursive: true})
    await writeFile(join(dir, 'src', board, version, 'version.txt'), `FLATCAR_VERSION=${version}\n`)
  }

  it('takes the board from src/scripts/.default_board and the version from .repo/manifests/version.txt', async () => {
    // Given an SDK checkout that names both
    await mkdir(join(dir, 'sdk', 'src', 'scripts'), {recursive: true})
    await mkdir(join(dir, 'sdk', '.repo', 'manifests'), {recursive: true})
    await writeFile(join(dir, 'sdk', 'src', 'scripts', '.default_board'), 'arm64-usr\n')
    await writeFile(join(dir, 'sdk', '.repo', 'manifests', 'version.txt'), 'FLATCAR_VERSION=4000.0.0+dev\nFLATCAR_VERSION_ID=4000.0.0\n')
    // Then they are the defaults
    expect(await resolve()).toMatchObject({board: 'arm64-usr', version: '4000.0.0'})
  })

  it('without an SDK, defaults to <arch>-usr and the newest version in the source (9 before 10)', async () => {
    await build('amd64-usr', '9.0.0')
    await build('amd64-usr', '10.0.0')
    await build('arm64-usr', '10.0.0')
    await mkdir(join(dir, 'src', 'amd64-usr', '11.0.0'), {recursive: true}) // no version.txt: not a build
    const spec = await resolve({board: 'amd64-usr'})
    expect(spec.version).toBe('10.0.0')
    expect((await resolve({version: '1.0.0'})).board).toBe(arch() === 'arm64' ? 'arm64-usr' : 'amd64-usr')
  })

  it('flags win over the defaults; a board the channel does not publish is refused', async () => {
    expect(await resolve({board: 'arm64-usr', version: '1.2.3'})).toMatchObject({board: 'arm64-usr', version: '1.2.3'})
    await expect(resolve({board: 'riscv-usr', version: '1.2.3'})).rejects.toThrow(
      'board "riscv-usr" is not published by channel "user" (boards: amd64-usr, arm64-usr)',
    )
  })
})

describe('parseVersionTxt', () => {
  it('reads the VERSION and VERSION_ID of any distribution', () => {
    expect(parseVersionTxt('COREOS_BUILD=1\nCOREOS_VERSION=1.2.3+4\nCOREOS_VERSION_ID="1.2.3"\n')).toEqual({
      version: '1.2.3+4',
      versionId: '1.2.3',
    })
  })
})
