import {describe, expect, it} from 'vitest'

import {globToRegExp} from '../harness/glob.js'
import {compareVersions, denier, parseSharding, selectTests, shardOf} from './select.js'
import type {KolaTest} from './test.js'

const t = (name: string, extra: Partial<KolaTest> = {}): KolaTest => ({name, run: async () => undefined, ...extra})
const names = (tests: KolaTest[]): string[] => tests.map((x) => x.name)

describe('globToRegExp (filepath.Match)', () => {
  it('matches * within a name but never across the subtest separator', () => {
    expect(globToRegExp('coreos.*').test('coreos.basic')).toBe(true)
    expect(globToRegExp('coreos.*').test('coreos.basic/ssh')).toBe(false)
    expect(globToRegExp('coreos.*/ssh').test('coreos.basic/ssh')).toBe(true)
    expect(globToRegExp('*').test('docker.lib')).toBe(true)
  })

  it('supports ?, classes, negated classes, ranges and escapes', () => {
    expect(globToRegExp('t?st').test('test')).toBe(true)
    expect(globToRegExp('t?st').test('t/st')).toBe(false)
    expect(globToRegExp('v[0-9]').test('v7')).toBe(true)
    expect(globToRegExp('v[^0-9]').test('v7')).toBe(false)
    expect(globToRegExp('v[^0-9]').test('vx')).toBe(true)
    expect(globToRegExp('a\\*').test('a*')).toBe(true)
    expect(globToRegExp('a\\*').test('ab')).toBe(false)
    expect(globToRegExp('a.b').test('axb')).toBe(false)
  })

  it('rejects malformed patterns as usage errors', () => {
    expect(() => globToRegExp('[abc')).toThrow(/malformed test pattern/)
    expect(() => globToRegExp('abc\\')).toThrow(/malformed test pattern/)
  })
})

describe('selectTests', () => {
  it('leaves cluster tests out of a run without patterns; a pattern or a tag selects them', () => {
    // Given a machine test and a cluster test
    const mixed = [t('coreos.basic'), t('kube.deployment', {kube: {}, tags: ['kube']})]
    const select = (patterns: string[], tags: string[] = []) => names(selectTests(mixed, {patterns, platform: 'qemu', tags}).tests)
    // Then a bare run is the machine tests, and naming the cluster test (or its tag) runs it
    expect(select([])).toEqual(['coreos.basic'])
    expect(select(['kube.*'])).toEqual(['kube.deployment'])
    expect(select(['*'])).toEqual(['coreos.basic', 'kube.deployment'])
    expect(select([], ['kube'])).toEqual(['kube.deployment'])
  })

  const all = [
    t('coreos.basic'),
    t('coreos.ignition'),
    t('docker.network'),
    t('cl.only-aws', {platforms: ['aws']}),
    t('new.feature', {minVersion: '3000'}),
  ]

  it('selects by globs, and every test when no glob is given', () => {
    // When selecting with and without patterns
    const some = selectTests(all, {patterns: ['coreos.*', 'docker.net*'], platform: 'qemu'})
    const every = selectTests(all, {patterns: [], platform: 'qemu'})

    // Then the globs pick their tests and no glob means all that apply to the platform
    expect(names(some.tests)).toEqual(['coreos.basic', 'coreos.ignition', 'docker.network'])
    expect(names(every.tests)).toEqual(['coreos.basic', 'coreos.ignition', 'docker.network', 'new.feature'])
  })

  it('leaves out tests of other platforms', () => {
    expect(names(selectTests(all, {patterns: ['cl.*'], platform: 'qemu'}).tests)).toEqual([])
    expect(names(selectTests(all, {patterns: ['cl.*'], platform: 'aws'}).tests)).toEqual(['cl.only-aws'])
  })

  it('moves denylisted tests aside with their reason', () => {
    // Given a denylist rule for docker.*
    const selection = selectTests(all, {patterns: [], platform: 'qemu', denylist: [{pattern: 'docker.*', reason: 'flaky'}]})

    // Then docker.network is denied, not selected
    expect(names(selection.tests)).not.toContain('docker.network')
    expect(selection.denied.map((d) => [d.test.name, d.reason])).toEqual([['docker.network', 'denylisted (docker.*): flaky']])
  })

  it('applies version bounds, except to a test named exactly', () => {
    expect(names(selectTests(all, {patterns: ['new.*'], platform: 'qemu', version: '2900.1'}).tests)).toEqual([])
    expect(names(selectTests(all, {patterns: ['new.feature'], platform: 'qemu', version: '2900.1'}).tests)).toEqual(['new.feature'])
    expect(names(selectTests(all, {patterns: ['new.*'], platform: 'qemu', version: '3001.0'}).tests)).toEqual(['new.feature'])
  })
})

