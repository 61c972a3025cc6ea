import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_BRIGHTBOX_CLIENT, FAKE_BRIGHTBOX_IMAGE, FakeBrightbox} from '../../testing/fake-cloud/brightbox.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's Brightbox platform against a fake Brightbox API 1.0
// (testing/fake-cloud/brightbox.ts) whose servers are real QEMU machines from
// the test image, configured by the base64 user_data kola sent, reached at
// the public address of the cloud IP kola mapped to them (flatcar/mantle
// platform/api/brightbox/api.go CreateServer, MapCloudIP; UnMapCloudIP before
// DestroyServer). Brightbox's API has no console output.
const image = testImage()

describe.skipIf(!image.available)('kola on Brightbox (fake API, real machines)', () => {
  let fake: FakeBrightbox
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeBrightbox({machines: qemuMachines(join(dir, 'machines'))}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  async function env(name: string, secret = FAKE_BRIGHTBOX_CLIENT.client_secret): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    await writeFile(
      join(home, 'home', '.config', 'brightbox.json'),
      JSON.stringify({default: {...FAKE_BRIGHTBOX_CLIENT, client_secret: secret}}),
      {
        mode: 0o600,
      },
    )
    return kolaEnv(home)
  }

  const kolaArgs = (out: string, endpoint: string, ...rest: string[]) => [
    'run',
    '-p',
    'brightbox',
    '--brightbox-image',
    rest.includes('--brightbox-image') ? (rest.splice(rest.indexOf('--brightbox-image'), 2)[1] as string) : FAKE_BRIGHTBOX_IMAGE,
    '--brightbox-endpoint',
    endpoint,
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake Brightbox, when kola runs coreos.basic and coreos.ignition, then both pass on real machines reached at their cloud IPs, and no server or cloud IP is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_bb_temp')
      const r = await runCli('kola', kolaArgs(out, fake.url, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'brightbox', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      for (const test of ['coreos.basic', 'coreos.ignition'])
        expect(readFileSync(join(machineDir(out, test), 'instance.txt'), 'utf8')).toMatch(/^srv-[0-9a-f]{5} 127\.\d+\.\d+\.\d+:22\n$/)
      const servers = [...fake.servers.values()]
      expect(servers).toHaveLength(2)
      for (const s of servers) {
        expect(s.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(s.serverType).toBe('2gb.ssd')
        expect(s.status).toBe('deleted')
      }
      expect(fake.calls.filter((c) => c.endsWith('/unmap'))).toHaveLength(2)
      expect(fake.live()).toEqual({servers: [], cloudIps: []})
    },
  )

  it('Given a client secret Brightbox refuses, when kola runs, then one line, exit 2, and nothing is created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), fake.url, 'coreos.basic'), {
      env: await env('badcreds', 'wrong-secret'),
    })
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('brightbox token refused the credentials (401: invalid_client)')
    expect(fake.calls.slice(before)).toEqual(['POST /token'])
  })

  it('Given an image the account lacks, when kola runs, then one line, exit 3, and nothing is created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), fake.url, 'coreos.basic', '--brightbox-image', 'img-gone0'), {
      env: await env('badimage'),
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('kola: error: brightbox: image img-gone0 does not exist')
    expect(fake.calls.slice(before)).toEqual(['POST /token', 'GET /1.0/images/img-gone0'])
  })

  it(
    'Given no cloud IP left in the quota, when kola launches, then exit 3 in one line, and the server it made is deleted',
    {timeout: 10 * 60_000},
    async () => {
      const limited = await new FakeBrightbox({machines: qemuMachines(join(dir, 'limited')), cloudIpLimit: 0}).start()
      try {
        const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), limited.url, 'coreos.basic'), {env: await env('quota')})
        expect(r.code).toBe(3)
        expect(errorLines(r.stderr)).toHaveLength(1)
        expect(r.stderr).toContain('Cloud IP limit reached for account')
        expect(limited.creates()).toEqual(['POST /1.0/servers', 'POST /1.0/cloud_ips'])
        expect(limited.live()).toEqual({servers: [], cloudIps: []})
      } finally {
        await limited.stop()
      }
    },
  )

  const startRun = async (name: string) =>
    startKolaRun(kolaArgs(join(dir, `_${name}_temp`), fake.url, 'coreos.basic'), await env(name), () => fake.servers.size)

  it(
    'Given kola killed with SIGKILL mid-run, when ore brightbox gc runs, then it finds and deletes the server the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.servers).toHaveLength(1)
      const gc = await runCli('ore', ['brightbox', 'gc', '--duration', '0s', '--brightbox-endpoint', fake.url, '--json'], {
        env: await env('gc'),
      })
      expect(gc.code).toBe(0)
      expect((JSON.parse(gc.stdout) as {servers: string[]}).servers).toEqual(left.servers)
      expect(fake.live().servers).toEqual([])
    },
  )

  it('Given kola interrupted with SIGINT mid-run, when it exits, then its server is deleted', {timeout: 10 * 60_000}, async () => {
    const {child, exited} = await startRun('sigint')
    child.kill('SIGINT')
    expect(await exited).not.toBe(0)
    expect(fake.live()).toEqual({servers: [], cloudIps: []})
  })
})
