import {readdirSync, readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {dirname, join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {jumpHostAvailable, type JumpHostServer, startJumpHost} from '../../testing/fake-cloud/jump-host.js'

import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {
  FAKE_OS_IMAGE,
  FAKE_OS_NETWORK,
  FAKE_OS_PASSWORD,
  FAKE_OS_PROJECT,
  FAKE_OS_USER,
  FakeOpenStack,
} from '../../testing/fake-cloud/openstack.js'
import {errorLines, machineDir, profileEnv, startKolaRun, topLevelResults, useFakeCloud} from '../../testing/fake-cloud/runs.js'
import {testImage} from '../../testing/vm.js'

// kola's unchanged OpenStack platform against a fake OpenStack
// (testing/fake-cloud/openstack.ts): Keystone, Nova, Glance and Neutron
// answered over real HTTP with the shapes flatcar/mantle's
// platform/api/openstack/api.go and platform/machine/openstack/*.go use
// (password login and catalog, POST /servers with base64 user_data, key_name,
// metadata, security group and network; GET /servers/{id} until ACTIVE with
// its fixed address; the os-getConsoleOutput action; DELETE and 404).
// Every server is a real QEMU machine from the test image, configured by the
// user_data kola sent, with SSH on port 22 of the address Nova reports.
const image = testImage()
const EMPTY = {servers: [], keyPairs: [], securityGroups: [], floatingIps: []}

describe.skipIf(!image.available)('kola on OpenStack (fake Nova, real machines)', () => {
  const cloud = useFakeCloud((dir) => new FakeOpenStack({machines: qemuMachines(join(dir, 'machines')), activeDelayMs: 1000}).start())
  let fake: FakeOpenStack
  let dir: string
  beforeAll(() => {
    fake = cloud.fake()
    dir = cloud.dir()
  })

  /** An isolated home whose ~/.config/openstack.json points at a fake. */
  const env = (name: string, options: {password?: string; authUrl?: string} = {}) =>
    profileEnv(dir, name, 'openstack.json', {
      auth_url: options.authUrl ?? fake.authUrl,
      username: FAKE_OS_USER,
      password: options.password ?? FAKE_OS_PASSWORD,
      tenant_name: FAKE_OS_PROJECT,
      region_name: 'RegionOne',
    })

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'openstack',
    '--openstack-image',
    rest.includes('--openstack-image') ? (rest.splice(rest.indexOf('--openstack-image'), 2)[1] as string) : FAKE_OS_IMAGE,
    '--openstack-flavor',
    'm1.small',
    '--openstack-network',
    FAKE_OS_NETWORK,
    '--openstack-region',
    'RegionOne',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake OpenStack, when kola runs coreos.basic and coreos.ignition on openstack with a floating IP pool, then both pass on real machines configured by the user data, reached at their floating IPs, each console comes from os-getConsoleOutput, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_os_temp')
      const r = await runCli(
        'kola',
        kolaArgs(out, '--parallel', '2', '--openstack-floating-ip-pool', 'public', 'coreos.basic', 'coreos.ignition'),
        {env: await env('e2e')},
      )

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'openstack', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      const servers = [...fake.servers.values()]
      expect(servers).toHaveLength(2)
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        const [serverId, address] = readFileSync(join(m, 'instance.txt'), 'utf8').trim().split(' ')
        // SSH went to the floating IP (the fake forwards its port 22 to the fixed address, as Neutron's NAT does).
        expect(address).toMatch(/^127\.\d+\.\d+\.\d+:22$/)
        expect(address?.startsWith(`${fake.floatingPrefix}.`)).toBe(true)
        // The machine was configured by exactly the user_data Nova received: kola's Ignition config.
        const server = fake.servers.get(serverId as string)
        expect(JSON.parse(server?.userData ?? 'null')).toEqual(JSON.parse(readFileSync(join(m, 'ignition.json'), 'utf8')))
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
      }
      for (const s of servers) {
        expect(s.metadata['created-by']).toBe('mantle')
        expect(s.metadata['kola-run']).toMatch(/^kola-[0-9a-f]{8}$/)
        expect(s.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(s.keyName).toBe(s.metadata['kola-run'])
        expect(s.groups).toEqual([s.metadata['kola-run']])
        expect(s.status).toBe('DELETED')
      }
      expect(fake.actions.filter((a) => a === 'os-getConsoleOutput').length).toBeGreaterThanOrEqual(2)
      expect(fake.actions.filter((a) => a === 'addFloatingIp')).toHaveLength(2)
      expect(fake.actions.filter((a) => a === 'removeFloatingIp')).toHaveLength(2)
      expect(fake.live()).toEqual(EMPTY)
    },
  )

  it('Given a password Keystone refuses, when kola runs on openstack, then one line, exit 2, and nothing was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', {password: 'wrong'})})
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('keystone refused the credentials (401')
    expect(r.stderr).not.toContain('wrong')
    expect(fake.calls.slice(before)).toEqual(['POST /identity/v3/auth/tokens'])
  })

  it('Given an image the cloud lacks, when kola runs on openstack, then one line, exit 3, and nothing was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic', '--openstack-image', 'no-such-image'), {
      env: await env('badimage'),
    })
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual(['kola: error: openstack: image "no-such-image" does not exist (check --openstack-image)'])
    expect(fake.calls.slice(before).filter((c) => c.startsWith('POST /compute') || c.startsWith('POST /network'))).toEqual([])
  })

  it("Given an exhausted instance quota, when kola runs on openstack, then exit 3 naming the quota, and the run's key pair and group are deleted", async () => {
    const limited = await new FakeOpenStack({machines: qemuMachines(join(dir, 'limited')), instanceLimit: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: await env('quota', {authUrl: limited.authUrl}),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/was refused: Quota exceeded for instances: Requested 1, but already used 0 of 0 instances/)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(limited.creates()).toEqual([
        'POST /compute/v2.1/os-keypairs',
        'POST /network/v2.0/security-groups',
        'POST /compute/v2.1/servers',
      ])
      expect(limited.live()).toEqual(EMPTY)
    } finally {
      await limited.stop()
    }
  })

  it("Given a server that goes to ERROR, when kola runs on openstack, then exit 3 with Nova's fault, and the server, key pair and group are deleted", async () => {
    const machines = {start: () => Promise.reject(new Error('no host')), running: () => 0, stopAll: async () => undefined}
    const broken = await new FakeOpenStack({machines}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_error_temp'), 'coreos.basic'), {
        env: await env('error', {authUrl: broken.authUrl}),
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/failed: No valid host was found/)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(broken.servers.size).toBe(1)
      expect(broken.live()).toEqual(EMPTY)
    } finally {
      await broken.stop()
    }
  })

  const startRun = async (name: string) =>
    startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic'), await env(name), () => fake.servers.size)

  it(
    'Given kola killed with SIGKILL mid-run, when ore openstack gc runs, then it finds and deletes the server, key pair and security group the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.servers).toHaveLength(1)
      expect(left.keyPairs).toHaveLength(1)
      expect(left.securityGroups).toHaveLength(1)

      const gc = await runCli('ore', ['openstack', 'gc', '--duration', '0s', '--json'], {env: await env('gc')})
      expect(gc.stderr).not.toMatch(/internal error/)
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {deletedServers: string[]; deletedKeyPairs: string[]; deletedSecurityGroups: string[]}
      expect(result.deletedServers).toEqual(left.servers)
      expect(result.deletedKeyPairs).toEqual(left.keyPairs)
      expect(result.deletedSecurityGroups).toEqual(left.securityGroups)
      expect(fake.live()).toEqual(EMPTY)
    },
  )

  it(
    'Given kola interrupted with SIGINT mid-run, when it exits, then it has deleted its server, key pair and security group',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigint')
      child.kill('SIGINT')
      const code = await exited
      expect(code).not.toBe(0)
      expect(fake.live()).toEqual(EMPTY)
    },
  )
})

