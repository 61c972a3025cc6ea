import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeTestKey, signDetached, type TestKey} from '@mantle/kit/verify/testing'
import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

import {makeSdkFixture} from '../testing/sdk-fixture.js'

/** Downloads without an engine: the SDK alone, and OS images per platform, from a local mirror. */
describe('cork download and download-image', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let checkout: string
  let mirror: string
  let keyFile: string
  let key: TestKey

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    checkout = join(dir, 'checkout')
    mirror = join(dir, 'mirror')
    await mkdir(join(checkout, '.repo/manifests'), {recursive: true})
    await writeFile(join(checkout, '.repo/manifests/version.txt'), 'FLATCAR_VERSION=4000.1.0\nFLATCAR_SDK_VERSION=4000.0.0\n')
    key = await makeTestKey()
    keyFile = join(dir, 'key.asc')
    await writeFile(keyFile, key.publicArmored)
    await makeSdkFixture({work: join(dir, 'work'), mirror, name: 'flatcar', arch: 'amd64', version: '4000.0.0', key: key.privateKey})
    const images = join(mirror, 'images')
    await mkdir(images, {recursive: true})
    for (const f of ['qemu_image.img.bz2', 'qemu_uefi_efi_code.fd', 'qemu_uefi_efi_vars.fd', 'qemu_uefi_image.img.bz2', 'gce.tar.gz']) {
      const data = Buffer.from(`image ${f}\n`)
      await writeFile(join(images, `flatcar_production_${f}`), data)
      await writeFile(join(images, `flatcar_production_${f}.sig`), await signDetached(data, key.privateKey))
    }
    // The gce image is altered after signing.
    await writeFile(join(images, 'flatcar_production_gce.tar.gz'), 'tampered\n')
  })
  afterAll(() => cleanup())

  const cork = (args: string[]) => runCli('cork', args, {cwd: checkout, env: isolatedEnv(join(dir, 'home'), {SHELL: '/bin/sh'})})

  it('download fetches and verifies the SDK tarball into .cache/sdks, and keeps it on the next run', async () => {
    const args = ['download', '--board', 'amd64-usr', '--sdk-url', mirror, '--verify-key', keyFile, '--json']
    const first = await cork(args)
    expect(first.code).toBe(0)
    const path = join(checkout, '.cache/sdks/flatcar-sdk-amd64-4000.0.0.tar.bz2')
    expect(JSON.parse(first.stdout)).toMatchObject({path, signer: key.fingerprint, cached: false})
    expect(await readFile(path)).toEqual(await readFile(join(mirror, 'sdk/amd64/4000.0.0/flatcar-sdk-amd64-4000.0.0.tar.bz2')))
    const second = await cork(args)
    expect(JSON.parse(second.stdout)).toMatchObject({path, cached: true})
  })

  it('download refuses a tarball signed by a key that is not trusted (exit 1)', async () => {
    const other = await makeTestKey({name: 'someone else'})
    await writeFile(join(dir, 'other.asc'), other.publicArmored)
    const r = await cork([
      'download',
      '--board',
      'amd64-usr',
      '--sdk-url',
      mirror,
      '--verify-key',
      join(dir, 'other.asc'),
      '--sdk-version',
      '4000.0.0',
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cork: error: unknown key/m)
  })

  it('download-image fetches every file of each platform, verified, into .cache/images/<arch>/<version>', async () => {
    const r = await cork([
      'download-image',
      '--board',
      'amd64-usr',
      '--image-root',
      join(mirror, 'images'),
      '--verify-key',
      keyFile,
      '--platform',
      'qemu',
      '--platform',
      'qemu_uefi',
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const cache = join(checkout, '.cache/images/amd64/4000.1.0')
    expect((await readdir(cache)).sort()).toEqual(
      [
        'flatcar_production_qemu_image.img.bz2',
        'flatcar_production_qemu_uefi_efi_code.fd',
        'flatcar_production_qemu_uefi_efi_vars.fd',
        'flatcar_production_qemu_uefi_image.img.bz2',
      ].sort(),
    )
    expect(r.stdout.trim().split('\n')).toHaveLength(4)
  })

  it("download-image takes --root as the images' base URL (the original's meaning) and comma-separated platforms", async () => {
    const r = await cork([
      'download-image',
      '--board',
      'amd64-usr',
      '--root',
      join(mirror, 'images'),
      '--verify-key',
      keyFile,
      '--platform',
      'qemu,qemu_uefi',
      '--json',
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const files = (JSON.parse(r.stdout) as Array<{platform: string; url: string}>).map((f) => `${f.platform} ${f.url}`)
    expect(files).toEqual([
      `qemu ${join(mirror, 'images')}/flatcar_production_qemu_image.img.bz2`,
      ...['efi_code.fd', 'efi_vars.fd', 'image.img.bz2'].map(
        (f) => `qemu_uefi ${join(mirror, 'images')}/flatcar_production_qemu_uefi_${f}`,
      ),
    ])
  })

  it('download-image refuses an image that does not match its signature, and leaves nothing', async () => {
    const r = await cork([
      'download-image',
      '--board',
      'amd64-usr',
      '--image-root',
      join(mirror, 'images'),
      '--verify-key',
      keyFile,
      '--platform',
      'gce',
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cork: error: bad signature/m)
    expect(await readdir(join(checkout, '.cache/images/amd64/4000.1.0'))).not.toContain('flatcar_production_gce.tar.gz')
  })
})
