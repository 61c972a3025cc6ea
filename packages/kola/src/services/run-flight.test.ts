import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, TESTDATA, useTempDir} from '../testing/vm.js'

const LAB = join(TESTDATA, 'platform-module', 'lab.mjs')
const OWN = join(TESTDATA, 'platform-module', 'own')
const tempDir = useTempDir()

async function runAlone(dir: string, test: string): Promise<{code: number | null; result?: string; record: string[]}> {
  const out = join(dir, '_own_temp')
  const record = join(dir, 'record.txt')
  const r = await runCli('kola', ['run', '-p', 'lab', '--platform-module', LAB, '--tests-dir', OWN, '--output-dir', out, test], {
    env: kolaEnv(dir, {LAB_RECORD: record}),
  })
  const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {tests: Array<{name: string; result: string}>}
  return {
    code: r.code,
    result: report.tests.find((t) => t.name === test)?.result,
    record: existsSync(record) ? (await readFile(record, 'utf8')).trim().split('\n') : [],
  }
}

describe('the flight of a run whose tests boot no machine up front', () => {
  it(
    'Given a test that boots its own machine (clusterSize 0), when it runs alone, then the platform flight is made for it and the test passes',
    {timeout: 120_000},
    async () => {
      // When kola runs only that test (as kola rerun would after it failed)
      const r = await runAlone(tempDir(), 'own.machine')

      // Then its machine was booted on the platform's flight, and everything torn down
      expect([r.code, r.result]).toEqual([0, 'PASS'])
      expect(r.record[0]).toMatch(/^flight distro=test/)
      expect(r.record.slice(1)).toEqual(['machine lab-0 in own.machine', 'destroy lab-0', 'flight destroyed'])
    },
  )

  it(
    'Given a test that boots no machine, when it runs alone, then no flight is made at all (no image or QEMU needed)',
    {timeout: 120_000},
    async () => {
      const r = await runAlone(tempDir(), 'own.none')
      expect([r.code, r.result]).toEqual([0, 'PASS'])
      expect(r.record).toEqual([])
    },
  )
})
