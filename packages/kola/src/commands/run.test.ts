import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdir, readFile, symlink} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, isolatedEnv, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, qemuProcesses, TESTDATA, testImage, useTempDir} from '../testing/vm.js'

// These boot real VMs from the test image (scripts/services/test-image.sh
// start); under TCG each takes 20-60 s to answer SSH, so there are few of them.
const image = testImage()
const FAILING_TESTS = join(TESTDATA, 'failing')
const CI_TESTS = join(TESTDATA, 'ci')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const tempDir = useTempDir()

/** Every machine directory of a run: `<out>/<test>/<machine uuid>/`. */
function machineDirs(out: string): string[] {
  return readdirSync(out, {withFileTypes: true})
    .filter((d) => d.isDirectory() && d.name !== 'reports')
    .flatMap((t) =>
      readdirSync(join(out, t.name))
        .filter((m) => UUID.test(m))
        .map((m) => join(out, t.name, m)),
    )
}

describe.skipIf(!image.available)('kola run on real VMs (test image)', () => {
  it(
    'passes the built-in suite with --parallel 2 and reports a failing test as failed in TAP, JSON and JUnit',
    {timeout: 30 * 60_000},
    async () => {
      const dir = tempDir()
      // Given the built-in suite and a test that fails on purpose, loaded from a tests directory
      const out = join(dir, '_it_temp')

      // When kola runs them all, two at a time
      const result = await runCli(
        'kola',
        ['run', '--parallel', '2', '--tests-dir', FAILING_TESTS, '--output-dir', out, 'coreos.*', 'kolatest.*'],
        {env: kolaEnv(dir)},
      )

      // Then it exits 1 (a test failed), every built-in test passed, and the failing one is reported in all three formats
      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.code, result.stderr).toBe(1)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        result: string
        platform: string
        tests: Array<{name: string; result: string}>
      }
      const results = Object.fromEntries(report.tests.map((t) => [t.name, t.result]))
      expect(results).toMatchObject({
        'coreos.basic': 'PASS',
        'coreos.ignition': 'PASS',
        'coreos.network.private': 'PASS',
        'kolatest.fails': 'FAIL',
      })
      expect(report).toMatchObject({result: 'FAIL', platform: 'qemu'})
      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap.startsWith('1..4\n')).toBe(true)
      expect(tap).toMatch(/^ok - coreos\.basic$/m)
      expect(tap).toMatch(/^not ok - kolatest\.fails$/m)
      expect(tap).toContain('# deliberate failure')
      const junit = await readFile(join(out, 'reports', 'junit.xml'), 'utf8')
      expect(junit).toMatch(/<testcase name="kolatest\.fails"[^>]*>\s*<failure message="[^"]*deliberate failure/)

      // And every machine (1 + 1 + 2 + 1) left its console, journal and Ignition config
      const machines = machineDirs(out)
      expect(machines).toHaveLength(5)
      for (const m of machines) {
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/systemd\[1\]: .*Started .*ssh/i)
        expect(existsSync(join(m, 'journal-raw.txt.gz'))).toBe(true)
        expect(JSON.parse(readFileSync(join(m, 'ignition.json'), 'utf8'))).toHaveProperty('ignition.version')
      }
      expect(qemuProcesses(out)).toEqual([])
    },
  )

  it('on SIGINT mid-boot stops every QEMU before exiting, and still writes the reports', {timeout: 10 * 60_000}, async () => {
    const dir = tempDir()
    // Given a PATH without setpriv, so that only kola's own teardown can stop QEMU
    const bin = join(dir, 'bin')
    await mkdir(bin)
    for (const tool of ['qemu-system-x86_64', 'qemu-img']) await symlink(`/usr/bin/${tool}`, join(bin, tool))
    const out = join(dir, '_sigint_temp')
    const child = spawn(process.execPath, [binPath('kola'), 'run', 'coreos.basic', '--output-dir', out], {
      env: kolaEnv(dir, {PATH: bin}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdout.resume()
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))

    // When SIGINT arrives while its machine boots
    while (qemuProcesses(out).length === 0) {
      if (child.exitCode !== null) throw new Error(`kola exited before QEMU started: ${stderr}`)
      await sleep(100)
    }
    const booting = qemuProcesses(out)
    child.kill('SIGINT')
    const code = await exited

    // Then kola exits 3 (interrupted), no QEMU of the run is left, and the reports say what happened
    expect(code).toBe(3)
    expect(stderr).toMatch(/interrupted by SIGINT/)
    expect(booting).toHaveLength(1)
    expect(qemuProcesses(out)).toEqual([])
    expect(existsSync(`/proc/${booting[0]}`)).toBe(false)
    const tap = await readFile(join(out, 'test.tap'), 'utf8')
    expect(tap.startsWith('1..1\nnot ok - coreos.basic # INTERRUPTED: interrupted by SIGINT\n')).toBe(true)
    const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
      result: string
      tests: Array<{name: string; result: string}>
    }
    expect(report.result).toBe('INTERRUPTED')
    expect(report.tests).toEqual([expect.objectContaining({name: 'coreos.basic', result: 'INTERRUPTED'})])
    expect(existsSync(join(out, 'reports', 'junit.xml'))).toBe(true)
  })
})

