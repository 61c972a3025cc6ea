import {describe, expect, it} from 'vitest'

import type {KolaTest} from '../register/test.js'
import {planMachines} from './buckets.js'

const t = (name: string, extra: Partial<KolaTest> = {}): KolaTest => ({name, run: async () => undefined, ...extra})

describe('planMachines', () => {
  it('puts compatible non-exclusive tests on one machine, keeps exclusive ones alone and splits conflicting pairs', () => {
    // Given six non-exclusive tests, an exclusive one, and a pair that conflicts (named on one side only)
    const six = [1, 2, 3, 4, 5, 6].map((i) => t(`ext.s${i}`, {exclusive: false}))
    const tests = [t('ext.alone'), t('ext.a', {exclusive: false}), t('ext.b', {exclusive: false, conflicts: ['ext.a']}), ...six]

    // When they are planned onto machines
    const plan = planMachines(tests)

    // Then the exclusive test has its own, and the pair is split across two shared machines
    expect(plan.filter((p) => p.kind === 'exclusive').map((p) => (p.kind === 'exclusive' ? p.test.name : ''))).toEqual(['ext.alone'])
    const shared = plan.flatMap((p) => (p.kind === 'shared' ? [p.tests.map((x) => x.name)] : []))
    expect(shared).toEqual([['ext.a', ...six.map((x) => x.name)], ['ext.b']])
  })

  it('never shares between different Ignition configs or machine needs', () => {
    const plan = planMachines([
      t('a', {exclusive: false, userData: {ignition: {version: '3.3.0'}}}),
      t('b', {exclusive: false, userData: '{"ignition": {"version": "3.3.0"}}'}),
      t('c', {exclusive: false}),
      t('d', {exclusive: false, machine: {minMemoryMiB: 2048}}),
      t('e', {exclusive: false, clusterSize: 2}),
    ])
    expect(plan.map((p) => (p.kind === 'shared' ? p.tests.map((x) => x.name).join('+') : `alone:${p.test.name}`))).toEqual([
      'alone:e',
      'a+b',
      'c',
      'd',
    ])
  })
})
