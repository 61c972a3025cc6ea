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
// port 22 of the reported address.
const image = testImage()

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
      const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})

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
      }
      for (const v of vms) {
        expect(v.name).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0-t[0-9a-z]{6,8}$/)
        expect(v.deleted).toBe(true)
      }
      expect(fake.calls.filter((c) => c.endsWith('/power?action=stop'))).toHaveLength(2)
      expect(fake.calls.filter((c) => c.startsWith('GET /folder/')).length).toBeGreaterThanOrEqual(2)
      expect(fake.live()).toEqual([])
    },
  )

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
