import {randomInt} from 'node:crypto'
import {chmod, chown, mkdir, mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type Docker from 'dockerode'

import {makeTestKey, type TestKey} from '@mantle/kit/verify/testing'
import {runCli, type CliResult} from '@mantle/test-utils'

import {connectDocker} from '../services/engine/docker.js'
import {resolveEndpoint} from '../services/engine/endpoint.js'
import {LABEL} from '../services/sdk/container.js'
import {imageRef} from '../services/sdk/layout.js'
import {makeSdkFixture} from './sdk-fixture.js'

/**
 * A checkout, a signed SDK mirror and an engine connection for tests that
 * run cork against a real engine (Docker Engine, or Podman's
 * Docker-compatible service, each started by scripts/services/<name>.sh).
 * cork runs as an ordinary uid (TEST_USER), as a developer would, so that the
 * uid/gid mapping is proven, not assumed from root.
 */
export const ENGINES = [
  {engine: 'docker', variable: 'CORK_TEST_DOCKER_HOST'},
  {engine: 'podman', variable: 'CORK_TEST_PODMAN_HOST'},
] as const

export const TEST_USER = 4242
export const TEST_ARCH = 'amd64'

export interface Testbed {
  dir: string
  checkout: string
  mirror: string
  keyFile: string
  key: TestKey
  /** The group that may use the engine's socket: cork runs with it. */
  gid: number
  docker: Docker
  /** SDK versions on the mirror, unique to this run: parallel runs on one engine never share names. */
  versions: string[]
  /** Runs cork as TEST_USER in the checkout (or `cwd`). */
  cork(args: string[], options?: {input?: string; cwd?: string; env?: NodeJS.ProcessEnv; stallMs?: number}): Promise<CliResult>
  /** `args` with the test mirror and its key. */
  withSdk(args: string[]): string[]
  /** Writes the checkout's version.txt (the OS version defaults to `<sdk>-os`). */
  versionFile(sdk: string, os?: string): Promise<void>
  /** The engine's containers of this checkout. */
  containersOf(): Promise<Docker.ContainerInfo[]>
  imageExists(version: string): Promise<boolean>
  /** Removes the containers, the images and the files. */
  cleanup(): Promise<void>
}

/** A testbed on the engine at `host`, with `count` signed SDK versions on its mirror (the first in version.txt). */
export async function makeTestbed(engine: string, host: string, count = 3): Promise<Testbed> {
  const base = `9${randomInt(100, 999)}.${randomInt(1000, 9999)}`
  const versions = Array.from({length: count}, (_, i) => `${base}.${i}`)
  const dir = await mkdtemp(join(tmpdir(), `cork-${engine}-`))
  const checkout = join(dir, 'checkout')
  const mirror = join(dir, 'mirror')
  const home = join(dir, 'home')
  for (const d of ['.repo/manifests', 'src/scripts']) await mkdir(join(checkout, d), {recursive: true})
  await mkdir(home, {recursive: true})
  await writeFile(join(checkout, 'src/scripts/.default_board'), `${TEST_ARCH}-usr\n`)
  const key = await makeTestKey({name: 'cork test SDK signer'})
  const keyFile = join(dir, 'sdk-signer.asc')
  await writeFile(keyFile, key.publicArmored)
  for (const version of versions)
    await makeSdkFixture({work: join(dir, 'work'), mirror, name: 'flatcar', arch: TEST_ARCH, version, key: key.privateKey})
  // The ordinary user owns the checkout and its home; the socket's group lets it reach the engine.
  for (const p of [
    checkout,
    join(checkout, '.repo'),
    join(checkout, '.repo/manifests'),
    join(checkout, 'src'),
    join(checkout, 'src/scripts'),
    home,
  ]) {
    await chown(p, TEST_USER, TEST_USER)
  }
  await chmod(dir, 0o755)
  const endpoint = resolveEndpoint({dockerHost: host, env: {}, home: dir})
  const gid = (await stat(endpoint.kind === 'unix' ? endpoint.socketPath : '/')).gid
  const docker = await connectDocker(endpoint)

  const versionFile = (sdk: string, os = `${sdk}-os`): Promise<void> =>
    writeFile(
      join(checkout, '.repo/manifests/version.txt'),
      `FLATCAR_VERSION=${os}\nFLATCAR_VERSION_ID=${os}\nFLATCAR_BUILD_ID=""\nFLATCAR_SDK_VERSION=${sdk}\n`,
    )
  await versionFile(versions[0]!)
  const containersOf = async (): Promise<Docker.ContainerInfo[]> =>
    (await docker.listContainers({all: true})).filter((c) => c.Labels?.[LABEL.source] === checkout)

  return {
    dir,
    checkout,
    mirror,
    keyFile,
    key,
    gid,
    docker,
    versions,
    cork: (args, options = {}) =>
      runCli('cork', [...args], {
        cwd: options.cwd ?? checkout,
        uid: TEST_USER,
        gid,
        input: options.input,
        stallMs: options.stallMs,
        timeoutMs: 300_000,
        // SHELL as a login sets it: oclif asks the passwd database otherwise, and uid 4242 has no entry.
        env: {PATH: process.env.PATH, HOME: home, SHELL: '/bin/sh', DOCKER_HOST: host, ...options.env},
      }),
    withSdk: (args) => [...args, '--sdk-url', mirror, '--verify-key', keyFile],
    versionFile,
    containersOf,
    imageExists: (version) =>
      docker
        .getImage(imageRef('flatcar', TEST_ARCH, version).ref)
        .inspect()
        .then(
          () => true,
          () => false,
        ),
    cleanup: async () => {
      for (const c of await containersOf())
        await docker
          .getContainer(c.Id)
          .remove({force: true})
          .catch(() => {})
      for (const v of versions)
        await docker
          .getImage(imageRef('flatcar', TEST_ARCH, v).ref)
          .remove({force: true})
          .catch(() => {})
      await rm(dir, {recursive: true, force: true})
    },
  }
}
