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
    'passes: hostname, sysctl, second user, kernel arguments, timer, reboot with the journal kept, all on one shared machine',
    {timeout: 40 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_builtin_temp')
      // When the suite runs on the test image
      const result = await runCli(
        'kola',
        ['run', '--ssh-timeout', '1200', '--extend-timeout-percentage', '200', '--output-dir', out, 'ignition.*', 'kernel.*', 'systemd.*'],
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
      })
      expect(result.code).toBe(0)
      // And they shared one machine: one boot for six tests
      const machineDirs = readdirSync(join(out, '_shared-machine-1')).filter((d) => /^[0-9a-f-]{36}$/.test(d))
      expect(machineDirs).toHaveLength(1)
      expect(qemuProcesses(out)).toEqual([])
    },
  )
})
