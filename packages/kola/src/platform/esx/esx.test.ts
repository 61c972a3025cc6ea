import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {beforeAll, describe, expect, it} from 'vitest'

import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {errorLines, machineDir, profileEnv, startKolaRun, topLevelResults, useFakeCloud} from '../../testing/fake-cloud/runs.js'
import {FAKE_BASE_VM, FAKE_VC_PASSWORD, FAKE_VC_USER, FakeVsphere} from '../../testing/fake-cloud/vsphere.js'
import {testImage} from '../../testing/vm.js'

// kola's unchanged ESX platform against a fake vCenter
// (testing/fake-cloud/vsphere.ts) speaking the vSphere Automation REST API:
// a VM deployed from the base image's content library item with the Ignition
// config in the vApp properties Flatcar's VMware image reads
// (guestinfo.ignition.config.data, base64, and .encoding: flatcar/mantle
// platform/api/esx/api.go), a serial port writing serial.out in its
// directory (read back through vCenter's /folder file access, as the
// original's GetConsoleOutput), powered on, its address from the guest
// identity VMware Tools report, powered off and deleted. Every powered-on VM is a real
// QEMU machine from the test image configured by that guestinfo, with SSH on
// port 22 of the reported address. The e2e run also takes Flatcar's
// --esx-static-ips flags (cmd/kola/options.go): each machine gets its pair of
// the pool (platform/machine/esx/flight.go) as the networkd unit
// 00-vmware.network in its Ignition config (cluster.go); the fake's machine is
// a VMware look-alike whose port 22 is forwarded to that static address only.
const image = testImage()

/** Two static pairs (192.168.76.50-51 via .1, 10.0.3.50-51 via 10.0.3.1, /24) on the fake's default VM network. */
const STATIC_IPS = [
  '--esx-static-ips',
  '2',
  '--esx-first-static-ip',
  '192.168.76.50',
  '--esx-gateway',
  '192.168.76.1',
  '--esx-first-static-ip-private',
  '10.0.3.50',
  '--esx-gateway-private',
  '10.0.3.1',
  '--esx-subnet-size',
  '24',
]

