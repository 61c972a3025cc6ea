import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {FAKE_SCALEWAY_PROJECT, FAKE_SCALEWAY_SECRET, FAKE_SCALEWAY_SNAPSHOT, FakeScaleway} from '../../testing/fake-cloud/scaleway.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's Scaleway platform against a fake Scaleway Instance API (testing/fake-cloud/scaleway.ts, the
// shapes of Scaleway's API reference as scaleway-sdk-go sends them for flatcar/mantle
// platform/api/scaleway/instance.go and platform/machine/scaleway/cluster.go: a stopped server from
// the snapshot, the Ignition config as "cloud-init" user data, poweron, public_ip, terminate). Every
// server powered on is a real QEMU machine from the test image booted with that user data.
// Scaleway's API has no console output, so console.txt stays empty.
const image = testImage()

describe('kola on Scaleway (fake API)', () => {
  let fake: FakeScaleway
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeScaleway({machines: qemuMachines(join(dir, 'machines'))}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home whose ~/.config/scaleway.json holds the key, the API pointed at `url` (SCW_API_URL, the SDK's variable). */
  async function env(name: string, secret = FAKE_SCALEWAY_SECRET, url = fake.url): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    const profile = {access_key: 'SCWFAKE0000000000001', secret_key: secret, project_id: FAKE_SCALEWAY_PROJECT}
    await writeFile(join(home, 'home', '.config', 'scaleway.json'), JSON.stringify({default: profile}), {mode: 0o600})
    return kolaEnv(home, {SCW_API_URL: url})
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'scaleway',
    '--scaleway-image',
    FAKE_SCALEWAY_SNAPSHOT,
    '--scaleway-zone',
    'fr-par-1',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it('Given a secret key the API refuses, when kola runs on scaleway, then one line, exit 2, and nothing was created', async () => {
    const before = fake.creates()
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', 'wrong-secret-000')})
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([
      expect.stringContaining('scaleway refused the credentials (401: denied_authentication: invalid auth token)'),
    ])
    expect(r.stderr).not.toContain('wrong-secret-000')
    expect(fake.creates()).toBe(before)
  })

  it('Given a snapshot the zone lacks, when kola runs on scaleway, then one line, exit 3, and nothing was created', async () => {
    const before = fake.creates()
    const args = kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic')
    args[args.indexOf('--scaleway-image') + 1] = '00000000-0000-4000-8000-000000000000'
    const r = await runCli('kola', args, {env: await env('badimage')})
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual([
      'kola: error: scaleway: snapshot 00000000-0000-4000-8000-000000000000 does not exist in fr-par-1',
    ])
    expect(fake.creates()).toBe(before)
  })

  it('Given an exhausted quota, when kola runs on scaleway, then exit 3 naming quotas_exceeded, and nothing is left', async () => {
    const limited = await new FakeScaleway({machines: qemuMachines(join(dir, 'limited')), serverQuota: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: await env('quota', FAKE_SCALEWAY_SECRET, limited.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('403 quotas_exceeded: Quotas exceeded')
      expect(limited.live()).toEqual({servers: [], volumes: []})
    } finally {
      await limited.stop()
    }
  })

  it('Given user data the API refuses after the server exists, when kola launches on scaleway, then exit 3 and the server and its volume are deleted', async () => {
    const failing = await new FakeScaleway({machines: qemuMachines(join(dir, 'failing')), userDataError: 'user data too large'}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_halfway_temp'), 'coreos.basic'), {
        env: await env('halfway', FAKE_SCALEWAY_SECRET, failing.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('400 invalid_request_error: user data too large')
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(failing.creates()).toBe(1)
      expect(failing.calls.filter((c) => c.startsWith('DELETE /'))).toHaveLength(2)
      expect(failing.live()).toEqual({servers: [], volumes: []})
    } finally {
      await failing.stop()
    }
  })

  describe.skipIf(!image.available)('with real machines', () => {
    it(
      'Given the fake API, when kola runs coreos.basic and coreos.ignition on scaleway, then both pass on real machines and nothing is left',
      {timeout: 45 * 60_000},
      async () => {
        const out = join(dir, '_scaleway_temp')
        const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})
        expect(r.stderr).not.toMatch(/internal error/)
        expect(r.code).toBe(0)
        const run = topLevelResults(out)
        expect(run.platform).toBe('scaleway')
        expect(run.results).toEqual({'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'})
        for (const test of ['coreos.basic', 'coreos.ignition']) {
          expect(readFileSync(join(machineDir(out, test), 'instance.txt'), 'utf8')).toMatch(/^[0-9a-f-]{36} 127\.\d+\.\d+\.\d+:22\n$/)
          expect(readFileSync(join(machineDir(out, test), 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        }
        expect(fake.calls.filter((c) => /^PATCH \/servers\/.*\/user_data\/cloud-init$/.test(c))).toHaveLength(2)
        expect(fake.live()).toEqual({servers: [], volumes: []})
      },
    )

    const actions = () => fake.calls.filter((c) => c.endsWith('/action')).length

    it(
      'Given kola killed with SIGKILL mid-run, when ore scaleway gc runs, then it finds and deletes the server and its volume',
      {timeout: 10 * 60_000},
      async () => {
        const {child, exited} = await startKolaRun(kolaArgs(join(dir, '_sigkill_temp'), 'coreos.basic'), await env('sigkill'), actions)
        child.kill('SIGKILL')
        await exited
        const left = fake.live()
        expect(left.servers).toHaveLength(1)
        const e = await env('gc')
        const dry = await runCli('ore', ['scaleway', 'gc', '--duration', '0s', '--dry-run', '--json'], {env: e})
        expect(dry.code).toBe(0)
        expect(fake.live()).toEqual(left)
        const gc = await runCli('ore', ['scaleway', 'gc', '--duration', '0s', '--json'], {env: e})
        expect(gc.code).toBe(0)
        expect(JSON.parse(gc.stdout)).toMatchObject({servers: left.servers})
        expect(fake.live()).toEqual({servers: [], volumes: []})
      },
    )

    it(
      'Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its server and volume',
      {timeout: 10 * 60_000},
      async () => {
        const {child, exited} = await startKolaRun(kolaArgs(join(dir, '_sigint_temp'), 'coreos.basic'), await env('sigint'), actions)
        child.kill('SIGINT')
        expect(await exited).not.toBe(0)
        expect(fake.live()).toEqual({servers: [], volumes: []})
      },
    )
  })
})
