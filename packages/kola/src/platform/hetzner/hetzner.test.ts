import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_HETZNER_IMAGE, FAKE_HETZNER_TOKEN, FakeHetzner} from '../../testing/fake-cloud/hetzner.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's Hetzner platform against a fake Hetzner Cloud API (testing/fake-cloud/hetzner.ts, the
// shapes of docs.hetzner.cloud as hcloud-go sends them for flatcar/mantle platform/api/hetzner/api.go
// and platform/machine/hetzner/{flight,cluster}.go: an SSH key per run, POST /servers with the
// Ignition config as user_data, actions waited for, DELETE /servers/{id}). Every server is a real
// QEMU machine from the test image booted with the user_data the fake received. The Hetzner API
// has no console output, so console.txt stays empty (flatcar/mantle's machine.go reads none either).
const image = testImage()

describe('kola on Hetzner (fake API)', () => {
  let fake: FakeHetzner
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeHetzner({machines: qemuMachines(join(dir, 'machines'))}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home whose ~/.config/hetzner.json holds `token`, the API pointed at `url` (HCLOUD_ENDPOINT, hcloud-go's variable). */
  async function env(name: string, token = FAKE_HETZNER_TOKEN, url = fake.url): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    await writeFile(join(home, 'home', '.config', 'hetzner.json'), JSON.stringify({default: {token}}), {mode: 0o600})
    return kolaEnv(home, {HCLOUD_ENDPOINT: url})
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'hetzner',
    '--hetzner-image',
    String(FAKE_HETZNER_IMAGE),
    '--hetzner-server-type',
    'cx22',
    '--hetzner-location',
    'fsn1',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it('Given a token the API refuses, when kola runs on hetzner, then one line, exit 2, and nothing was created', async () => {
    const before = fake.creates()
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', 'wrong-token-0000')})
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([
      expect.stringContaining('hetzner refused the credentials (401: unauthorized: unable to authenticate)'),
    ])
    expect(r.stderr).not.toContain('wrong-token-0000')
    expect(fake.creates()).toBe(before)
  })

  it('Given an image id the project lacks, when kola runs on hetzner, then one line, exit 3, and nothing was created', async () => {
    const before = fake.creates()
    const args = kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic')
    args[args.indexOf('--hetzner-image') + 1] = '999999'
    const r = await runCli('kola', args, {env: await env('badimage')})
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual(['kola: error: hetzner: image 999999 does not exist for x86'])
    expect(fake.creates()).toBe(before)
  })

  it("Given an exhausted server limit, when kola runs on hetzner, then exit 3 naming resource_limit_exceeded, and the run's SSH key is deleted", async () => {
    const limited = await new FakeHetzner({machines: qemuMachines(join(dir, 'limited')), serverLimit: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: await env('quota', FAKE_HETZNER_TOKEN, limited.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('403 resource_limit_exceeded: server limit exceeded')
      expect(limited.calls).toContain('POST /ssh_keys')
      expect(limited.live()).toEqual({servers: [], sshKeys: []})
    } finally {
      await limited.stop()
    }
  })

  it('Given a server whose create action fails, when kola launches on hetzner, then exit 3 and the server and the run key are deleted', async () => {
    const failing = await new FakeHetzner({
      machines: qemuMachines(join(dir, 'failing')),
      createActionError: 'no capacity in fsn1-dc14',
    }).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_halfway_temp'), 'coreos.basic'), {
        env: await env('halfway', FAKE_HETZNER_TOKEN, failing.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toContain('hetzner: create_server failed: action_failed: Error: no capacity in fsn1-dc14')
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(failing.calls.filter((c) => c === 'POST /servers')).toHaveLength(1)
      expect(failing.calls.filter((c) => c.startsWith('DELETE /servers/'))).toHaveLength(1)
      expect(failing.live()).toEqual({servers: [], sshKeys: []})
    } finally {
      await failing.stop()
    }
  })

  describe.skipIf(!image.available)('with real machines', () => {
    it(
      'Given the fake API, when kola runs coreos.basic and coreos.ignition on hetzner, then both pass on real machines and nothing is left',
      {timeout: 45 * 60_000},
      async () => {
        const out = join(dir, '_hetzner_temp')
        const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})
        expect(r.stderr).not.toMatch(/internal error/)
        expect(r.code).toBe(0)
        const run = topLevelResults(out)
        expect(run.platform).toBe('hetzner')
        expect(run.results).toEqual({'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'})
        for (const test of ['coreos.basic', 'coreos.ignition']) {
          expect(readFileSync(join(machineDir(out, test), 'instance.txt'), 'utf8')).toMatch(/^\d+ 127\.\d+\.\d+\.\d+:22\n$/)
          expect(readFileSync(join(machineDir(out, test), 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        }
        // The servers were named by the run, labelled with the marker and the run id, and got the run's key
        expect(fake.calls.filter((c) => c === 'POST /servers')).toHaveLength(2)
        expect(fake.calls.filter((c) => c === 'POST /ssh_keys')).toHaveLength(1)
        expect(fake.calls.filter((c) => c.startsWith('DELETE /servers/'))).toHaveLength(2)
        expect(fake.live()).toEqual({servers: [], sshKeys: []})
      },
    )

    const servers = () => fake.calls.filter((c) => c === 'POST /servers').length
    const startRun = async (name: string) => startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic'), await env(name), servers)

    it(
      'Given kola killed with SIGKILL mid-run, when ore hetzner gc runs, then it finds and deletes the server and SSH key the run left',
      {timeout: 10 * 60_000},
      async () => {
        const {child, exited} = await startRun('sigkill')
        child.kill('SIGKILL')
        await exited
        const left = fake.live()
        expect(left.servers).toHaveLength(1)
        expect(left.sshKeys).toHaveLength(1)

        const e = await env('gc')
        const dry = await runCli('ore', ['hetzner', 'gc', '--duration', '0s', '--dry-run', '--json'], {env: e})
        expect(dry.code).toBe(0)
        expect(fake.live()).toEqual(left)
        const gc = await runCli('ore', ['hetzner', 'gc', '--duration', '0s', '--json'], {env: e})
        expect(gc.code).toBe(0)
        expect(JSON.parse(gc.stdout)).toEqual({servers: left.servers, images: [], sshKeys: left.sshKeys, volumes: []})
        expect(fake.live()).toEqual({servers: [], sshKeys: []})
      },
    )

    it(
      'Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its server and SSH key',
      {timeout: 10 * 60_000},
      async () => {
        const {child, exited} = await startRun('sigint')
        child.kill('SIGINT')
        expect(await exited).not.toBe(0)
        expect(fake.live()).toEqual({servers: [], sshKeys: []})
      },
    )
  })
})
