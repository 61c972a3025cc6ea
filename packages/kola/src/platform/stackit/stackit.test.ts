import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {
  FAKE_STACKIT_IMAGE,
  FAKE_STACKIT_NETWORK,
  FAKE_STACKIT_PROJECT,
  FAKE_STACKIT_TOKEN,
  FakeStackit,
} from '../../testing/fake-cloud/stackit.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's STACKIT platform against a fake IaaS API v2
// (testing/fake-cloud/stackit.ts) whose servers are real QEMU machines from
// the test image, configured by the base64 userData kola sent, reached at
// the public IP kola attached (flatcar/mantle platform/machine/stackit and
// platform/api/stackit/api.go), with the console from the server's /log.
const image = testImage()

describe.skipIf(!image.available)('kola on STACKIT (fake API, real machines)', () => {
  let fake: FakeStackit
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeStackit({machines: qemuMachines(join(dir, 'machines'))}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  async function env(name: string, token = FAKE_STACKIT_TOKEN): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    const profile = {project_id: FAKE_STACKIT_PROJECT, service_account_token: token, region: 'eu01'}
    await writeFile(join(home, 'home', '.config', 'stackit.json'), JSON.stringify({default: profile}), {mode: 0o600})
    return kolaEnv(home)
  }

  const kolaArgs = (out: string, endpoint: string, ...rest: string[]) => [
    'run',
    '-p',
    'stackit',
    '--stackit-image-id',
    rest.includes('--stackit-image-id') ? (rest.splice(rest.indexOf('--stackit-image-id'), 2)[1] as string) : FAKE_STACKIT_IMAGE,
    '--stackit-network-id',
    FAKE_STACKIT_NETWORK,
    '--stackit-endpoint',
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
    'Given the fake STACKIT, when kola runs coreos.basic and coreos.ignition, then both pass on real machines at their public IPs, consoles come from the server log, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_stackit_temp')
      const r = await runCli('kola', kolaArgs(out, fake.url, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'stackit', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      for (const test of ['coreos.basic', 'coreos.ignition'])
        expect(readFileSync(join(machineDir(out, test), 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
      const servers = [...fake.servers.values()]
      expect(servers).toHaveLength(2)
      for (const s of servers) {
        expect(s.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(s.labels).toEqual({'created-by': 'mantle', 'managed-by': 'mantle'})
        expect(s.keypairName).toMatch(/^kola-[0-9a-f]{8}$/)
        expect(s.status).toBe('DELETED')
      }
      expect(fake.live()).toEqual({servers: [], publicIps: [], keypairs: []})
    },
  )

  it('Given a token STACKIT refuses, when kola runs, then one line, exit 2, and nothing is created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), fake.url, 'coreos.basic'), {
      env: await env('badcreds', 'wrong-token'),
    })
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('stackit refused the credentials (401')
    expect(fake.calls.slice(before)).toEqual([`GET /v2/projects/${FAKE_STACKIT_PROJECT}/regions/eu01/images/${FAKE_STACKIT_IMAGE}`])
  })

  it('Given an image the project lacks, when kola runs, then one line, exit 3, and nothing is created', async () => {
    const before = fake.calls.length
    const gone = '0a5f2c2e-0000-4000-8000-00000000dead'
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), fake.url, 'coreos.basic', '--stackit-image-id', gone), {
      env: await env('badimage'),
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`kola: error: stackit: image ${gone} does not exist in eu01`)
    expect(fake.calls.slice(before).filter((c) => !c.startsWith('GET '))).toEqual([])
  })

  it(
    'Given an exhausted server quota, when kola launches, then exit 3 in one line, and the public IP and key pair it made are deleted',
    {timeout: 10 * 60_000},
    async () => {
      const limited = await new FakeStackit({machines: qemuMachines(join(dir, 'limited')), serverLimit: 0}).start()
      try {
        const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), limited.url, 'coreos.basic'), {env: await env('quota')})
        expect(r.code).toBe(3)
        expect(errorLines(r.stderr)).toHaveLength(1)
        expect(r.stderr).toContain('quota exceeded for servers')
        expect(limited.creates().map((c) => c.replace(/\/v2\/projects\/[^/]+\/regions\/eu01/, ''))).toEqual([
          'POST /v2/keypairs',
          'POST /public-ips',
          'POST /servers',
        ])
        expect(limited.live()).toEqual({servers: [], publicIps: [], keypairs: []})
      } finally {
        await limited.stop()
      }
    },
  )

  const startRun = async (name: string) =>
    startKolaRun(kolaArgs(join(dir, `_${name}_temp`), fake.url, 'coreos.basic'), await env(name), () => fake.servers.size)

  it(
    'Given kola killed with SIGKILL mid-run, when ore stackit gc runs, then it finds and deletes the server, public IP and key pair the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.servers).toHaveLength(1)
      expect(left.keypairs).toHaveLength(1)
      const gc = await runCli('ore', ['stackit', 'gc', '--duration', '0s', '--stackit-endpoint', fake.url, '--json'], {
        env: await env('gc'),
      })
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {servers: string[]; keypairs: string[]; publicIps: string[]}
      expect(result.servers).toEqual(left.servers)
      expect(result.keypairs).toEqual(left.keypairs)
      expect(fake.live()).toEqual({servers: [], publicIps: [], keypairs: []})
    },
  )

  it(
    'Given kola interrupted with SIGINT mid-run, when it exits, then its server, public IP and key pair are deleted',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigint')
      child.kill('SIGINT')
      expect(await exited).not.toBe(0)
      expect(fake.live()).toEqual({servers: [], publicIps: [], keypairs: []})
    },
  )
})
