import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_LINODE_IMAGE, FAKE_LINODE_TOKEN, FakeLinode} from '../../testing/fake-cloud/akamai.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's Akamai platform against a fake Linode API v4 (testing/fake-cloud/akamai.ts, the shapes of
// the Linode API reference as linodego sends them for flatcar/mantle platform/api/akamai/instance.go
// and platform/machine/akamai/cluster.go: an unbooted instance with base64 metadata.user_data, a
// disk from the image, a direct-disk config, boot, DELETE). Every booted instance is a real QEMU
// machine from the test image booted with the decoded user data. The Linode API has no console
// output, so console.txt stays empty.
const image = testImage()

describe('kola on Akamai (fake Linode API)', () => {
  let fake: FakeLinode
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeLinode({machines: qemuMachines(join(dir, 'machines'))}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home whose ~/.config/akamai.json holds `token`, the API pointed at `url` (LINODE_URL, linodego's variable). */
  async function env(name: string, token = FAKE_LINODE_TOKEN, url = fake.url): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    await writeFile(join(home, 'home', '.config', 'akamai.json'), JSON.stringify({default: {token}}), {mode: 0o600})
    return kolaEnv(home, {LINODE_URL: url})
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'akamai',
    '--akamai-image',
    FAKE_LINODE_IMAGE,
    '--akamai-region',
    'us-ord',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it('Given a token the API refuses, when kola runs on akamai, then one line, exit 2, and nothing was created', async () => {
    const before = fake.creates()
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', 'wrong-token-0000')})
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([expect.stringContaining('akamai refused the credentials (401: Invalid Token)')])
    expect(r.stderr).not.toContain('wrong-token-0000')
    expect(fake.creates()).toBe(before)
  })

  it('Given an image the account lacks, when kola runs on akamai, then one line, exit 3, and nothing was created', async () => {
    const before = fake.creates()
    const args = kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic')
    args[args.indexOf('--akamai-image') + 1] = 'private/999'
    const r = await runCli('kola', args, {env: await env('badimage')})
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual(['kola: error: akamai: image private/999 does not exist'])
    expect(fake.creates()).toBe(before)
  })

  it('Given the account limit reached, when kola runs on akamai, then exit 3 with the reason, and nothing is left', async () => {
    const limited = await new FakeLinode({machines: qemuMachines(join(dir, 'limited')), instanceLimit: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: await env('quota', FAKE_LINODE_TOKEN, limited.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('400 Account limit reached')
      expect(limited.live()).toEqual({instances: []})
    } finally {
      await limited.stop()
    }
  })

  it('Given a disk the API refuses after the instance exists, when kola launches on akamai, then exit 3 and the half-made instance is deleted', async () => {
    const failing = await new FakeLinode({
      machines: qemuMachines(join(dir, 'failing')),
      diskError: 'Insufficient space for the disk',
    }).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_halfway_temp'), 'coreos.basic'), {
        env: await env('halfway', FAKE_LINODE_TOKEN, failing.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('400 size: Insufficient space for the disk')
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(failing.creates()).toBe(1)
      expect(failing.calls).toContain(`DELETE /linode/instances/${failing.createdIds[0]}`)
      expect(failing.live()).toEqual({instances: []})
    } finally {
      await failing.stop()
    }
  })

  describe.skipIf(!image.available)('with real machines', () => {
    it(
      'Given the fake API, when kola runs coreos.basic and coreos.ignition on akamai, then both pass on real machines and nothing is left',
      {timeout: 45 * 60_000},
      async () => {
        const out = join(dir, '_akamai_temp')
        const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})
        expect(r.stderr).not.toMatch(/internal error/)
        expect(r.code).toBe(0)
        const run = topLevelResults(out)
        expect(run.platform).toBe('akamai')
        expect(run.results).toEqual({'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'})
        for (const test of ['coreos.basic', 'coreos.ignition']) {
          expect(readFileSync(join(machineDir(out, test), 'instance.txt'), 'utf8')).toMatch(/^\d+ 127\.\d+\.\d+\.\d+:22\n$/)
          expect(readFileSync(join(machineDir(out, test), 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        }
        expect(fake.calls.filter((c) => c.endsWith('/boot'))).toHaveLength(2)
        expect(fake.live()).toEqual({instances: []})
      },
    )

    const boots = () => fake.calls.filter((c) => c.endsWith('/boot')).length

    it(
      'Given kola killed with SIGKILL mid-run, when ore akamai gc runs, then it finds and deletes the instance',
      {timeout: 10 * 60_000},
      async () => {
        const {child, exited} = await startKolaRun(kolaArgs(join(dir, '_sigkill_temp'), 'coreos.basic'), await env('sigkill'), boots)
        child.kill('SIGKILL')
        await exited
        const left = fake.live()
        expect(left.instances).toHaveLength(1)
        const e = await env('gc')
        const dry = await runCli('ore', ['akamai', 'gc', '--duration', '0s', '--dry-run', '--json'], {env: e})
        expect(dry.code).toBe(0)
        expect(fake.live()).toEqual(left)
        const gc = await runCli('ore', ['akamai', 'gc', '--duration', '0s', '--json'], {env: e})
        expect(gc.code).toBe(0)
        expect(JSON.parse(gc.stdout)).toEqual({instances: left.instances, images: [], volumes: []})
        expect(fake.live()).toEqual({instances: []})
      },
    )

    it('Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its instance', {timeout: 10 * 60_000}, async () => {
      const {child, exited} = await startKolaRun(kolaArgs(join(dir, '_sigint_temp'), 'coreos.basic'), await env('sigint'), boots)
      child.kill('SIGINT')
      expect(await exited).not.toBe(0)
      expect(fake.live()).toEqual({instances: []})
    })
  })
})