// --openstack-host, --openstack-user, --openstack-keyfile (flatcar/mantle
// cmd/kola/options.go; platform/machine/openstack/flight.go makes a jump
// dialer of them, network/jump.go: the host's own user and key, port 22 unless
// given): a real OpenSSH sshd in a network namespace (fake-cloud/jump-host.ts)
// whose machines' addresses exist only there, so kola reaches them only
// through sshd's TCP forwarding; systemd.reboot covers test commands, the
// journal, the reboot and the reconnection after it.
describe.skipIf(!image.available || !jumpHostAvailable())('kola on OpenStack through --openstack-host (a real sshd as jump host)', () => {
  let jump: JumpHostServer
  const cloud = useFakeCloud(async (dir) => {
    jump = await startJumpHost(join(dir, 'jump'))
    return new FakeOpenStack({machines: qemuMachines(join(dir, 'machines'), process.env, {netns: jump.netns}), activeDelayMs: 1000}).start()
  })
  afterAll(async () => {
    await jump?.stop()
  })

  const env = (name: string) =>
    profileEnv(cloud.dir(), name, 'openstack.json', {
      auth_url: cloud.fake().authUrl,
      username: FAKE_OS_USER,
      password: FAKE_OS_PASSWORD,
      tenant_name: FAKE_OS_PROJECT,
      region_name: 'RegionOne',
    })
  const kolaArgs = (out: string, keyFile: string, ...rest: string[]) => [
    'run',
    '-p',
    'openstack',
    '--openstack-image',
    FAKE_OS_IMAGE,
    '--openstack-network',
    FAKE_OS_NETWORK,
    '--openstack-host',
    jump.address,
    '--openstack-user',
    jump.user,
    '--openstack-keyfile',
    keyFile,
    ...`--ssh-timeout 900 --timeout 1800 --output-dir ${out}`.split(' '),
    ...rest,
  ]

  it(
    'Given machines reachable only from the jump host, when kola runs systemd.reboot with --openstack-host, then it passes, every SSH connection went through the jump host, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const fake = cloud.fake()
      const out = join(cloud.dir(), '_jump_temp')
      const r = await runCli('kola', kolaArgs(out, jump.keyFile, 'systemd.reboot'), {env: await env('jump')})
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'openstack', results: {'systemd.reboot': 'PASS'}})
      // The machine of the run's shared (non-exclusive) tests.
      const instance = readdirSync(out, {recursive: true})
        .map(String)
        .find((p) => p.endsWith('instance.txt'))
      const m = dirname(join(out, instance as string))
      const address = readFileSync(join(m, 'instance.txt'), 'utf8').trim().split(' ')[1] as string
      // The address Nova reported is not reachable from here: it exists only in the jump host's namespace.
      const [host, port] = address.split(':') as [string, string]
      const direct = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), host)
        socket.once('connect', () => (socket.destroy(), resolve('connected')))
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
      })
      expect(direct).toBe('ECONNREFUSED')
      // sshd forwarded kola's channels to it: the banner probes, the first connection, the one after the reboot.
      const forwards = (await jump.forwards()).filter((f) => f === address)
      expect(forwards.length).toBeGreaterThanOrEqual(2)
      expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
      expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
      expect(fake.live()).toEqual(EMPTY)
    },
  )

  it('Given an --openstack-keyfile that is no private key, when kola runs on openstack, then one line, exit 2, and OpenStack was not even asked', async () => {
    const fake = cloud.fake()
    const before = fake.calls.length
    const bad = join(cloud.dir(), 'not-a-key')
    await writeFile(bad, 'this is not a key\n')
    for (const [file, line] of [
      [bad, `kola: error: --openstack-keyfile ${bad}: not a usable private key (Unsupported key format)`],
      [join(cloud.dir(), 'missing-key'), `kola: error: --openstack-keyfile ${join(cloud.dir(), 'missing-key')}: cannot read it (ENOENT)`],
    ] as const) {
      const r = await runCli('kola', kolaArgs(join(cloud.dir(), '_badkey_temp'), file, 'coreos.basic'), {env: await env('badkey')})
      expect(errorLines(r.stderr)).toEqual([line])
      expect(r.code).toBe(2)
    }
    const noUser = await runCli(
      'kola',
      [...kolaArgs(join(cloud.dir(), '_nouser_temp'), jump.keyFile, 'coreos.basic')].filter(
        (a, i, all) => a !== '--openstack-user' && all[i - 1] !== '--openstack-user',
      ),
      {
        env: await env('nouser'),
      },
    )
    expect(errorLines(noUser.stderr)).toEqual(['kola: error: --openstack-host needs --openstack-user and --openstack-keyfile'])
    expect(noUser.code).toBe(2)
    expect(fake.calls.slice(before)).toEqual([])
  })
})
