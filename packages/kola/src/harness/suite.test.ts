import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setImmediate as tick} from 'node:timers/promises'

import {Logger, Redactor} from '@mantle/kit'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {H, TestRecord} from './h.js'
import {runSuite, type SuiteOptions, type SuiteTest} from './suite.js'

const quiet = new Logger({level: 'error', stream: {write: () => true}, redactor: new Redactor()})

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kola-suite-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

function suite(tests: SuiteTest[], extra: Partial<SuiteOptions> = {}): ReturnType<typeof runSuite> {
  return runSuite({tests, parallel: 1, outputDir: dir, signal: new AbortController().signal, logger: quiet, graceMs: 1000, ...extra})
}

function byName(records: TestRecord[], name: string): TestRecord {
  const r = records.find((x) => x.name === name)
  if (!r) throw new Error(`no record for ${name}`)
  return r
}

describe('runSuite', () => {
  it('never runs more tests at once than the parallel cap', async () => {
    // Given six tests that each stay busy for a few turns of the event loop
    let running = 0
    let most = 0
    const busy = async (): Promise<void> => {
      running++
      most = Math.max(most, running)
      for (let i = 0; i < 20; i++) await tick()
      running--
    }
    const tests = Array.from({length: 6}, (_, i) => ({name: `t${i}`, run: busy}))

    // When they run with a cap of 2
    const result = await suite(tests, {parallel: 2})

    // Then at most two ran at once, and two did run together
    expect(most).toBe(2)
    expect(result.records.filter((r) => r.result === 'PASS')).toHaveLength(6)
  })

  it('names subtests parent/sub, records each, and fails the parent when one fails', async () => {
    // Given a test with a passing and a failing subtest
    const tests = [
      {
        name: 'p',
        run: async (h: H) => {
          await h.run('good', async (s) => s.log('fine'))
          const ok = await h.run('bad', async (s) => s.error('broken'))
          h.log(`bad passed: ${ok}`)
        },
      },
    ]

    // When the suite runs
    const result = await suite(tests)

    // Then both subtests are recorded, the parent fails, and the failure output is kept
    expect(byName(result.records, 'p/good').result).toBe('PASS')
    expect(byName(result.records, 'p/bad')).toMatchObject({result: 'FAIL', output: 'broken', subtest: true})
    expect(byName(result.records, 'p')).toMatchObject({result: 'FAIL', output: 'bad passed: false'})
    expect(result.result).toBe('FAIL')
    expect(await readFile(join(dir, 'p', 'bad', 'output.txt'), 'utf8')).toBe('broken\n')
  })

  it('runs parallel subtests alongside each other within the cap', async () => {
    // Given a test whose three subtests call parallel()
    let running = 0
    let most = 0
    const order: string[] = []
    const tests = [
      {
        name: 'p',
        run: async (h: H) => {
          for (const n of ['a', 'b', 'c']) {
            await h.run(n, async (s) => {
              await s.parallel()
              running++
              most = Math.max(most, running)
              for (let i = 0; i < 10; i++) await tick()
              running--
              order.push(n)
            })
          }
          order.push('parent body done')
        },
      },
    ]

    // When the suite runs with a cap of 2
    const result = await suite(tests, {parallel: 2})

    // Then the parent's body ended before the subtests, two ran together, and the parent waited for all
    expect(order[0]).toBe('parent body done')
    expect(most).toBe(2)
    expect(byName(result.records, 'p').result).toBe('PASS')
    expect(result.records.map((r) => r.name).at(-1)).toBe('p')
  })

  it('reports skip() as SKIP with its reason, and fatal() ends the test', async () => {
    // Given a test that skips and one that calls fatal before more work
    let after = false
    const tests = [
      {name: 'skips', run: async (h: H) => h.skip('needs internet')},
      {
        name: 'fatal',
        run: async (h: H) => {
          h.fatal('stop here')
          after = true
        },
      },
    ]

    // When the suite runs
    const result = await suite(tests)

    // Then the skip carries its reason and nothing ran after fatal
    expect(byName(result.records, 'skips')).toMatchObject({result: 'SKIP', skipReason: 'needs internet'})
    expect(byName(result.records, 'fatal')).toMatchObject({result: 'FAIL', output: 'stop here', failure: 'test'})
    expect(after).toBe(false)
  })

  it('skips denied tests and subtests with the reason, without running them', async () => {
    // Given a denial for one test and one subtest
    const ran: string[] = []
    const tests = [
      {name: 'a', run: async () => void ran.push('a')},
      {
        name: 'b',
        run: async (h: H) => {
          await h.run('x', async () => void ran.push('b/x'))
          await h.run('y', async () => void ran.push('b/y'))
        },
      },
    ]
    const denied = (name: string): string | undefined => (name === 'a' || name === 'b/y' ? `denied ${name}` : undefined)

    // When the suite runs
    const result = await suite(tests, {denied})

    // Then neither denied one ran, and both are skipped with the reason
    expect(ran).toEqual(['b/x'])
    expect(byName(result.records, 'a')).toMatchObject({result: 'SKIP', skipReason: 'denied a'})
    expect(byName(result.records, 'b/y')).toMatchObject({result: 'SKIP', skipReason: 'denied b/y'})
    expect(byName(result.records, 'b').result).toBe('PASS')
  })

  it('fails a test that outlives its timeout, aborting its signal, and goes on', async () => {
    // Given a test that waits until its signal aborts, and a quick one
    let sawAbort = false
    const tests = [
      {
        name: 'hangs',
        timeoutMs: 50,
        run: (h: H) =>
          new Promise<void>((resolve) =>
            h.signal.addEventListener('abort', () => {
              sawAbort = true
              resolve()
            }),
          ),
      },
      {name: 'quick', run: async () => undefined},
    ]

    // When the suite runs
    const result = await suite(tests)

    // Then the hung test failed as timed out and the next one still ran
    expect(sawAbort).toBe(true)
    expect(byName(result.records, 'hangs')).toMatchObject({result: 'FAIL', failure: 'timeout'})
    expect(byName(result.records, 'hangs').output).toContain('timed out after')
    expect(byName(result.records, 'quick').result).toBe('PASS')
  })

  it('when interrupted, stops running tests, reports them INTERRUPTED and waiting ones as not run', async () => {
    // Given two tests with a cap of 1, the first blocking until it is aborted
    const {InterruptedError} = await import('@mantle/kit')
    const controller = new AbortController()
    const tests = [
      {
        name: 'first',
        run: (h: H) =>
          new Promise<void>((_, reject) => {
            h.signal.addEventListener('abort', () => reject(h.signal.reason))
            controller.abort(new InterruptedError('SIGINT'))
          }),
      },
      {name: 'second', run: async () => undefined},
    ]

    // When the run is interrupted while the first runs
    const result = await suite(tests, {signal: controller.signal})

    // Then the first was cut short (not failed), the second never ran, and the result says interrupted
    expect(result.interrupted).toBe(true)
    expect(byName(result.records, 'first')).toMatchObject({result: 'INTERRUPTED', failure: 'interrupted', message: 'interrupted by SIGINT'})
    expect(result.result).toBe('INTERRUPTED')
    expect(byName(result.records, 'second')).toMatchObject({result: 'SKIP', skipReason: 'not run: the run was interrupted'})
  })

  it('when interrupted, a test that had already failed stays FAIL', async () => {
    // Given a test that fails, then blocks until the run is stopped
    const {InterruptedError} = await import('@mantle/kit')
    const controller = new AbortController()
    const tests = [
      {
        name: 'failed-first',
        run: (h: H) =>
          new Promise<void>((_, reject) => {
            h.error('a real failure')
            h.signal.addEventListener('abort', () => reject(h.signal.reason))
            controller.abort(new InterruptedError('SIGINT'))
          }),
      },
    ]

    // When the run is interrupted
    const result = await suite(tests, {signal: controller.signal})

    // Then the failure is what the report says
    expect(byName(result.records, 'failed-first')).toMatchObject({result: 'FAIL', failure: 'test', message: 'a real failure'})
  })

  it('classifies an error thrown by a test: infrastructure errors are not test failures', async () => {
    // Given tests throwing a plain error and an InfraError
    const {InfraError} = await import('@mantle/kit')
    const tests = [
      {name: 'plain', run: async () => Promise.reject(new Error('boom'))},
      {name: 'infra', run: async () => Promise.reject(new InfraError('machine never came up'))},
    ]

    // When the suite runs
    const result = await suite(tests)

    // Then both fail, with their kind
    expect(byName(result.records, 'plain')).toMatchObject({result: 'FAIL', failure: 'test'})
    expect(byName(result.records, 'infra')).toMatchObject({result: 'FAIL', failure: 'infra'})
  })
})

describe('Limiter', () => {
  it('lets a holder take several units, never overtaking an earlier waiter', async () => {
    const {Limiter} = await import('./limiter.js')
    // Given a cap of 3 with one unit taken
    const limiter = new Limiter(3)
    const order: string[] = []
    await limiter.acquire(1)

    // When a two-machine test and then a one-machine test wait, and a five-unit one is clamped to the cap
    const big = limiter.acquire(2).then((n) => order.push(`big:${n}`))
    const small = limiter.acquire(1).then((n) => order.push(`small:${n}`))
    await big

    // Then the two-unit holder got in first, the next waits until units free up
    expect(order).toEqual(['big:2'])
    expect(limiter.running).toBe(3)
    limiter.release(1)
    await small
    expect(order).toEqual(['big:2', 'small:1'])
    limiter.release(2)
    limiter.release(1)
    expect(await limiter.acquire(5)).toBe(3)
  })
})
