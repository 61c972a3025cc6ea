import {execFile} from 'node:child_process'
import {chmod, mkdir, readFile, symlink, writeFile, copyFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import type {PrivateKey} from 'openpgp'

import {signDetached} from '@mantle/kit/verify/testing'

import {sdkTarballName} from '../services/sdk/layout.js'

/**
 * A tiny SDK for tests: a busybox root file system packed as the SDK
 * tarball of a version, bzip2-compressed like the real one, with a detached
 * signature, laid out as a mirror (`<mirror>/sdk/<arch>/<version>/`).
 */

const run = promisify(execFile)

export const BUSYBOX = '/bin/busybox'

export interface SdkFixture {
  tarball: string
  signature: string
  /** The mirror's base: what --sdk-url takes (with --sdk-url-path sdk). */
  mirror: string
}

export async function makeSdkRootfs(dir: string, version: string): Promise<void> {
  for (const d of ['bin', 'etc', 'tmp', 'usr/lib', 'usr/bin', 'root']) await mkdir(join(dir, d), {recursive: true})
  await chmod(join(dir, 'tmp'), 0o1777)
  await copyFile(BUSYBOX, join(dir, 'bin/busybox'))
  await chmod(join(dir, 'bin/busybox'), 0o755)
  const {stdout} = await run(BUSYBOX, ['--list'])
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) await symlink('busybox', join(dir, 'bin', applet))
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\n')
  await writeFile(join(dir, 'usr/lib/os-release'), `ID=testsdk\nVERSION=${version}\n`)
  for (const tool of ['repo', 'git']) {
    await writeFile(join(dir, 'usr/bin', tool), fakeTool(tool))
    await chmod(join(dir, 'usr/bin', tool), 0o755)
  }
}

/** Where the SDK's fake repo and git record each run: in the mounted checkout. */
export const SDK_CALLS = '.sdk-calls'

/**
 * The test SDK's `repo` and `git`: each appends one line to <checkout>/.sdk-calls
 * (tool, uid, gid, working directory, arguments), and fails (exit 6, one line
 * on stderr) when <checkout>/.sdk-fail-<tool>-<first argument> exists.
 */
function fakeTool(tool: string): string {
  return [
    '#!/bin/sh',
    'src=/mnt/host/source',
    `echo "${tool} uid=$(id -u) gid=$(id -g) cwd=$PWD args=$*" >>"$src/${SDK_CALLS}"`,
    `if [ -e "$src/.sdk-fail-${tool}-$1" ]; then echo "${tool}: error: $1 failed, as the test asked" >&2; exit 6; fi`,
    `echo "${tool} $1: done"`,
    '',
  ].join('\n')
}

/** Builds, compresses and signs the SDK tarball of `version` into `<mirror>/sdk/<arch>/<version>/`. */
export async function makeSdkFixture(options: {
  work: string
  mirror: string
  name: string
  arch: string
  version: string
  key: PrivateKey
}): Promise<SdkFixture> {
  const rootfs = join(options.work, `rootfs-${options.version}`)
  await makeSdkRootfs(rootfs, options.version)
  const dir = join(options.mirror, 'sdk', options.arch, options.version)
  await mkdir(dir, {recursive: true})
  const tarball = join(dir, sdkTarballName(options.name, options.arch, options.version))
  await run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cjf', tarball, '.'])
  const signature = `${tarball}.sig`
  await writeFile(signature, await signDetached(await readFile(tarball), options.key))
  return {tarball, signature, mirror: options.mirror}
}
