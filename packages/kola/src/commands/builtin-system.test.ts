import {readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, qemuProcesses, testImage, useTempDir} from '../testing/vm.js'

const image = testImage()
const tempDir = useTempDir()
// A test's timeout covers the reboot: on this loaded 2-core host one reboot under TCG took over 600 s.

describe.skipIf(!image.available)('the built-in system suite on the test image', () => {
  it(
    'passes: hostname, sysctl, second user, kernel arguments, timer, reboot with the journal kept on one shared machine; remote Ignition resources and storage on another; a wrong hash fails Ignition',
    {timeout: 40 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_builtin_temp')
      // When the suite runs on the test image
      const result = await runCli(
        'kola',
        [
          'run',
          '--parallel',
          '2',
          '--ssh-timeout',
          '1200',
          '--extend-timeout-percentage',
          '200',
          '--output-dir',
          out,
          'ignition.*',
          'kernel.*',
          'systemd.*',
        ],
        {env: kolaEnv(dir)},
      )

      // Then every test passed
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        tests: Array<{name: string; result: string; output: string}>
      }
      expect(Object.fromEntries(report.tests.map((t) => [t.name, t.result]))).toEqual({
        'ignition.hostname': 'PASS',
        'ignition.second-user': 'PASS',
        'ignition.sysctl': 'PASS',
        'kernel.cmdline': 'PASS',
        'systemd.timer': 'PASS',
        'systemd.reboot': 'PASS',
        'ignition.remote': 'PASS',
        'ignition.storage': 'PASS',
        'ignition.remote.bad-hash': 'PASS',
      })
      expect(result.code).toBe(0)
      // And the six system tests shared one machine, the remote and storage tests another: one boot per group
      const machineDirs = (group: string): string[] => readdirSync(join(out, group)).filter((d) => /^[0-9a-f-]{36}$/.test(d))
      expect([machineDirs('_shared-machine-1'), machineDirs('_shared-machine-2')].map((d) => d.length)).toEqual([1, 1])
      // And the machine with the wrong hash failed for Ignition's reason, read from its console while kola waited for SSH
      const badHash = report.tests.find((t) => t.name === 'ignition.remote.bad-hash')
      expect(badHash?.output).toMatch(/Ignition failed: .*hash verification failed \(calculated [0-9a-f]{128} but expected [0-9a-f]{128}\)/)
      expect(qemuProcesses(out)).toEqual([])
    },
  )
})
