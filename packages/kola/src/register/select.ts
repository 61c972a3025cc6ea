import {globToRegExp} from '../harness/glob.js'
import type {KolaTest} from './test.js'

/** One denylist entry: a glob over test (or `test/subtest`) names. */
export interface DenyRule {
  pattern: string
  reason?: string | undefined
  /** The entry applies until this moment; after it, the test runs again. */
  snoozeUntil?: Date | undefined
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
  now?: Date
}

export interface Selection {
  /** The tests to run, by name. */
  tests: KolaTest[]
  /** Tests that matched but are denied: reported as skipped, with the reason. */
  denied: Array<{test: KolaTest; reason: string}>
}

export function selectTests(all: readonly KolaTest[], options: SelectOptions): Selection {
  const patterns = (options.patterns.length > 0 ? options.patterns : ['*']).map((p) => ({p, re: globToRegExp(p)}))
  const deny = denier(options.denylist ?? [], options.now ?? new Date())
  const selection: Selection = {tests: [], denied: []}
  for (const test of all) {
    const exact = patterns.some(({p}) => p === test.name)
    if (!exact && !patterns.some(({re}) => re.test(test.name))) continue
    if (!applies(test, options, exact)) continue
    const reason = deny(test.name)
    if (reason !== undefined) selection.denied.push({test, reason})
    else selection.tests.push(test)
  }
  return selection
}

/** A function giving the reason a (sub)test is denied, or undefined. Expired snoozes no longer deny. */
export function denier(rules: readonly DenyRule[], now: Date): (name: string) => string | undefined {
  const active = rules.filter((r) => !r.snoozeUntil || now < r.snoozeUntil).map((r) => ({...r, re: globToRegExp(r.pattern)}))
  return (name) => {
    const rule = active.find((r) => r.re.test(name))
    if (!rule) return undefined
    // The last day the entry applies: it ends at the start of the next.
    const until = rule.snoozeUntil ? ` until ${new Date(rule.snoozeUntil.getTime() - 1).toISOString().slice(0, 10)}` : ''
    return `denylisted (${rule.pattern})${until}${rule.reason ? `: ${rule.reason}` : ''}`
  }
}

function applies(test: KolaTest, o: SelectOptions, exact: boolean): boolean {
  if (!allowed(o.platform, test.platforms, test.excludePlatforms)) return false
  if (o.distro && !allowed(o.distro, test.distros, test.excludeDistros)) return false
  if (o.architecture && test.architectures?.length && !test.architectures.includes(o.architecture)) return false
  // An exact name ignores version bounds, as in the original.
  if (!exact && o.version) {
    if (test.minVersion && compareVersions(o.version, test.minVersion) < 0) return false
    if (test.endVersion && compareVersions(o.version, test.endVersion) >= 0) return false
  }
  return true
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
