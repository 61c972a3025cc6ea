import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, TESTDATA, useTempDir} from '../testing/vm.js'
import {distroByName} from './distro.js'
import type {Flight} from './platform.js'
import {type PlatformDefinition, PlatformRegistry} from './registry.js'

const LAB = join(TESTDATA, 'platform-module', 'lab.mjs')
const LAB_TESTS = join(TESTDATA, 'platform-module', 'tests')
const tempDir = useTempDir()

describe('the platform registry', () => {
  it(
    'Given a platform defined outside kola, when kola run selects it by name, then its flight boots the test machines and the report names it',
    {timeout: 120_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_lab_temp')
      const record = join(dir, 'record.txt')

      // When kola runs a test restricted to that platform, loading the platform from a module
      const r = await runCli(
        'kola',
        ['run', '-p', 'lab', '--platform-module', LAB, '--tests-dir', LAB_TESTS, '--output-dir', out, 'lab.*'],
        {env: kolaEnv(dir, {LAB_RECORD: record})},
      )

      // Then the test passed on the lab machine, the report says lab, and the flight was made and destroyed once
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        platform: string
        tests: Array<{name: string; result: string}>
      }
      expect(report.platform).toBe('lab')
      expect(report.tests.find((t) => t.name === 'lab.echo')?.result).toBe('PASS')
      const lines = (await readFile(record, 'utf8')).trim().split('\n')
      expect(lines[0]).toMatch(/^flight distro=test user=core run=kola-[0-9a-f]{8} options=\{\}$/)
      expect(lines.slice(1)).toEqual(['machine lab-0 in lab.echo', 'destroy lab-0', 'flight destroyed'])
    },
  )

  it('Given an unknown platform name, when kola run is asked for it, then one line naming the platforms and exit 2', async () => {
    const dir = tempDir()
    const r = await runCli('kola', ['run', '-p', 'nosuch', '--output-dir', join(dir, '_x_temp')], {env: kolaEnv(dir)})
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/unknown platform "nosuch" \(--platform takes .*qemu/)
  })

  it('Given the lab platform, when kola list filters by it or by its alias, then only the tests that run there are listed', async () => {
    const dir = tempDir()
    const list = async (platform: string) => {
      const r = await runCli('kola', ['list', '--json', '-p', platform, '--platform-module', LAB, '--tests-dir', LAB_TESTS], {
        env: kolaEnv(dir),
      })
      expect(r.code).toBe(0)
      return (JSON.parse(r.stdout) as {tests: Array<{name: string}>}).tests.map((t) => t.name)
    }
    expect(await list('bench-lab')).toContain('lab.echo')
    expect(await list('qemu')).not.toContain('lab.echo')
    expect(await list('qemu')).toContain('coreos.basic')
  })

  it('Given a platform with an alias, when a flight is asked for by the alias, then the definition gets its own options under its name', async () => {
    const seen: unknown[] = []
    const fake: PlatformDefinition<{zone: string}> = {
      name: 'gcp-like',
      aliases: ['gce-like'],
      summary: 'test',
      createFlight: async (options) => {
        seen.push(options)
        return {} as Flight
      },
    }
    const registry = new PlatformRegistry([fake as PlatformDefinition<never>])
    await registry.flightFor(
      'gce-like',
      {'gcp-like': {zone: 'z1'}},
      {logger: undefined as never, distro: distroByName('flatcar'), sshTimeoutMs: 1, runId: 'kola-1'},
    )
    expect(seen).toEqual([{zone: 'z1'}])
    expect(() => registry.add(fake as PlatformDefinition<never>)).toThrow(/defined twice/)
  })
})
