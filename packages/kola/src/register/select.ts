import {UsageError} from '@mantle/kit'

import {globToRegExp} from '../harness/glob.js'
import type {KolaTest} from './test.js'

/** One denylist entry: a glob over test (or `test/subtest`) names. */
export interface DenyRule {
  pattern: string
  reason?: string | undefined
  /** The entry applies until this moment; after it, the test runs again. */
  snoozeUntil?: Date | undefined
  /** The test runs, and its failure is only a warning (coreos-assembler's `warn: true`): it denies nothing. */
  warn?: boolean | undefined
}

export interface SelectOptions {
  /** filepath.Match globs; an empty list means every test. */
  patterns: readonly string[]
  denylist?: readonly DenyRule[]
  platform: string
  distro?: string | undefined
  architecture?: string | undefined
  /** The image's version; tests outside [minVersion, endVersion) are left out unless named exactly. */
  version?: string | undefined
  /**
   * `--tag`: `T` selects tests tagged T (or whose requiredTag is T), `!T`
   * leaves out tests tagged T. As in coreos-assembler, with name patterns a
   * test must match a pattern or a positive tag; without patterns, the
   * positive tags alone select. A test with a requiredTag runs only when a
   * positive tag names it.
   */
  tags?: readonly string[]
  /** `hash:M/N`: keep only the tests whose name hashes to shard M of N. */
  sharding?: Sharding | undefined
  now?: Date
}

export interface Sharding {
  /** 1..count */
  index: number
  count: number
}

export interface Selection {
  /** The tests to run, by name. */
  tests: KolaTest[]
  /** Tests that matched but are denied: reported as skipped, with the reason. */
  denied: Array<{test: KolaTest; reason: string}>
  /** Tests that matched but do not apply here (platform, distro, architecture): reported as skipped, with the reason. */
  skipped: Array<{test: KolaTest; reason: string}>
}

export function selectTests(all: readonly KolaTest[], options: SelectOptions): Selection {
  const typed = options.patterns.length > 0
  const patterns = (typed ? options.patterns : ['*']).map((p) => ({p, re: globToRegExp(p)}))
  const positive = (options.tags ?? []).filter((t) => !t.startsWith('!'))
  const negative = (options.tags ?? []).filter((t) => t.startsWith('!')).map((t) => t.slice(1))
  const deny = denier(options.denylist ?? [], options.now ?? new Date())
  const selection: Selection = {tests: [], denied: [], skipped: []}
  for (const test of all) {
    if (options.sharding && shardOf(test.name, options.sharding.count) !== options.sharding.index) continue
    const exact = patterns.some(({p}) => p === test.name)
    const nameMatch = exact || patterns.some(({re}) => re.test(test.name))
    const tagMatch = positive.some((t) => test.tags?.includes(t) || t === test.requiredTag)
    if (negative.some((t) => test.tags?.includes(t))) continue
    if (test.requiredTag && !positive.includes(test.requiredTag)) continue
    if (typed ? !nameMatch && !tagMatch : positive.length > 0 && !tagMatch) continue
    // A bare `kola run` is the machine tests: cluster tests need a deployer (the local one builds Kubernetes on first use).
    if (!typed && test.kube && !tagMatch) continue
    const why = notApplicable(test, options, exact)
    if (why === null) continue
    const reason = why ?? deny(test.name)
    if (why !== undefined) selection.skipped.push({test, reason: why})
    else if (reason !== undefined) selection.denied.push({test, reason})
    else selection.tests.push(test)
  }
  return selection
}

/** `hash:M/N` as coreos-assembler reads it: 1 <= M <= N. */
export function parseSharding(text: string): Sharding {
  const m = /^hash:(\d+)\/(\d+)$/.exec(text)
  const index = Number(m?.[1])
  const count = Number(m?.[2])
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`invalid sharding ${JSON.stringify(text)}`, {hint: 'write hash:M/N with 1 <= M <= N, e.g. --sharding hash:2/4'})
  return {index, count}
}

/** The shard (1..count) of a test: FNV-1 64-bit of its name, as coreos-assembler's shardTests. */
export function shardOf(name: string, count: number): number {
  let h = 0xcbf29ce484222325n
  for (const byte of Buffer.from(name, 'utf8')) {
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
    h ^= BigInt(byte)
  }
  return Number(h % BigInt(count)) + 1
}

/** A function giving the reason a (sub)test is denied, or undefined. Expired snoozes no longer deny. */
export function denier(rules: readonly DenyRule[], now: Date): (name: string) => string | undefined {
  const active = rules.filter((r) => !r.warn && (!r.snoozeUntil || now < r.snoozeUntil)).map((r) => ({...r, re: globToRegExp(r.pattern)}))
  return (name) => {
    const rule = active.find((r) => r.re.test(name))
    if (!rule) return undefined
    // The last day the entry applies: it ends at the start of the next.
    const until = rule.snoozeUntil ? ` until ${new Date(rule.snoozeUntil.getTime() - 1).toISOString().slice(0, 10)}` : ''
    return `denylisted (${rule.pattern})${until}${rule.reason ? `: ${rule.reason}` : ''}`
  }
}

/**
 * Why a test does not apply to this run: a reason (reported as a skip), null
 * (left out silently: outside the version bounds), or undefined (it applies).
 */
function notApplicable(test: KolaTest, o: SelectOptions, exact: boolean): string | null | undefined {
  if (!allowed(o.platform, test.platforms, test.excludePlatforms))
    return `not for platform ${o.platform} (platforms: ${describe(test.platforms, test.excludePlatforms)})`
  if (o.distro && !allowed(o.distro, test.distros, test.excludeDistros))
    return `not for distro ${o.distro} (distros: ${describe(test.distros, test.excludeDistros)})`
  if (o.architecture && !allowed(o.architecture, test.architectures, test.excludeArchitectures)) {
    return `not for architecture ${o.architecture} (architectures: ${describe(test.architectures, test.excludeArchitectures)})`
  }
  // An exact name ignores version bounds, as in the original.
  if (!exact && o.version) {
    if (test.minVersion && compareVersions(o.version, test.minVersion) < 0) return null
    if (test.endVersion && compareVersions(o.version, test.endVersion) >= 0) return null
  }
  return undefined
}

function describe(only: readonly string[] | undefined, excluded: readonly string[] | undefined): string {
  return [...(only ?? []), ...(excluded ?? []).map((x) => `!${x}`)].join(' ')
}

function allowed(value: string, only: readonly string[] | undefined, excluded: readonly string[] | undefined): boolean {
  if (only?.length && !only.includes(value)) return false
  return !excluded?.includes(value)
}

/** Dotted numeric versions (`3033.2.0`); a missing part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}
