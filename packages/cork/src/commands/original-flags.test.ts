import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {serviceEnv} from '@mantle/test-utils'

import {LABEL} from '../services/sdk/container.js'
import {containerName} from '../services/sdk/layout.js'
import {SDK_CALLS} from '../testing/sdk-fixture.js'
import {ENGINES, makeTestbed, TEST_ARCH, TEST_USER, type Testbed} from '../testing/testbed.js'

/**
 * The original's chroot flags in the container world, against real engines:
 * --chroot (the container's name), --use-host-dns, and the manifest steps
 * (--manifest-url/-branch/-name, --verify-signature, update --force-sync),
 * which run the test SDK's fake repo and git (see ../testing/sdk-fixture.ts).
 */
describe.each(ENGINES)('cork --chroot, --use-host-dns and the manifest against $engine', ({engine, variable}) => {
  const {available} = serviceEnv([variable])
  const host = process.env[variable] ?? ''
  const NAME = `cork-test-chroot-${process.pid}-${engine}`
  const URL = 'https://example.test/manifest.git'
  let t: Testbed
  let hostDns: string

  /** The fake repo's and git's record, one line per run, emptied on reading. */
  const calls = async (): Promise<string[]> => {
    const file = join(t.checkout, SDK_CALLS)
    const text = await readFile(file, 'utf8').catch(() => '')
    await rm(file, {force: true})
    return text.split('\n').filter((l) => l !== '')
  }
  const ran = (tool: string, args: string): string => `${tool} uid=${TEST_USER} gid=${t.gid} cwd=/mnt/host/source args=${args}`
  const resolvConf = (container: string): Promise<string> =>
    t.docker
      .getContainer(container)
      .inspect()
      .then((info) => info.Mounts.find((m) => m.Destination === '/etc/resolv.conf')?.Source ?? '')

  beforeAll(async () => {
    if (!available) return
    t = await makeTestbed(engine, host, 2)
    hostDns = await readFile('/etc/resolv.conf', 'utf8')
  })

  afterAll(async () => {
    if (t) await t.cleanup()
  })

  it.skipIf(!available)(
    'create --chroot names the container; --manifest-url runs repo init, git verify-tag and repo sync inside, as the user',
    async () => {
      // Given a checkout at SDK v0
      // When the SDK is created under a name of the user's, with the host's DNS and a signed manifest tag
      const r = await t.cork(
        t.withSdk([
          'create',
          '--chroot',
          NAME,
          '--use-host-dns',
          '--json',
          '--manifest-url',
          URL,
          '--manifest-branch',
          'refs/tags/v1.2.3',
          '--manifest-name',
          'release.xml',
          '--verify-signature',
        ]),
      )
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      // Then the container has that name (and no container is named after the versions)
      expect(JSON.parse(r.stdout)).toMatchObject({
        container: NAME,
        repo: [
          ['repo', 'init', '-u', URL, '-b', 'refs/tags/v1.2.3', '-m', 'release.xml'],
          ['git', '-C', '.repo/manifests', 'verify-tag', 'v1.2.3'],
          ['repo', 'sync'],
        ],
      })
      const names = (await t.containersOf()).map((c) => c.Names[0]?.replace(/^\//, ''))
      expect(names).toEqual([NAME])
      const info = await t.docker.getContainer(NAME).inspect()
      expect(info.Config.Labels[LABEL.chroot]).toBe(NAME)
      // And the host's resolv.conf is mounted read-only
      expect(info.Mounts.find((m) => m.Destination === '/etc/resolv.conf')).toMatchObject({Source: '/etc/resolv.conf', RW: false})
      // And exactly these commands ran in the container, in the checkout, as the invoking uid and the engine's gid
      expect(await calls()).toEqual([
        ran('repo', `init -u ${URL} -b refs/tags/v1.2.3 -m release.xml`),
        ran('git', '-C .repo/manifests verify-tag v1.2.3'),
        ran('repo', 'sync'),
      ])
    },
  )

  it.skipIf(!available)('create without --manifest-url runs no repo; --manifest-branch defaults to master', async () => {
    const plain = await t.cork(t.withSdk(['create', '--chroot', NAME]))
    expect(plain.code).toBe(0)
    expect(await calls()).toEqual([])
    const r = await t.cork(t.withSdk(['create', '--chroot', NAME, '--manifest-url', URL]))
    expect(r.code).toBe(0)
    expect(await calls()).toEqual([ran('repo', `init -u ${URL} -b master -m default.xml`), ran('repo', 'sync')])
  })

  it.skipIf(!available)('enter --chroot enters that container, and only with the flag', async () => {
    // Given a second container, named after the versions, whose resolv.conf says something else
    const r = await t.cork(t.withSdk(['create']))
    expect(r.code).toBe(0)
    const generated = containerName('flatcar', TEST_ARCH, t.versions[0]!, `${t.versions[0]}-os`)
    await t.docker.getContainer(generated).inspect()
    expect(await resolvConf(generated)).not.toBe('/etc/resolv.conf')
    const set = await t.cork(['enter', '--user', '0:0', '--', 'sh', '-c', 'echo "nameserver 192.0.2.53" >/etc/resolv.conf'])
    expect(set.code).toBe(0)
    // When entering with and without --chroot (the fast path, and the full command), then each sees its own container
    expect((await t.cork(['enter', '--', 'cat', '/etc/resolv.conf'])).stdout).toBe('nameserver 192.0.2.53\n')
    expect((await t.cork(['enter', '--chroot', NAME, '--', 'cat', '/etc/resolv.conf'])).stdout).toBe(hostDns)
    expect((await t.cork(['enter', '-v', '--chroot', NAME, '--', 'cat', '/etc/resolv.conf'])).stdout).toBe(hostDns)
  })

  it.skipIf(!available)("enter --use-host-dns copies the host's resolv.conf into the container first", async () => {
    const r = await t.cork(['enter', '--use-host-dns', '--', 'cat', '/etc/resolv.conf'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(hostDns)
    expect(r.code).toBe(0)
    // And in a container that has the host's file mounted read-only, it is left as it is
    const mounted = await t.cork(['enter', '--chroot', NAME, '--use-host-dns', '--', 'cat', '/etc/resolv.conf'])
    expect(mounted.code).toBe(0)
    expect(mounted.stdout).toBe(hostDns)
  })

  it.skipIf(!available)('a failing repo or signature check exits non-zero with one line naming the step', async () => {
    // Given repo sync failing in the SDK
    await writeFile(join(t.checkout, '.sdk-fail-repo-sync'), '')
    // When updating with --force-sync, then exit 3 with one line that names the step, the container and repo's own words
    const sync = await t.cork(t.withSdk(['update', '--chroot', NAME, '--force-sync', '--log-level', 'error']))
    expect(sync.code).toBe(3)
    expect(sync.stderr.trim().split('\n')).toEqual([
      `cork: error: repo sync failed in ${NAME} (exit 6): repo: error: sync failed, as the test asked (run it with cork enter to see all of its output)`,
    ])
    expect(await calls()).toEqual([ran('repo', 'sync --force-sync')])
    await rm(join(t.checkout, '.sdk-fail-repo-sync'))
    // Given a manifest tag that does not verify: exit 1, and nothing is synced
    await writeFile(join(t.checkout, '.sdk-fail-git--C'), '')
    const tag = await t.cork(
      t.withSdk([
        'create',
        '--chroot',
        NAME,
        '--manifest-url',
        URL,
        '--manifest-branch',
        'v9',
        '--verify-signature',
        '--log-level',
        'error',
      ]),
    )
    expect(tag.code).toBe(1)
    expect(tag.stderr.trim().split('\n')).toHaveLength(1)
    expect(tag.stderr).toMatch(
      /^cork: error: the manifest tag v9 in \.repo\/manifests does not verify \(git verify-tag exited 6\): git: error: -C failed/,
    )
    expect(await calls()).toEqual([ran('repo', `init -u ${URL} -b v9 -m default.xml`), ran('git', '-C .repo/manifests verify-tag v9')])
    await rm(join(t.checkout, '.sdk-fail-git--C'))
  })

  it.skipIf(!available)(
    'update --chroot moves that container to the new SDK in place and leaves the others; --force-sync re-runs repo sync',
    async () => {
      // Given the checkout moved to SDK v1
      await t.versionFile(t.versions[1]!)
      // When the named container is updated
      const r = await t.cork(t.withSdk(['update', '--chroot', NAME, '--force-sync', '--json']))
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      // Then it keeps its name, now with the v1 SDK; the container named after v0 is still there, and so is its image
      expect(JSON.parse(r.stdout)).toMatchObject({
        action: 'updated',
        container: NAME,
        sdkVersion: t.versions[1],
        previous: {sdkVersion: t.versions[0]},
      })
      expect((await t.docker.getContainer(NAME).inspect()).Config.Labels[LABEL.sdkVersion]).toBe(t.versions[1])
      expect((await t.containersOf()).length).toBe(2)
      expect(await t.imageExists(t.versions[0]!)).toBe(true)
      expect((await t.cork(['enter', '--chroot', NAME, '--', 'cat', '/usr/lib/os-release'])).stdout).toContain(`VERSION=${t.versions[1]}`)
      // And repo sync ran again with --force-sync, without a repo init
      expect(await calls()).toEqual([ran('repo', 'sync --force-sync')])
    },
  )

  it.skipIf(!available)('delete --chroot removes that container alone', async () => {
    const r = await t.cork(['delete', '--chroot', NAME, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({containers: [NAME], images: [`flatcar-sdk-${TEST_ARCH}:${t.versions[1]}`]})
    const names = (await t.containersOf()).map((c) => c.Names[0]?.replace(/^\//, ''))
    expect(names).toEqual([containerName('flatcar', TEST_ARCH, t.versions[0]!, `${t.versions[0]}-os`)])
  })
})
