import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {isolatedEnv, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {useTempDir} from '../testing/vm.js'

import {autoParallel} from './capacity.js'
import {parseDenylist} from './denylist.js'
import {TestMetrics} from './metrics.js'
import {scanMachineLogs, scanText} from './signatures.js'

const tempDir = useTempDir()

describe('failure signatures', () => {
  it('finds each known signature and nothing in a clean boot', () => {
    const bad = [
      '[  1.0] Kernel panic - not syncing: VFS: Unable to mount root fs',
      '[  2.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 bar+0x1/0x2',
      'You are in emergency mode. After logging in, type "journalctl -xb"',
      'Nov 21 kola kernel: sshd[312]: segfault at 0 ip 00007f sp 00007ffd error 4',
      'systemd-coredump[400]: Process 312 (sshd) of user 0 dumped core.',
    ].join('\n')
    expect(scanText(bad, 'console').map((h) => h.description)).toEqual([
      'emergency shell',
      'kernel panic',
      'kernel warning',
      'SIGSEGV',
      'core dump',
    ])
    expect(scanText('[  1.0] Linux version 6.1\nStarted ssh.service\n', 'console')).toEqual([])
  })

  it('scans console and journal of every machine of a test once per finding', async () => {
    const dir = tempDir()
    // Given a machine whose console and journal both show the same oops
    await mkdir(join(dir, 'm1'), {recursive: true})
    await writeFile(join(dir, 'm1', 'console.txt'), 'Oops: 0002 [#1] SMP\n')
    await writeFile(join(dir, 'm1', 'journal.txt'), 'kernel: Oops: 0002 [#1] SMP\n')

    // Then it is reported once
    expect((await scanMachineLogs(dir)).map((h) => h.description)).toEqual(['kernel oops'])
  })

  it('kola check-console exits 1 on a signature and 0 on clean logs', async () => {
    const dir = tempDir()
    await mkdir(join(dir, 'bad', 't', 'm'), {recursive: true})
    await writeFile(join(dir, 'bad', 't', 'm', 'console.txt'), 'Kernel panic - not syncing: Attempted to kill init!\n')
    await mkdir(join(dir, 'good', 't', 'm'), {recursive: true})
    await writeFile(join(dir, 'good', 't', 'm', 'console.txt'), 'all is well\n')
    const env = isolatedEnv(join(dir, 'home'))

    const bad = await runCli('kola', ['check-console', join(dir, 'bad')], {env})
    const good = await runCli('kola', ['check-console', join(dir, 'good')], {env})

    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('kernel panic: Kernel panic - not syncing: Attempted to kill init!')
    expect(good.code).toBe(0)
  })
})

describe('autoParallel', () => {
  it('is bounded by memory and by cores, and is at least one', () => {
    expect(autoParallel({availableMiB: 24_000, cores: 2}, {memoryMiB: 1024, cpus: 1}).machines).toBe(2)
    expect(autoParallel({availableMiB: 24_000, cores: 16}, {memoryMiB: 1024, cpus: 1}).machines).toBe(16)
    expect(autoParallel({availableMiB: 3_000, cores: 16}, {memoryMiB: 1024, cpus: 1}).machines).toBe(1)
    expect(autoParallel({availableMiB: 500, cores: 1}, {memoryMiB: 1024, cpus: 2}).machines).toBe(1)
  })
})

describe('TestMetrics', () => {
  it('counts failing tests by their latest result, and totals every result', () => {
    const m = new TestMetrics()
    m.record({name: 'a', result: 'FAIL', durationMs: 1000, output: '', subtest: false})
    m.record({name: 'b', result: 'PASS', durationMs: 2500, output: '', subtest: false})
    m.record({name: 'a', result: 'PASS', durationMs: 900, output: '', subtest: false, flake: true})
    m.record({name: 'a/sub', result: 'FAIL', durationMs: 1, output: '', subtest: true})
    const text = m.render()
    expect(text).toMatch(/^assertions_failed 0$/m)
    expect(text).toMatch(/^assertions_failed_total 1$/m)
    expect(text).toMatch(/^tests_run 2$/m)
    expect(text).toMatch(/^tests_run_total 3$/m)
    expect(text).toContain('kola_test_duration_seconds{test="b",result="PASS"} 2.5')
    expect(text).toContain('# TYPE assertions_failed gauge')
  })
})

describe('parseDenylist', () => {
  it('reads patterns, reasons and snoozes that last through their day', async () => {
    const rules = await parseDenylist('- pattern: a.*\n  reason: bug\n  snooze: 2026-03-01\n- b\n')
    expect(rules).toEqual([
      {pattern: 'a.*', reason: 'bug', snoozeUntil: new Date('2026-03-02T00:00:00Z')},
      {pattern: 'b', reason: undefined, snoozeUntil: undefined},
    ])
  })

  it('rejects entries without a pattern', async () => {
    await expect(parseDenylist('- reason: x\n')).rejects.toThrow(/entry 1 has no pattern/)
  })
})
