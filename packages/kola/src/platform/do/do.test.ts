import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_DO_IMAGE_ID, FAKE_DO_IMAGE_NAME, FAKE_DO_REGION, FAKE_DO_TOKEN, FakeDo} from '../../testing/fake-cloud/do.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, startKolaRun, topLevelResults} from '../../testing/fake-cloud/runs.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's unchanged DigitalOcean platform against a fake API v2
// (testing/fake-cloud/do.ts), reached through DIGITALOCEAN_API_URL (doctl's
// and Terraform's override): every droplet is a real QEMU machine from the
// test image, configured by the `user_data` kola sent, with SSH on port 22 of
// its public v4 address. The calls and shapes are those of flatcar/mantle
// platform/api/do/api.go and platform/machine/do/*.go: the account checked,
// the image resolved (id or private image name in the region), an SSH key
// added per run and deleted at the end, droplets created with user_data and
// the "mantle" tag, polled until active, deleted; no console (machine.go:
// "DigitalOcean provides no API for retrieving ConsoleOutput").
const image = testImage()

describe.skipIf(!image.available)('kola on DigitalOcean (fake API, real machines)', () => {
  let fake: FakeDo
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeDo({machines: qemuMachines(join(dir, 'machines')), launchDelayMs: 200, runningDelayMs: 1000}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home with ~/.config/digitalocean.json (the fake's token, or another), the API pointed at the fake. */
  async function env(name: string, token = FAKE_DO_TOKEN, url = fake.url): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.config'), {recursive: true})
    await writeFile(join(home, 'home', '.config', 'digitalocean.json'), JSON.stringify({default: {token}}), {mode: 0o600})
    return kolaEnv(home, {DIGITALOCEAN_API_URL: url})
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'do',
    '--do-image',
    rest.includes('--do-image') ? (rest.splice(rest.indexOf('--do-image'), 2)[1] as string) : String(FAKE_DO_IMAGE_ID),
    '--do-region',
    FAKE_DO_REGION,
    '--do-size',
    's-1vcpu-1gb',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    "Given the fake DigitalOcean, when kola runs coreos.basic and coreos.ignition on do, then both pass on real droplets configured by their user_data, console.txt says there is no console API, and the droplets and the run's key are deleted",
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_do_temp')
      // The image by its name (a private image in the region), as the original also takes it.
      const r = await runCli(
        'kola',
        kolaArgs(out, '--do-image', FAKE_DO_IMAGE_NAME, '--parallel', '2', 'coreos.basic', 'coreos.ignition'),
        {
          env: await env('e2e'),
        },
      )

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({
        platform: 'do',
        results: {
          'coreos.basic': 'PASS',
          'coreos.ignition': 'PASS',
        },
      })
      const droplets = [...fake.droplets.values()]
      expect(droplets).toHaveLength(2)
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        const [id] = readFileSync(join(m, 'instance.txt'), 'utf8').split(' ')
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(/^\d+ 127\.\d+\.\d+\.\d+:22\n$/)
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toMatch(/^DigitalOcean has no API that returns a droplet's serial console/)
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        const droplet = fake.droplets.get(Number(id))
        expect(droplet?.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(droplet?.tags).toEqual(['mantle'])
        expect(droplet?.size).toBe('s-1vcpu-1gb')
        expect(droplet?.sshKeys).toHaveLength(1)
        // The machine booted with the config kola wrote, received as the droplet's user_data
        expect(JSON.parse(droplet?.userData ?? '')).toEqual(JSON.parse(readFileSync(join(m, 'ignition.json'), 'utf8')))
        expect(droplet?.deleted).toBe(true)
      }
      // One key for the run, named with the run id and the marker, deleted at the end
      expect(fake.calls.filter((c) => c === 'POST /v2/account/keys')).toHaveLength(1)
      expect(fake.calls.filter((c) => c === 'DELETE /v2/account/keys/:id')).toHaveLength(1)
      expect(fake.calls).toContain('GET /v2/actions/:id')
      expect(fake.live()).toEqual({droplets: [], keys: []})
    },
  )

  it('Given a token DigitalOcean refuses, when kola runs on do, then one line, exit 2, and nothing was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', 'dop_v1_wrong')})
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toEqual([
      'kola: error: digitalocean GET /v2/account: digitalocean refused the credentials (401: Unable to authenticate you) (check the token in the DigitalOcean profile (--do-profile, --do-config-file))',
    ])
    expect(r.stderr).not.toContain('dop_v1_wrong')
    expect(fake.calls.slice(before)).toEqual(['GET /v2/account'])
  })

  it('Given an image id that does not exist, when kola runs on do, then one line, exit 3, and nothing was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic', '--do-image', '123'), {env: await env('badimage')})
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual(['kola: error: do: image 123 does not exist'])
    expect(fake.calls.slice(before)).toEqual(['GET /v2/account', 'GET /v2/images/:id'])
  })

  it("Given the droplet limit reached, when kola runs on do, then exit 3 naming the limit, and the run's key is deleted", async () => {
    const limited = await new FakeDo({machines: qemuMachines(join(dir, 'limited')), dropletLimit: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: await env('quota', FAKE_DO_TOKEN, limited.url),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/digitalocean POST \/v2\/droplets: 422 creating this\/these droplet\(s\) will exceed your droplet limit/)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(limited.calls).toContain('POST /v2/account/keys')
      expect(limited.live()).toEqual({droplets: [], keys: []})
    } finally {
      await limited.stop()
    }
  })

  /** Starts kola run coreos.basic and resolves once the fake has created its droplet. */
  async function startRun(name: string) {
    return startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic'), await env(name), () => fake.droplets.size)
  }

  it(
    'Given kola killed with SIGKILL mid-run, when ore do gc runs, then it finds and deletes the droplet and the SSH key the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.droplets).toHaveLength(1)
      expect(left.keys).toHaveLength(1)

      const gc = await runCli('ore', ['do', 'gc', '--duration', '0s', '--json'], {env: await env('gc')})
      expect(gc.stderr).not.toMatch(/internal error/)
      expect(gc.code).toBe(0)
      expect(JSON.parse(gc.stdout)).toEqual({deletedDroplets: left.droplets, deletedKeys: left.keys})
      expect(fake.live()).toEqual({droplets: [], keys: []})
    },
  )

  it(
    'Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its droplet and its key',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigint')
      child.kill('SIGINT')
      const code = await exited
      expect(code).not.toBe(0)
      expect(fake.live()).toEqual({droplets: [], keys: []})
    },
  )
})

describe('the do platform in kola', () => {
  it('Given kola, when it lists the tests of do and run shows its help, then the platform and its --do-* flags are there', async () => {
    const {dir, cleanup} = await makeTempDir()
    try {
      const list = await runCli('kola', ['list', '-p', 'do', '--json'], {env: kolaEnv(dir)})
      expect(list.code).toBe(0)
      expect((JSON.parse(list.stdout) as {tests: Array<{name: string}>}).tests.map((t) => t.name)).toContain('coreos.basic')
      const help = await runCli('kola', ['run', '--help'], {env: kolaEnv(dir)})
      for (const flag of ['--do-image', '--do-region', '--do-size', '--do-profile', '--do-token']) expect(help.stdout).toContain(flag)
    } finally {
      await cleanup()
    }
  })
})
