import {type ChildProcess, spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, isolatedEnv, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {TESTDATA, useTempDir} from '../testing/vm.js'

// kola run's CI features on tests that boot no machine (clusterSize 0): no
// image or QEMU needed, so these run everywhere.
const MACHINELESS = join(TESTDATA, 'machineless')
const tempDir = useTempDir()

const env = (dir: string): NodeJS.ProcessEnv => isolatedEnv(join(dir, 'home'), {KOLA_FLAKE_MARKER: join(dir, 'marker')})
const kola = (dir: string, args: string[]): ReturnType<typeof runCli> =>
  runCli('kola', ['run', '--tests-dir', MACHINELESS, '--output-dir', join(dir, '_out_temp'), ...args], {env: env(dir)})
const report = async (
  dir: string,
): Promise<{result: string; tests: Array<{name: string; result: string; flake?: boolean; reason?: string}>}> =>
  JSON.parse(await readFile(join(dir, '_out_temp', 'reports', 'report.json'), 'utf8'))

describe('kola run --rerun', () => {
  it('reports a test that passes on rerun as a flake in TAP, JSON and JUnit, and exits 0', async () => {
    const dir = tempDir()
    // When a test fails once (no marker yet) and passes on its rerun
    const result = await kola(dir, ['--rerun', 'nomachine.flaky', 'nomachine.passes'])

    // Then the run passes and all three reports call it a flake
    expect(result.stderr).not.toMatch(/internal error/)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('1 flake(s)')
    const tap = await readFile(join(dir, '_out_temp', 'test.tap'), 'utf8')
    expect(tap).toBe('1..2\nok - nomachine.passes\nok - nomachine.flaky # flake: passed on rerun\n')
    const json = await report(dir)
    expect(json.result).toBe('PASS')
    expect(json.tests.find((t) => t.name === 'nomachine.flaky')).toMatchObject({result: 'PASS', flake: true})
    const junit = await readFile(join(dir, '_out_temp', 'reports', 'junit.xml'), 'utf8')
    expect(junit).toMatch(/<testcase name="nomachine\.flaky"[^>]*>\s*<properties><property name="flake" value="true"\/>/)
  })

  it('exits 1 when a test fails on its rerun too', async () => {
    const dir = tempDir()
    const result = await kola(dir, ['--rerun', 'nomachine.fails'])
    expect(result.code).toBe(1)
    expect((await report(dir)).tests).toEqual([expect.objectContaining({name: 'nomachine.fails', result: 'FAIL'})])
  })

  it('without --rerun, a flaky test fails the run', async () => {
    const dir = tempDir()
    const result = await kola(dir, ['nomachine.flaky'])
    expect(result.code).toBe(1)
  })
})

describe('kola run --denylist', () => {
  it('skips a test whose snooze is current, with its reason in the report, and runs one whose snooze expired', async () => {
    const dir = tempDir()
    // Given a denylist with a current and an expired snooze
    const denylist = join(dir, 'denylist.yaml')
    await writeFile(
      denylist,
      [
        '- pattern: nomachine.fails',
        '  reason: bug 1234, fix pending',
        '  snooze: 2999-12-31',
        '- pattern: nomachine.pass*',
        '  reason: was flaky',
        '  snooze: 2000-01-01',
        '',
      ].join('\n'),
    )

    // When both tests are selected
    const result = await kola(dir, ['--denylist', denylist, 'nomachine.fails', 'nomachine.passes'])

    // Then the denied one is skipped with its reason and the other ran and passed
    expect(result.code).toBe(0)
    const json = await report(dir)
    expect(json.tests.find((t) => t.name === 'nomachine.fails')).toMatchObject({
      result: 'SKIP',
      reason: 'denylisted (nomachine.fails) until 2999-12-31: bug 1234, fix pending',
    })
    expect(json.tests.find((t) => t.name === 'nomachine.passes')).toMatchObject({result: 'PASS'})
    expect(await readFile(join(dir, '_out_temp', 'test.tap'), 'utf8')).toContain(
      'ok - nomachine.fails # SKIP denylisted (nomachine.fails) until 2999-12-31: bug 1234, fix pending',
    )
  })

  it('rejects a malformed snooze date as a usage error', async () => {
    const dir = tempDir()
    const denylist = join(dir, 'denylist.yaml')
    await writeFile(denylist, '- pattern: x\n  snooze: next tuesday\n')
    const result = await kola(dir, ['--denylist', denylist])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/snooze "next tuesday" is not a date/)
  })
})

