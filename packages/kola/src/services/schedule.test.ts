import {describe, expect, it} from 'vitest'

import type {KolaTest} from '../register/test.js'
import {planFor, warnOnlyTests, withNotRun} from './schedule.js'

const t = (name: string, extra: Partial<KolaTest> = {}): KolaTest => ({name, run: async () => undefined, ...extra})

describe('warnOnlyTests', () => {
  it('warns for 30 days after a creationDate (coreos-assembler gracePeriod), then fails again', () => {
    // Given a test created on 2026-11-20 and one created long ago
    const tests = [t('ext.new', {creationDate: '2026-11-20'}), t('ext.old', {creationDate: '2025-01-01'})]
    // Then within 30 days the new one (and its copies and subtests) only warns, the old one never does
    const during = warnOnlyTests(tests, [], new Date('2026-12-06T12:00:00Z'))
    expect([during('ext.new'), during('ext.new~2'), during('ext.new/sub'), during('ext.old')]).toEqual([true, true, true, false])
    expect(warnOnlyTests(tests, [], new Date('2026-12-21T00:00:00Z'))('ext.new')).toBe(false)
  })

  it('warns for denylist entries with warn: true until their snooze ends', () => {
    const rules = [{pattern: 'ext.flaky.*', warn: true, snoozeUntil: new Date('2027-01-01T00:00:00Z')}]
    expect(warnOnlyTests([], rules, new Date('2026-12-06'))('ext.flaky.one')).toBe(true)
    expect(warnOnlyTests([], rules, new Date('2027-02-01'))('ext.flaky.one')).toBe(false)
    expect(warnOnlyTests([], rules, new Date('2026-12-06'))('ext.other')).toBe(false)
  })
})

describe('planFor and withNotRun', () => {
  it('keeps denied tests off shared machines, and records tests of a machine that never started as not run', () => {
    // Given two non-exclusive tests, one of them denied
    const tests = [t('a', {exclusive: false}), t('b', {exclusive: false})]
    const plan = planFor(tests, (name) => (name === 'b' ? 'denylisted' : undefined))
    // Then only the other boots a shared machine; the denied one is alone (skipped without a machine)
    expect(plan.map((p) => (p.kind === 'shared' ? `shared:${p.tests.map((x) => x.name).join('+')}` : `alone:${p.test.name}`))).toEqual([
      'shared:a',
      'alone:b',
    ])
    // And a test with no record gets one
    expect(withNotRun([], [t('a')]).map((r) => [r.name, r.result, r.skipReason])).toEqual([
      ['a', 'SKIP', 'not run: the run was interrupted'],
    ])
  })
})
