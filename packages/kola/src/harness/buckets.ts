import type {KolaTest} from '../register/test.js'

/** How the tests of a run map onto machines. */
export type MachinePlan =
  /** A test with machines of its own. */
  | {kind: 'exclusive'; test: KolaTest}
  /** Non-exclusive tests run one after another on one machine. */
  | {kind: 'shared'; name: string; tests: KolaTest[]}

/**
 * coreos-assembler's buckets, with compatibility made explicit: tests marked
 * `exclusive: false` share a machine when they boot the same Ignition config
 * with the same machine needs and flags, and none names another in
 * `conflicts` (in either direction; `--multiply` copies count as their
 * test). Within a compatible group, each test goes into the first bucket
 * holding none of its conflicts, as coreos-assembler's createTestBuckets does.
 * A group of one is still shared (it boots the same one machine).
 */
export function planMachines(tests: readonly KolaTest[]): MachinePlan[] {
  const plan: MachinePlan[] = []
  const groups = new Map<string, KolaTest[]>()
  for (const test of tests) {
    if (!canShare(test)) {
      plan.push({kind: 'exclusive', test})
      continue
    }
    const key = compatibilityKey(test)
    const group = groups.get(key)
    if (group) group.push(test)
    else groups.set(key, [test])
  }
  const conflicts = conflictGraph(tests)
  let n = 0
  for (const group of groups.values()) {
    const buckets: KolaTest[][] = []
    for (const test of group) {
      const mine = conflicts.get(baseName(test.name)) ?? new Set<string>()
      const bucket = buckets.find((b) => !b.some((t) => mine.has(baseName(t.name))))
      if (bucket) bucket.push(test)
      else buckets.push([test])
    }
    for (const tests of buckets) plan.push({kind: 'shared', name: `shared-machine-${++n}`, tests})
  }
  return plan
}

function canShare(test: KolaTest): boolean {
  if (test.exclusive !== false) return false
  if ((test.clusterSize ?? 1) !== 1) return false
  // A test that keeps kola's key out of its config cannot be reached on a machine booted for others.
  return !test.flags?.some((f) => f === 'NoSSHKeyInUserData' || f === 'NoSSHKeyInMetadata')
}

/** Same config, same machine needs, same flags: the tests could have booted the same machine. */
export function compatibilityKey(test: KolaTest): string {
  const userData = typeof test.userData === 'string' ? safeParse(test.userData) : (test.userData ?? null)
  return stableJson({userData, machine: test.machine ?? {}, flags: [...(test.flags ?? [])].sort()})
}

/** Conflicts in both directions, by test name without a `~N` copy number. */
function conflictGraph(tests: readonly KolaTest[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  const add = (a: string, b: string): void => {
    const set = graph.get(a) ?? new Set<string>()
    set.add(b)
    graph.set(a, set)
  }
  for (const t of tests) {
    for (const other of t.conflicts ?? []) {
      add(baseName(t.name), other)
      add(other, baseName(t.name))
    }
  }
  return graph
}

function baseName(name: string): string {
  return name.replace(/~\d+$/, '')
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** JSON with object keys sorted and undefined dropped: equal values give equal text. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
}
