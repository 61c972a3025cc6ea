import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, TESTDATA, useTempDir} from '../testing/vm.js'

// Machineless tests (clusterSize 0): the selection, rerun and exit-code paths of kola run without booting VMs.
const MACHINELESS = join(TESTDATA, 'machineless')
const tempDir = useTempDir()

type Report = {result: string; tests: Array<{name: string; result: string; warn?: boolean}>}
const report = async (dir: string): Promise<Report> => JSON.parse(await readFile(join(dir, 'reports', 'report.json'), 'utf8')) as Report

describe('kola rerun, warn-only tests and --sharding (machineless tests)', () => {
  it('kola rerun runs only the test that failed in the last report', {timeout: 120_000}, async () => {
    // Given a run with one failure and one pass
    const dir = tempDir()
    const first = await runCli(
      'kola',
      ['run', '--tests-dir', MACHINELESS, '--output-dir', join(dir, '_a_temp'), 'nomachine.passes', 'nomachine.fails'],
      {env: kolaEnv(dir)},
    )
    expect(first.code).toBe(1)

    // When kola rerun reads that run's report
    const again = await runCli(
      'kola',
      ['rerun', '--from', join(dir, '_a_temp'), '--tests-dir', MACHINELESS, '--output-dir', join(dir, '_b_temp')],
      {env: kolaEnv(dir)},
    )

    // Then it ran the failed test alone (and it failed again)
    expect(again.stderr).toContain('rerunning 1 failed test(s)')
    expect(again.code).toBe(1)
    expect((await report(join(dir, '_b_temp'))).tests.map((t) => [t.name, t.result])).toEqual([['nomachine.fails', 'FAIL']])
  })

  it('exits 77 when only warn-only tests failed, and 1 when another test failed too', {timeout: 120_000}, async () => {
    // Given a denylist marking nomachine.fails warn-only
    const dir = tempDir()
    const denylist = join(dir, 'denylist.yaml')
    await writeFile(denylist, '- pattern: nomachine.fails\n  reason: new test, watched for a while\n  warn: true\n')

    // When it fails beside a passing test
    const warned = await runCli(
      'kola',
      [
        'run',
        '--tests-dir',
        MACHINELESS,
        '--denylist',
        denylist,
        '--output-dir',
        join(dir, '_w_temp'),
        'nomachine.passes',
        'nomachine.fails',
      ],
      {env: kolaEnv(dir)},
    )

    // Then kola exits 77, the report marks it a warning, and TAP marks it TODO
    expect(warned.code).toBe(77)
    expect(warned.stdout).toMatch(/1 passed, 0 failed, 0 skipped, 1 warning\(s\)/)
    expect((await report(join(dir, '_w_temp'))).tests).toContainEqual(
      expect.objectContaining({name: 'nomachine.fails', result: 'FAIL', warn: true}),
    )
    expect(await readFile(join(dir, '_w_temp', 'test.tap'), 'utf8')).toMatch(/^not ok - nomachine\.fails # TODO warn-only/m)

    // And with a real failure beside it, kola exits 1
    const failed = await runCli(
      'kola',
      [
        'run',
        '--tests-dir',
        MACHINELESS,
        '--denylist',
        denylist,
        '--output-dir',
        join(dir, '_f_temp'),
        'nomachine.fails',
        'nomachine.panics',
      ],
      {env: kolaEnv(dir)},
    )
    expect(failed.code).toBe(1)
  })

  it('--sharding hash:M/N over N runs covers every selected test exactly once', {timeout: 180_000}, async () => {
    const dir = tempDir()
    const names = ['nomachine.passes', 'nomachine.fails', 'nomachine.panics', 'nomachine.panics-ignored']
    const ran: string[] = []
    for (const m of [1, 2, 3]) {
      const out = join(dir, `_s${m}_temp`)
      const r = await runCli('kola', ['run', '--tests-dir', MACHINELESS, '--sharding', `hash:${m}/3`, '--output-dir', out, ...names], {
        env: kolaEnv(dir),
      })
      // A shard may hold none of them: that is a usage error (no test matches), with no report.
      if (r.code === 2) continue
      ran.push(...(await report(out)).tests.map((t) => t.name))
    }
    expect(ran.sort()).toEqual([...names].sort())
  })
})
