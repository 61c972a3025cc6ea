import {describe, expect, it} from 'vitest'

import type {TestRecord} from './h.js'
import {bailOut, jsonReport, junitReport, tapLines} from './reports.js'

const rec = (r: Partial<TestRecord> & {name: string; result: TestRecord['result']}): TestRecord => ({
  durationMs: 1500,
  output: '',
  subtest: false,
  ...r,
})

describe('reports', () => {
  const records = [
    rec({name: 'a', result: 'PASS'}),
    rec({name: 'b', result: 'FAIL', output: 'expected 1\ngot <2> & "3"', failure: 'test'}),
    rec({name: 'c', result: 'SKIP', skipReason: 'denylisted (c): bug'}),
    rec({name: 'b/sub', result: 'FAIL', output: 'x', subtest: true}),
  ]

  it('writes TAP lines: ok, not ok with the output as comments, ok # SKIP with the reason', () => {
    expect(records.slice(0, 3).map(tapLines).join('')).toBe(
      'ok - a\nnot ok - b\n# expected 1\n# got <2> & "3"\nok - c # SKIP denylisted (c): bug\n',
    )
  })

  it('writes report.json in the original shape, durations in nanoseconds', () => {
    const json = jsonReport({platform: 'qemu', version: '1.2.3', result: 'FAIL', records}) as {
      tests: Array<Record<string, unknown>>
      result: string
    }
    expect(json).toMatchObject({result: 'FAIL', platform: 'qemu', version: '1.2.3'})
    expect(json.tests[0]).toEqual({name: 'a', result: 'PASS', duration: 1_500_000_000, output: ''})
    expect(json.tests[1]).toMatchObject({name: 'b', result: 'FAIL', output: 'expected 1\ngot <2> & "3"'})
    expect(json.tests[2]).toMatchObject({result: 'SKIP', reason: 'denylisted (c): bug'})
  })

  it('writes JUnit with a failure element per failed case, escaped, and skipped elements', () => {
    const xml = junitReport({platform: 'qemu', version: '1', result: 'FAIL', records})
    expect(xml).toContain('<testsuite name="kola.qemu" tests="4" failures="2" errors="0" skipped="1"')
    expect(xml).toContain('<testcase name="b" classname="kola.qemu" time="1.500">')
    expect(xml).toContain('<failure message="expected 1" type="test">expected 1\ngot &lt;2&gt; &amp; &quot;3&quot;</failure>')
    expect(xml).toContain('<skipped message="denylisted (c): bug"/>')
    expect(xml).toContain('<testcase name="b/sub"')
  })

  it('marks flakes in all three formats', () => {
    const flake = rec({name: 'f', result: 'PASS', flake: true})
    expect(tapLines(flake)).toBe('ok - f # flake: passed on rerun\n')
    expect((jsonReport({platform: 'qemu', version: '1', result: 'PASS', records: [flake]}) as {tests: unknown[]}).tests[0]).toMatchObject({
      flake: true,
    })
    expect(junitReport({platform: 'qemu', version: '1', result: 'PASS', records: [flake]})).toContain(
      '<property name="flake" value="true"/>',
    )
  })

  it('reports a test cut short by the user as INTERRUPTED: TAP not ok with the word and a Bail out!, JSON result, JUnit error', () => {
    const cut = rec({name: 'w', result: 'INTERRUPTED', failure: 'interrupted', message: 'interrupted by SIGINT', output: 'booting'})
    expect(tapLines(cut)).toBe('not ok - w # INTERRUPTED: interrupted by SIGINT\n')
    expect(bailOut([rec({name: 'a', result: 'PASS'}), cut])).toBe('Bail out! kola run interrupted by SIGINT\n')
    expect(
      (jsonReport({platform: 'qemu', version: '1', result: 'INTERRUPTED', records: [cut]}) as {tests: unknown[]}).tests[0],
    ).toMatchObject({result: 'INTERRUPTED', failure: 'interrupted'})
    const xml = junitReport({platform: 'qemu', version: '1', result: 'INTERRUPTED', records: [cut, rec({name: 'a', result: 'PASS'})]})
    expect(xml).toContain('<testsuite name="kola.qemu" tests="2" failures="0" errors="1" skipped="0"')
    expect(xml).toContain('<error message="interrupted by SIGINT" type="interrupted">booting</error>')
    expect(xml).not.toContain('<failure')
  })
})