describe('failure signatures after each test', () => {
  it("fail a test whose machine's console shows a kernel panic, unless the test opts out", async () => {
    const dir = tempDir()
    const result = await kola(dir, ['nomachine.panics', 'nomachine.panics-ignored'])
    expect(result.code).toBe(1)
    const tests = (await report(dir)).tests as Array<{name: string; result: string; output?: string}>
    expect(tests.find((t) => t.name === 'nomachine.panics')).toMatchObject({result: 'FAIL'})
    expect(tests.find((t) => t.name === 'nomachine.panics')?.output).toMatch(
      /kernel panic in .*fake-machine\/console\.txt: Kernel panic - not syncing: Attempted to kill init!/,
    )
    expect(tests.find((t) => t.name === 'nomachine.panics-ignored')).toMatchObject({result: 'PASS'})
  })
})

describe('kola run --multiply', () => {
  it('runs each selected test N times under numbered names', async () => {
    const dir = tempDir()
    const result = await kola(dir, ['--multiply', '3', 'nomachine.passes'])
    expect(result.code).toBe(0)
    expect((await report(dir)).tests.map((t) => t.name)).toEqual(['nomachine.passes~1', 'nomachine.passes~2', 'nomachine.passes~3'])
  })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    child[stream]?.setEncoding('utf8').on('data', (d: string) => {
      seen += d
      if (pattern.test(seen)) resolve(seen)
    })
    child.once('close', () => reject(new Error(`exited before ${pattern}: ${seen}`)))
  })
}

describe('kola run --metrics-port', () => {
  it(
    'is scraped by a real Prometheus, whose query returns assertions_failed 1 after a run with one failing test',
    {timeout: 120_000},
    async () => {
      const dir = tempDir()
      // Given kola serving metrics for a run with one failing and one passing test
      const metricsPort = await freePort()
      const child = spawn(
        process.execPath,
        [
          binPath('kola'),
          'run',
          '--tests-dir',
          MACHINELESS,
          '--output-dir',
          join(dir, '_out_temp'),
          '--metrics-port',
          String(metricsPort),
          'nomachine.fails',
          'nomachine.passes',
        ],
        {
          env: env(dir),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
      child.stdout.resume()
      await waitForOutput(child, 'stderr', /still serving/)

      // And a Prometheus that scrapes it every second
      const promPort = await freePort()
      await writeFile(
        join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          'scrape_configs:',
          '  - job_name: kola',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${metricsPort}']`,
          '',
        ].join('\n'),
      )
      const prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        {stdio: 'ignore'},
      )
      const promExited = new Promise((resolve) => prometheus.once('close', resolve))
      try {
        // When Prometheus is queried for assertions_failed
        let value: string | undefined
        for (let i = 0; i < 300 && value === undefined; i++) {
          await sleep(200)
          const answer = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=assertions_failed`)
            .then((r) => r.json() as Promise<{data?: {result?: Array<{metric: Record<string, string>; value: [number, string]}>}}>)
            .catch(() => undefined)
          value = answer?.data?.result?.[0]?.value[1]
        }

        // Then it holds kola's value: one failing test
        expect(value).toBe('1')
        const tests = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=kola_test_failed`).then(
          (r) => r.json() as Promise<{data: {result: Array<{metric: {test: string; job: string}; value: [number, string]}>}}>,
        )
        expect(Object.fromEntries(tests.data.result.map((r) => [r.metric.test, r.value[1]]))).toEqual({
          'nomachine.fails': '1',
          'nomachine.passes': '0',
        })
      } finally {
        prometheus.kill('SIGTERM')
        await promExited
        child.kill('SIGINT')
      }

      // And kola, stopped, exits with its run's outcome: a test failed
      expect(await exited).toBe(1)
    },
  )
})
