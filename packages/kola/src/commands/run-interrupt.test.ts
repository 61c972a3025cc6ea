import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, isolatedEnv} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {TESTDATA, useTempDir} from '../testing/vm.js'

// Tests that boot no machine (testdata/interruptible): one passes, one fails, one is still running
// (in a subtest) when SIGINT arrives.
const INTERRUPTIBLE = join(TESTDATA, 'interruptible')
const tempDir = useTempDir()

describe('kola run interrupted by SIGINT', () => {
  it(
    'reports the test it cut short as INTERRUPTED, not FAIL, in the summary, TAP, report.json and JUnit, and exits 3',
    {timeout: 120_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_out_temp')
      const marker = join(dir, 'started')
      // Given a run whose third test is running (its subtest wrote the marker)
      const child = spawn(
        process.execPath,
        [binPath('kola'), 'run', '--tests-dir', INTERRUPTIBLE, '--output-dir', out, '--parallel', '3', 'stop.*'],
        {
          env: isolatedEnv(join(dir, 'home'), {KOLA_STARTED_MARKER: marker}),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
      while (!existsSync(marker) || !stderr.includes('--- FAIL: stop.fails')) {
        if (child.exitCode !== null) throw new Error(`kola exited before the test started: ${stderr}`)
        await sleep(50)
      }

      // When Ctrl-C arrives
      child.kill('SIGINT')
      const code = await exited

      // Then the run exits 3 (interrupted), and every report calls the cut-short test INTERRUPTED
      expect(stderr).not.toMatch(/internal error/)
      expect(code).toBe(3)
      expect(stdout).toContain('INTERRUPTED stop.waits (')
      expect(stdout).toContain('FAIL stop.fails (')
      expect(stdout).toMatch(/1 passed, 1 failed, 0 skipped, 1 interrupted; reports in /)
      expect(stderr).toMatch(/--- INTERRUPTED: stop\.waits \([\d.]+s\): interrupted by SIGINT/)

      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap).toMatch(/^not ok - stop\.waits # INTERRUPTED: interrupted by SIGINT$/m)
      expect(tap).toMatch(/^not ok - stop\.fails$/m)
      expect(tap.trimEnd().split('\n').at(-1)).toBe('Bail out! kola run interrupted by SIGINT')

      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        result: string
        tests: Array<{name: string; result: string; failure?: string}>
      }
      expect(report.result).toBe('FAIL')
      const byName = Object.fromEntries(report.tests.map((t) => [t.name, t]))
      expect(byName['stop.waits']).toMatchObject({result: 'INTERRUPTED', failure: 'interrupted'})
      expect(byName['stop.waits/sub']).toMatchObject({result: 'INTERRUPTED', failure: 'interrupted'})
      expect(byName['stop.fails']).toMatchObject({result: 'FAIL', failure: 'test'})
      expect(byName['stop.passes']).toMatchObject({result: 'PASS'})

      const junit = await readFile(join(out, 'reports', 'junit.xml'), 'utf8')
      expect(junit).toMatch(/<testsuite name="kola\.qemu" tests="4" failures="1" errors="2" skipped="0"/)
      expect(junit).toMatch(/<testcase name="stop\.waits"[^>]*>\s*<error message="interrupted by SIGINT" type="interrupted">/)
      expect(junit).not.toMatch(/<testcase name="stop\.waits"[^>]*>\s*<failure/)
    },
  )
})