describe('kola run without an image', () => {
  it('exits 2 with a hint when no image is given', async () => {
    const dir = tempDir()
    // Given no image flags and no KOLA_TEST_* variables
    const result = await runCli('kola', ['run', 'coreos.basic', '--output-dir', join(dir, '_none_temp')], {
      env: isolatedEnv(join(dir, 'home')),
    })

    // Then it is a usage error that says how to get an image
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/no image to boot.*test-image\.sh start/)
  })

  it('exits 2 when no test matches', async () => {
    const dir = tempDir()
    const result = await runCli('kola', ['run', 'no.such.*', '--output-dir', join(dir, '_none_temp')], {
      env: isolatedEnv(join(dir, 'home')),
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/no test matches no\.such\.\*/)
  })
})

describe.skipIf(!image.available)('kola run --rerun and timeouts on real VMs (test image)', () => {
  it(
    'reports a test that fails once then passes as a flake, fails a hung test at its timeout leaving no QEMU, and runs a script from --tests-dir',
    {timeout: 30 * 60_000},
    async () => {
      const dir = tempDir()
      // Given a flaky test (fails until a marker file exists), one that sleeps past its 90 s timeout, and a script
      const out = join(dir, '_ci_temp')
      const marker = join(dir, 'flaky-marker')

      // When both run with --rerun, two at a time
      const result = await runCli(
        'kola',
        ['run', '--rerun', '--parallel', '2', '--tests-dir', CI_TESTS, '--output-dir', out, 'kolaci.*', 'script.*'],
        {env: kolaEnv(dir, {KOLA_FLAKE_MARKER: marker})},
      )

      // Then the flaky test passes as a flake, the hung one fails as timed out (twice), and the run exits 1
      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.code, result.stderr).toBe(1)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        tests: Array<{name: string; result: string; flake?: boolean; failure?: string; output: string}>
      }
      expect(report.tests.find((t) => t.name === 'kolaci.flaky')).toMatchObject({result: 'PASS', flake: true})
      expect(report.tests.find((t) => t.name === 'kolaci.hangs')).toMatchObject({result: 'FAIL', failure: 'timeout'})
      expect(report.tests.find((t) => t.name === 'kolaci.hangs')?.output).toContain('test timed out after 90.0s')
      expect(report.tests.find((t) => t.name === 'script.hello')).toMatchObject({
        result: 'PASS',
        output: expect.stringMatching(/^hello from debian on 6\.1\./),
      })
      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap).toMatch(/^ok - kolaci\.flaky # flake: passed on rerun$/m)
      expect(tap).toMatch(/^not ok - kolaci\.hangs$/m)
      expect(await readFile(join(out, 'reports', 'junit.xml'), 'utf8')).toMatch(
        /<testcase name="kolaci\.flaky"[^>]*>\s*<properties><property name="flake" value="true"\/>/,
      )
      expect(qemuProcesses(out)).toEqual([])
    },
  )
})
