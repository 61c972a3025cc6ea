import {execFile, spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {promisify} from 'node:util'

import {binPath, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, qemuProcesses, TESTDATA, testImage, useTempDir} from '../testing/vm.js'

// External tests on real VMs from the test image. Under TCG a boot takes 20-60 s, so one run of the whole
// example tree proves most behaviours at once, on five machines.
const image = testImage()
const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo')
const DEBUG = join(TESTDATA, 'ext-debug')
const tempDir = useTempDir()
// On a loaded 2-core host several TCG boots at once took over 300 s to answer SSH: generous deadlines, no timed assertions.
const SLOW = ['--ssh-timeout', '1200', '--extend-timeout-percentage', '100']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

type Report = {result: string; tests: Array<{name: string; result: string; output: string; reason?: string}>}

describe.skipIf(!image.available)('external tests on real VMs (test image)', () => {
  it(
    'runs the example tree: non-exclusive tests share a machine, a conflicting pair is split, exclusive tests get their own, reboots, skips',
    {timeout: 40 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_demo_temp')
      // Given the example tree, with the test that needs --tag special asked for
      // When kola runs all of it, two machines at a time
      const result = await runCli(
        'kola',
        ['run', '-E', DEMO, '--tag', 'special', '--parallel', '2', ...SLOW, '--output-dir', out, 'ext.demo.*'],
        {env: kolaEnv(dir)},
      )

      // Then every test that applies to qemu passed, and the cloud-only one is skipped with its reason
      expect(result.stderr).not.toMatch(/internal error/)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as Report
      const results = Object.fromEntries(report.tests.map((t) => [t.name, t.result]))
      expect(results).toEqual({
        'ext.demo.config': 'PASS',
        'ext.demo.conflict.first': 'PASS',
        'ext.demo.conflict.second': 'PASS',
        'ext.demo.elsewhere': 'SKIP',
        'ext.demo.machine': 'PASS',
        'ext.demo.reboot': 'PASS',
        'ext.demo.shared.check-1': 'PASS',
        'ext.demo.shared.check-2': 'PASS',
        'ext.demo.shared.check-3': 'PASS',
        'ext.demo.shared.check-4': 'PASS',
        'ext.demo.shared.check-5': 'PASS',
        'ext.demo.shared.check-6': 'PASS',
        'ext.demo.tagged': 'PASS',
      })
      expect(result.code).toBe(0)
      expect(report.tests.find((t) => t.name === 'ext.demo.elsewhere')?.reason).toBe('not for platform qemu (platforms: aws gcp)')

      // And the six shared checks ran on one machine, with conflict.first and the tagged test; conflict.second on another
      const machineOf = (name: string): string =>
        /on shared machine (\S+)/.exec(report.tests.find((t) => t.name === name)?.output ?? '')?.[1] ?? `none for ${name}`
      const shared = machineOf('ext.demo.shared.check-1')
      for (const name of [
        'ext.demo.shared.check-2',
        'ext.demo.shared.check-3',
        'ext.demo.shared.check-4',
        'ext.demo.shared.check-5',
        'ext.demo.shared.check-6',
        'ext.demo.conflict.first',
        'ext.demo.tagged',
      ]) {
        expect(machineOf(name)).toBe(shared)
      }
      expect(machineOf('ext.demo.conflict.second')).toMatch(UUID)
      expect(machineOf('ext.demo.conflict.second')).not.toBe(shared)
      // Five machines in all: two shared, three exclusive tests with one each
      const machines = readdirSync(out, {withFileTypes: true})
        .filter((d) => d.isDirectory())
        .flatMap((d) => readdirSync(join(out, d.name)).filter((m) => UUID.test(m)))
      expect(machines).toHaveLength(5)
      // And the reboot test ran three times, after two reboots through /tmp/autopkgtest-reboot
      const reboot = report.tests.find((t) => t.name === 'ext.demo.reboot')?.output ?? ''
      expect(reboot).toContain('kola: rebooting for mark mark1')
      expect(reboot).toContain('kola: rebooting for mark mark2')
      expect(reboot).toContain('test in mark2')
      expect(qemuProcesses(out)).toEqual([])
    },
  )

  it(
    '--ssh-on-test-failure prints an ssh command that logs in to the failed machine; Ctrl-C then removes it',
    {timeout: 15 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_ssh_temp')
      // Given a test that fails
      const child = spawn(
        process.execPath,
        [binPath('kola'), 'run', '-E', DEBUG, '--ssh-on-test-failure', ...SLOW, '--output-dir', out, 'ext.ext-debug.fails'],
        {env: kolaEnv(dir), stdio: ['ignore', 'pipe', 'pipe']},
      )
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.stdout.resume()
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))

      // When kola prints how to reach the kept machine
      let command: string | undefined
      while (!(command = /its machine is kept: (ssh .*)$/m.exec(stderr)?.[1])) {
        if (child.exitCode !== null) throw new Error(`kola exited without keeping the machine: ${stderr}`)
        await sleep(500)
      }
      expect(stderr).toMatch(/Ctrl-C removes them/)

      // Then that exact command logs in, to the machine the test failed on
      const [program, ...args] = command.split(' ')
      const login = await promisify(execFile)(program as string, [...args, 'test -e /var/lib/kola-failed-here && id -un'], {
        timeout: 120_000,
      })
      expect(login.stdout.trim()).toBe('core')

      // And Ctrl-C ends kola and removes the machine
      expect(qemuProcesses(out)).toHaveLength(1)
      child.kill('SIGINT')
      await exited
      expect(qemuProcesses(out)).toEqual([])
      expect(existsSync(join(out, 'ext.ext-debug.fails', 'ssh', 'id_ed25519'))).toBe(true)
    },
  )

  it(
    '--keep-failed leaves the failed machine running after kola exits, and report.json says how to reach it',
    {timeout: 15 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_keep_temp')
      // Given a test that fails, run with --keep-failed
      const result = await runCli('kola', ['run', '-E', DEBUG, '--keep-failed', ...SLOW, '--output-dir', out, 'ext.ext-debug.fails'], {
        env: kolaEnv(dir),
      })
      expect(result.code).toBe(1)

      // Then its machine still runs after kola exited, and the command in the report logs in to it
      const pids = qemuProcesses(out)
      try {
        expect(pids).toHaveLength(1)
        const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as Report
        const command = /kept machine: (ssh .*)$/m.exec(report.tests[0]?.output ?? '')?.[1]
        expect(command).toBeDefined()
        const [program, ...args] = (command as string).split(' ')
        const login = await promisify(execFile)(program as string, [...args, 'test -e /var/lib/kola-failed-here && id -un'], {
          timeout: 120_000,
        })
        expect(login.stdout.trim()).toBe('core')
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGKILL')
      }
    },
  )

  it('a kernel panic fails the test as soon as the console shows it, not at its timeout', {timeout: 15 * 60_000}, async () => {
    const dir = tempDir()
    const out = join(dir, '_panic_temp')
    // Given a test that crashes the kernel through sysrq, with a 10-minute timeout
    // When it runs
    const result = await runCli('kola', ['run', '-E', DEBUG, ...SLOW, '--output-dir', out, 'ext.ext-debug.panic'], {env: kolaEnv(dir)})

    // Then it failed for the panic seen while it ran (the console watcher), not for its timeout
    expect(result.code).toBe(1)
    const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as Report
    const [test] = report.tests
    expect(test?.result).toBe('FAIL')
    expect(test?.output).toMatch(/kernel panic in console of \S+ while the test ran: Kernel panic - not syncing: sysrq triggered crash/)
    expect(test?.output).not.toMatch(/timed out/)
    expect(qemuProcesses(out)).toEqual([])
  })
})