describe('denier', () => {
  it('denies until a snooze date and no longer after it', () => {
    // Given a rule snoozed through 2030-01-01
    const rules = [{pattern: 'coreos.basic/journal', reason: 'bug 12', snoozeUntil: new Date('2030-01-02T00:00:00Z')}]

    // Then before that date the subtest is denied with its reason, after it it runs
    expect(denier(rules, new Date('2029-06-01'))('coreos.basic/journal')).toBe('denylisted (coreos.basic/journal) until 2030-01-01: bug 12')
    expect(denier(rules, new Date('2030-02-01'))('coreos.basic/journal')).toBeUndefined()
    expect(denier(rules, new Date('2029-06-01'))('coreos.basic')).toBeUndefined()
  })
})

describe('compareVersions', () => {
  it('compares dotted numbers part by part', () => {
    expect(compareVersions('3033.2.0', '3033.10.0')).toBe(-1)
    expect(compareVersions('3033', '3033.0.0')).toBe(0)
    expect(compareVersions('3100.0.0', '3033.9.9')).toBe(1)
  })
})

describe('selectTests: tags, requiredTag, sharding, skip reasons', () => {
  const tagged = [
    t('a.fast', {tags: ['smoke']}),
    t('a.slow', {tags: ['slow']}),
    t('a.both', {tags: ['smoke', 'slow']}),
    t('a.special', {requiredTag: 'special'}),
    t('a.cloud', {platforms: ['aws', 'gcp']}),
    t('a.notx86', {excludeArchitectures: ['x86_64']}),
  ]
  const pick = (o: Partial<Parameters<typeof selectTests>[1]>): string[] =>
    names(selectTests(tagged, {patterns: [], platform: 'qemu', architecture: 'x86_64', ...o}).tests)

  it('selects by --tag T, leaves out by --tag !T, and runs requiredTag tests only when their tag is asked for', () => {
    expect(pick({tags: ['smoke']})).toEqual(['a.fast', 'a.both'])
    expect(pick({tags: ['!slow']})).toEqual(['a.fast'])
    expect(pick({tags: ['smoke', '!slow']})).toEqual(['a.fast'])
    expect(pick({})).toEqual(['a.fast', 'a.slow', 'a.both'])
    expect(pick({tags: ['special']})).toEqual(['a.special'])
    // With a name pattern, a test matches the pattern or a positive tag (coreos-assembler's rule)
    expect(pick({patterns: ['a.slow'], tags: ['smoke']})).toEqual(['a.fast', 'a.slow', 'a.both'])
  })

  it('reports tests of other platforms and architectures as skipped, with the reason', () => {
    const selection = selectTests(tagged, {patterns: ['a.cloud', 'a.notx86'], platform: 'qemu', architecture: 'x86_64'})
    expect(selection.tests).toEqual([])
    expect(selection.skipped.map((s) => [s.test.name, s.reason])).toEqual([
      ['a.cloud', 'not for platform qemu (platforms: aws gcp)'],
      ['a.notx86', 'not for architecture x86_64 (architectures: !x86_64)'],
    ])
  })

  it('splits the tests across shards by a hash of the name: every test in exactly one shard, the same one every time', () => {
    // Given 200 tests and 7 shards
    const many = Array.from({length: 200}, (_, i) => t(`ext.many.test-${i}`))
    const shard = (index: number): string[] => names(selectTests(many, {patterns: [], platform: 'qemu', sharding: {index, count: 7}}).tests)
    // When each shard selects its tests
    const shards = [1, 2, 3, 4, 5, 6, 7].map(shard)
    // Then together they hold every test exactly once, no shard is empty, and a second pass agrees
    expect(shards.flat().sort()).toEqual(names(many).sort())
    expect(shards.every((s) => s.length > 0)).toBe(true)
    expect(shard(3)).toEqual(shards[2])
    expect(shardOf('ext.many.test-0', 7)).toBe(shardOf('ext.many.test-0', 7))
  })

  it('parses hash:M/N and refuses anything else', () => {
    expect(parseSharding('hash:2/4')).toEqual({index: 2, count: 4})
    for (const bad of ['hash:0/4', 'hash:5/4', 'hash:1/0', 'mod:1/2', 'hash:1'])
      expect(() => parseSharding(bad)).toThrow(/invalid sharding/)
  })
})