describe.skipIf(!image.available)('kola on ESX (fake vCenter, real machines)', () => {
  const cloud = useFakeCloud((dir) => new FakeVsphere({machines: qemuMachines(join(dir, 'machines')), toolsDelayMs: 1000}).start())
  let fake: FakeVsphere
  let dir: string
  beforeAll(() => {
    fake = cloud.fake()
    dir = cloud.dir()
  })

  /** An isolated home whose ~/.config/esx.json points at a fake. */
  const env = (name: string, options: {password?: string; server?: string} = {}) =>
    profileEnv(dir, name, 'esx.json', {
      server: options.server ?? fake.url,
      user: FAKE_VC_USER,
      password: options.password ?? FAKE_VC_PASSWORD,
    })

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'esx',
    '--esx-base-vm',
    rest.includes('--esx-base-vm') ? (rest.splice(rest.indexOf('--esx-base-vm'), 2)[1] as string) : FAKE_BASE_VM,
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake vCenter, when kola runs coreos.basic and coreos.ignition on esx, then both pass on real machines configured by the guestinfo, each console comes from the serial port datastore file, and every VM is deleted',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_esx_temp')
      const r = await runCli('kola', kolaArgs(out, ...STATIC_IPS, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {
        env: await env('e2e'),
      })

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect(topLevelResults(out)).toEqual({platform: 'esx', results: {'coreos.basic': 'PASS', 'coreos.ignition': 'PASS'}})
      const vms = [...fake.vms.values()]
      expect(vms).toHaveLength(2)
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const m = machineDir(out, test)
        const [vmId] = readFileSync(join(m, 'instance.txt'), 'utf8').split(' ')
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(/^vm-\d+ 127\.\d+\.\d+\.\d+:22\n$/)
        // The machine was configured by exactly the guestinfo the deploy set: kola's Ignition config, base64.
        const vm = fake.vms.get(vmId as string)
        expect(vm?.properties['guestinfo.ignition.config.data.encoding']).toBe('base64')
        expect(JSON.parse(FakeVsphere.ignitionOf(vm!))).toEqual(JSON.parse(readFileSync(join(m, 'ignition.json'), 'utf8')))
        // The console is the serial port's datastore file, read through vCenter's file access.
        expect(vm?.serialFile).toBe(`${vm?.name}/serial.out`)
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
        // Its static pair, in Flatcar's unit: SSH reached it, and the fake forwards port 22 only to that address.
        const files = (JSON.parse(FakeVsphere.ignitionOf(vm!)) as {storage: {files: Array<{path: string; contents: {source: string}}>}})
          .storage.files
        const unit = decodeURIComponent(files.find((f) => f.path === '/etc/systemd/network/00-vmware.network')!.contents.source.slice(6))
        expect(unit).toContain(`Address=${vm?.staticAddress}/24\n`)
        expect(unit).toMatch(/^Address=10\.0\.3\.5[01]\/24$/m)
      }
      expect(vms.map((v) => v.staticAddress).sort()).toEqual(['192.168.76.50', '192.168.76.51'])
      for (const v of vms) {
        expect(v.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0-t[0-9a-z]{6,8}$/)
        expect(v.deleted).toBe(true)
      }
      expect(fake.calls.filter((c) => c.endsWith('/power?action=stop'))).toHaveLength(2)
      expect(fake.calls.filter((c) => c.startsWith('GET /folder/')).length).toBeGreaterThanOrEqual(2)
      expect(fake.live()).toEqual([])
    },
  )

  it('Given incomplete or inconsistent --esx-static-ips flags, when kola runs on esx, then one line each, exit 2, and vCenter was not even asked', async () => {
    const before = fake.calls.length
    const without = (flag: string) => STATIC_IPS.filter((_, i, a) => a[i] !== flag && a[i - 1] !== flag)
    const replaced = (flag: string, value: string) => STATIC_IPS.map((v, i, a) => (a[i - 1] === flag ? value : v))
    const cases: Array<[string[], string]> = [
      [without('--esx-gateway-private'), 'kola: error: --esx-static-ips needs --esx-gateway-private'],
      [['--esx-gateway', '192.168.76.1'], 'kola: error: --esx-gateway only apply with --esx-static-ips N'],
      [
        replaced('--esx-first-static-ip', '192.168.76.254'),
        "kola: error: --esx-first-static-ip 192.168.76.254 and 1 after it are not all in --esx-gateway's subnet /24",
      ],
      [
        replaced('--esx-gateway-private', '10.0.3.51'),
        'kola: error: --esx-gateway-private 10.0.3.51 is one of the 2 addresses from --esx-first-static-ip-private',
      ],
      [
        replaced('--esx-first-static-ip', '192.168.76.500'),
        'kola: error: --esx-first-static-ip wants an IPv4 address, got "192.168.76.500"',
      ],
      [replaced('--esx-subnet-size', '31'), 'kola: error: --esx-subnet-size wants a prefix length from 1 to 30, got 31'],
    ]
    for (const [flags, line] of cases) {
      const r = await runCli('kola', kolaArgs(join(dir, '_static_temp'), ...flags, 'coreos.basic'), {env: await env('static')})
      expect(errorLines(r.stderr)).toEqual([line])
      expect(r.code).toBe(2)
    }
    expect(fake.calls.slice(before)).toEqual([])
  })

  it('Given a password vCenter refuses, when kola runs on esx, then one line, exit 2, and nothing was deployed', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {env: await env('badcreds', {password: 'wrong'})})
    expect(r.code).toBe(2)
    const errors = errorLines(r.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('vsphere refused the credentials (401')
    expect(fake.calls.slice(before)).toEqual(['POST /api/session'])
  })

  it('Given a base image the library lacks, when kola runs on esx, then one line, exit 3, and nothing was deployed', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badimage_temp'), 'coreos.basic', '--esx-base-vm', 'no-such-base'), {
      env: await env('badimage'),
    })
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual([
      'kola: error: esx: no base image "no-such-base" in the content library "mantle" (make it with ore esx create-base)',
    ])
    expect(fake.calls.slice(before).filter((c) => c.includes('deploy') || c.includes('power'))).toEqual([])
  })

  it('Given a resource pool without room, when kola runs on esx, then exit 3 naming the reason, and no VM is left', async () => {
    const full = await new FakeVsphere({machines: qemuMachines(join(dir, 'full')), vmLimit: 0}).start()
    try {
      const r = await runCli('kola', kolaArgs(join(dir, '_full_temp'), 'coreos.basic'), {env: await env('full', {server: full.url})})
      expect(r.code).toBe(3)
      expect(errorLines(r.stderr)).toHaveLength(1)
      expect(r.stderr).toMatch(/deploying kola-[0-9a-f]{8}-coreos-basic-0-t[0-9a-z]+ failed: Insufficient resources/)
      expect(full.creates()).toHaveLength(1)
      expect(full.live()).toEqual([])
    } finally {
      await full.stop()
    }
  })

  /** kola run coreos.basic with --esx-ova-path: the run uploads its own image, a library item the run must remove too. */
  const startRun = async (name: string) => {
    const ova = join(dir, `${name}.ova`)
    await writeFile(ova, Buffer.alloc(64 * 1024, 1))
    return startKolaRun(kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic', '--esx-ova-path', ova), await env(name), () => fake.vms.size)
  }

  it(
    'Given kola killed with SIGKILL mid-run on an OVA it uploaded, when ore esx gc runs, then it finds and removes the VM and the library item the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      const leftItems = fake.liveItems()
      expect(left).toHaveLength(1)
      expect(leftItems).toEqual([expect.stringMatching(/^kola-[0-9a-f]{8}$/)])

      const gc = await runCli('ore', ['esx', 'gc', '--duration', '0s', '--json'], {env: await env('gc')})
      expect(gc.stderr).not.toMatch(/internal error/)
      expect(gc.code).toBe(0)
      expect(JSON.parse(gc.stdout)).toEqual({removedVms: left, removedLibraryItems: leftItems})
      expect(fake.live()).toEqual([])
      expect(fake.liveItems()).toEqual([])
    },
  )

  it(
    'Given kola interrupted with SIGINT mid-run on an OVA it uploaded, when it exits, then it has removed its VM and library item',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigint')
      expect(fake.liveItems()).toHaveLength(1)
      child.kill('SIGINT')
      const code = await exited
      expect(code).not.toBe(0)
      expect(fake.live()).toEqual([])
      expect(fake.liveItems()).toEqual([])
    },
  )
})
