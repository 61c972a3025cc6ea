import {readdirSync, readFileSync} from 'node:fs'
import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, qemuProcesses, TESTDATA, testImage, useTempDir} from '../../testing/vm.js'
import {parseAddress} from './index.js'

// The external platform with a "lab" of local QEMU machines: the provisioning
// script starts one from the test image at its own loopback address with SSH
// on port 22, the console command follows its serial log, the deprovisioning
// script stops it. Four machines (the built-in suite), two at a time.
const LAB = join(TESTDATA, 'external-platform')
const image = testImage()
const tempDir = useTempDir()

describe('the external platform', () => {
  it('Given what provisioning commands print, when parsed, then IPv4, ports, IPv6 and a private address are read and anything else is refused', () => {
    expect(parseAddress('10.0.0.5')).toEqual({ip: '10.0.0.5', port: 22, privateIp: undefined})
    expect(parseAddress('127.77.0.10:2222 192.168.77.10')).toEqual({ip: '127.77.0.10', port: 2222, privateIp: '192.168.77.10'})
    expect(parseAddress('[fd00::1]:22')).toEqual({ip: 'fd00::1', port: 22, privateIp: undefined})
    expect(() => parseAddress('machine is up')).toThrow(/printed "machine is up", not an address/)
  })

  it('Given no provisioning command, when kola run -p external starts, then one line and exit 2', async () => {
    const dir = tempDir()
    const r = await runCli('kola', ['run', '-p', 'external', 'coreos.basic', '--output-dir', join(dir, '_x_temp')], {env: kolaEnv(dir)})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('kola: error: the external platform needs a provisioning command (pass --external-provisioning-cmds)\n')
  })

  it.skipIf(!image.available)(
    'Given a lab of local QEMU machines behind provisioning scripts, when kola runs the built-in suite on it, then every test passes and every machine is deprovisioned',
    {timeout: 45 * 60_000},
    async () => {
      const dir = tempDir()
      const state = join(dir, 'lab')
      await mkdir(state)
      const out = join(dir, '_external_temp')
      const env = kolaEnv(dir, {
        EXTERNAL_STATE: state,
        EXTERNAL_MCAST: `239.77.${process.pid % 250}.1:${20_000 + (process.pid % 30_000)}`,
        NODE: process.execPath,
      })

      // When kola runs coreos.* on the external platform with the lab's three scripts
      const r = await runCli(
        'kola',
        [
          // Generous: under TCG on a loaded 2-core machine a boot has taken over 5 minutes.
          'run',
          '-p',
          'external',
          '--parallel',
          '2',
          '--ssh-timeout',
          '900',
          '--timeout',
          '1800',
          '--output-dir',
          out,
          '--external-provisioning-cmds',
          join(LAB, 'provision.sh'),
          '--external-serial-console-cmd',
          join(LAB, 'console.sh'),
          '--external-deprovisioning-cmds',
          join(LAB, 'deprovision.sh'),
          'coreos.*',
        ],
        {env},
      )

      // Then the suite passed on the lab's machines, reached at the addresses the script printed
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        platform: string
        tests: Array<{name: string; result: string}>
      }
      expect(report.platform).toBe('external')
      expect(Object.fromEntries(report.tests.filter((t) => !t.name.includes('/')).map((t) => [t.name, t.result]))).toEqual({
        'coreos.basic': 'PASS',
        'coreos.ignition': 'PASS',
        'coreos.network.private': 'PASS',
      })
      // And each machine's console came from the console command, its journal over SSH
      const machines = readdirSync(out, {withFileTypes: true})
        .filter((d) => d.isDirectory() && d.name.startsWith('coreos.'))
        .flatMap((t) =>
          readdirSync(join(out, t.name))
            .filter((m) => /^[0-9a-f-]{36}$/.test(m))
            .map((m) => join(out, t.name, m)),
        )
      expect(machines).toHaveLength(4)
      for (const m of machines) {
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(/^127\.77\.0\.\d+ 127\.77\.0\.\d+:22\n$/)
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
      }
      // And the deprovisioning script ran for all four, leaving no QEMU of the lab
      expect(readFileSync(join(state, 'deprovisioned'), 'utf8').trim().split('\n').sort()).toEqual([
        '127.77.0.10',
        '127.77.0.11',
        '127.77.0.12',
        '127.77.0.13',
      ])
      expect(qemuProcesses(state)).toEqual([])
    },
  )
})
