import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {withTempDir} from '@mantle/test-utils'

import {compareVersions} from '../update.js'
import {containerName, containerWorkdir, imageRef, parseShellVars, resolveLayout, sdkUrl, versionsFromFile} from './layout.js'

describe('version.txt', () => {
  it('reads Flatcar keys, quoted or not, with comments and export', () => {
    const text =
      '# generated\nexport FLATCAR_VERSION="3033.2.0+dev-1"\nFLATCAR_VERSION_ID=3033.2.0\nFLATCAR_BUILD_ID=""\nFLATCAR_SDK_VERSION=\'3033.0.0\'\n'
    expect(versionsFromFile(text, 'v.txt')).toEqual({name: 'flatcar', os: '3033.2.0+dev-1', sdk: '3033.0.0', file: 'v.txt'})
    expect(parseShellVars(text).get('FLATCAR_BUILD_ID')).toBe('')
  })

  it('reads the CoreOS spelling', () => {
    expect(versionsFromFile('COREOS_VERSION=1688.5.3\nCOREOS_SDK_VERSION=1688.4.0\n', 'v.txt')).toMatchObject({
      name: 'coreos',
      os: '1688.5.3',
      sdk: '1688.4.0',
    })
  })

  it('names the missing key', () => {
    expect(() => versionsFromFile('FLATCAR_VERSION=1\n', 'v.txt')).toThrow(/v.txt has no FLATCAR_SDK_VERSION/)
    expect(() => versionsFromFile('FOO=1\n', 'v.txt')).toThrow(/neither FLATCAR_ nor COREOS_/)
  })

  it('is found above the working directory, in either place, with the board beside it', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'sdk_container/.repo/manifests'), {recursive: true})
      await mkdir(join(dir, 'src/scripts/deep'), {recursive: true})
      await writeFile(join(dir, 'sdk_container/.repo/manifests/version.txt'), 'FLATCAR_VERSION=2.0.0\nFLATCAR_SDK_VERSION=1.9.0\n')
      await writeFile(join(dir, 'src/scripts/.default_board'), 'arm64-usr\n')
      const layout = await resolveLayout({cwd: join(dir, 'src/scripts/deep')})
      expect(layout).toMatchObject({root: dir, board: 'arm64-usr', arch: 'arm64', versions: {name: 'flatcar', os: '2.0.0', sdk: '1.9.0'}})
      // Flags win over the file
      expect((await resolveLayout({cwd: dir, sdkVersion: '1.9.9', osVersion: '2.0.1'})).versions).toMatchObject({sdk: '1.9.9', os: '2.0.1'})
    })
  })

  it('refuses versions that cannot name an image', async () => {
    await expect(resolveLayout({cwd: '/', sdkVersion: '1.0 ; rm'})).rejects.toThrow(/invalid SDK version/)
  })
})

describe('names', () => {
  it('follow the Flatcar SDK container conventions, with + as -', () => {
    expect(imageRef('flatcar', 'amd64', '3033.0.0+nightly')).toEqual({
      repo: 'flatcar-sdk-amd64',
      tag: '3033.0.0-nightly',
      ref: 'flatcar-sdk-amd64:3033.0.0-nightly',
    })
    expect(containerName('flatcar', 'amd64', '3033.0.0', '3033.2.0+dev')).toBe('flatcar-sdk-amd64-3033.0.0_os-3033.2.0-dev')
  })

  it('SDK URLs take a bare host (https) or any storage URL', () => {
    expect(sdkUrl('mirror.release.flatcar-linux.net', 'sdk', 'amd64', '1.0', 'f.tar.bz2')).toBe(
      'https://mirror.release.flatcar-linux.net/sdk/amd64/1.0/f.tar.bz2',
    )
    expect(sdkUrl('gs://bucket/', '/sdk/', 'arm64', '1.0', 'f.tar.bz2')).toBe('gs://bucket/sdk/arm64/1.0/f.tar.bz2')
    expect(sdkUrl('/srv/mirror', '', 'amd64', '1.0', 'f.tar.bz2')).toBe('/srv/mirror/amd64/1.0/f.tar.bz2')
  })

  it('the working directory maps into /mnt/host/source only inside the checkout', () => {
    expect(containerWorkdir('/home/u/co', '/home/u/co/src/scripts')).toBe('/mnt/host/source/src/scripts')
    expect(containerWorkdir('/home/u/co', '/home/u/co')).toBe('/mnt/host/source')
    expect(containerWorkdir('/home/u/co', '/home/u/co-other')).toBe('/mnt/host/source')
  })
})

describe('version order', () => {
  it.each([
    ['3033.2.0', '3066.0.0', -1],
    ['9.0.0', '10.0.0', -1],
    ['3033.2.1', '3033.2.0', 1],
    ['3033.2.0', '3033.2.0', 0],
    ['3033.2.0', '3033.2.0+dev', -1],
  ])('%s vs %s', (a, b, want) => {
    expect(Math.sign(compareVersions(a, b))).toBe(want)
  })
})
