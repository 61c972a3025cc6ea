import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/** What a user sees when the engine or the checkout is not there: one line, the exit code of the table. */
describe('cork without an engine or a checkout', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let checkout: string
  const socket = '/nonexistent/cork-test/docker.sock'

  beforeEach(async () => {
    ;({dir, cleanup} = await makeTempDir())
    checkout = join(dir, 'checkout')
    await mkdir(join(checkout, '.repo/manifests'), {recursive: true})
    await writeFile(join(checkout, '.repo/manifests/version.txt'), 'FLATCAR_VERSION=1.2.3\nFLATCAR_SDK_VERSION=1.2.0\n')
  })
  afterEach(() => cleanup())

  const cork = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = checkout) =>
    runCli('cork', args, {cwd, env: isolatedEnv(join(dir, 'home'), {SHELL: '/bin/sh', ...env})})

  it.each([
    ['enter -- true (fast path)', ['enter', '--docker-host', `unix://${socket}`, '--', 'true']],
    ['enter -v -- true (full command)', ['enter', '-v', '--docker-host', `unix://${socket}`, '--', 'true']],
    ['create', ['create', '--docker-host', `unix://${socket}`, '--sdk-url', 'file:///nonexistent']],
    ['update', ['update', '--docker-host', `unix://${socket}`]],
    ['delete', ['delete', '--docker-host', `unix://${socket}`]],
  ])('%s exits 3 with one line naming the socket tried', async (_name, args) => {
    const r = await cork(args)
    expect(r.code).toBe(3)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^cork: error: no container engine answers at unix://${socket} \\(ENOENT\\)`))
  })

  it('reads DOCKER_HOST when --docker-host is absent, and says so on a refused TCP port', async () => {
    const r = await cork(['enter', '--', 'true'], {DOCKER_HOST: 'tcp://127.0.0.1:1'})
    expect(r.code).toBe(3)
    expect(r.stderr.trim()).toMatch(/^cork: error: no container engine answers at tcp:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/)
  })

  it('enter outside a checkout exits 2 and says what to do', async () => {
    const r = await cork(['enter', '--docker-host', `unix://${socket}`, '--', 'true'], {}, dir)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/^cork: error: no version file in .* \(run cork in a checkout, pass --root, or pass --sdk-version\)$/)
  })

  // The engine is never asked: a bad value is refused first (exit 2, not 3).
  it.each([
    ['create --chroot with a slash', ['create', '--chroot', 'my/sdk'], /^cork: error: invalid --chroot "my\/sdk" \(a container name: /],
    ['enter --chroot of one character (fast path)', ['enter', '--chroot', 'x', '--', 'true'], /^cork: error: invalid --chroot "x"/],
    ['update --chroot starting with a dash', ['update', '--chroot=-sdk'], /^cork: error: invalid --chroot "-sdk"/],
    ['delete --chroot with a space', ['delete', '--chroot', 'my sdk'], /^cork: error: invalid --chroot "my sdk"/],
    [
      'create --verify-signature without --manifest-url',
      ['create', '--verify-signature'],
      /^cork: error: --verify-signature needs --manifest-url/,
    ],
    [
      'update --manifest-branch without --manifest-url',
      ['update', '--manifest-branch', 'main'],
      /^cork: error: --manifest-branch needs --manifest-url/,
    ],
    ['create --manifest-url empty', ['create', '--manifest-url='], /^cork: error: --manifest-url is empty$/],
    [
      'update with both downgrade policies',
      ['update', '--downgrade-in-place', '--downgrade-replace'],
      /^cork: error: --downgrade-in-place and --downgrade-replace conflict/,
    ],
    [
      'download-image with an unknown platform in a list',
      ['download-image', '--platform', 'qemu,vax'],
      /^cork: error: Expected --platform=vax to be one of: aws, esx, gce, qemu, qemu_uefi$/,
    ],
    ['download-image --root empty', ['download-image', '--root=', '--platform', 'qemu'], /^cork: error: --root is empty/],
  ])('%s exits 2 with one line', async (_name, args, message) => {
    const [command, ...rest] = args as [string, ...string[]]
    const r = await cork(command === 'download-image' ? args : [command, '--docker-host', `unix://${socket}`, ...rest])
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message)
  })

  it('enter with a stray argument before -- exits 2', async () => {
    const r = await cork(['enter', 'make'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('cork: error: unexpected argument make (put the command after --, as in: cork enter -- make)')
  })
})
