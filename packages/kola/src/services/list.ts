import {globToRegExp} from '../harness/glob.js'
import type {KolaTest} from '../register/test.js'

export interface ListedTest {
  name: string
  description: string
  platforms: string[]
  excludePlatforms: string[]
  distros: string[]
  architectures: string[]
  /** Machines it boots (0 for a cluster test). */
  clusterSize: number
  /** A cluster test: it gets a Kubernetes cluster instead of machines. */
  kube: boolean
  flags: string[]
  tags: string[]
  minVersion?: string | undefined
  endVersion?: string | undefined
}

export interface ListOptions {
  tests: readonly KolaTest[]
  /** A glob over names; absent: every test. */
  filter?: string | undefined
  /** Only tests that run on this platform (their platforms and excludePlatforms). */
  platform?: string | undefined
}

/** `kola list`: the tests, with where they run. */
export function listTests(options: ListOptions): ListedTest[] {
  const re = options.filter ? globToRegExp(options.filter) : undefined
  return options.tests
    .filter((t) => !re || re.test(t.name))
    .filter((t) => options.platform === undefined || runsOn(t, options.platform))
    .map((t) => ({
      name: t.name,
      description: t.description ?? '',
      platforms: t.platforms ?? [],
      excludePlatforms: t.excludePlatforms ?? [],
      distros: t.distros ?? [],
      architectures: t.architectures ?? [],
      clusterSize: t.kube ? 0 : (t.clusterSize ?? 1),
      kube: Boolean(t.kube),
      flags: [...(t.flags ?? [])],
      tags: t.tags ?? [],
      minVersion: t.minVersion,
      endVersion: t.endVersion,
    }))
}

function runsOn(test: KolaTest, platform: string): boolean {
  if (test.platforms?.length && !test.platforms.includes(platform)) return false
  return !test.excludePlatforms?.includes(platform)
}

/** The table `kola list` prints. */
export function formatTestTable(tests: readonly ListedTest[]): string {
  const rows = [
    ['Test Name', 'Platforms', 'Architectures', 'Distributions', 'Machines'],
    ...tests.map((t) => [
      t.name,
      listOrAll(t.platforms, t.excludePlatforms),
      listOrAll(t.architectures, []),
      listOrAll(t.distros, []),
      t.kube ? 'a cluster' : String(t.clusterSize),
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function listOrAll(only: readonly string[], excluded: readonly string[]): string {
  const base = only.length ? only.join(',') : 'all'
  return excluded.length ? `${base} -${excluded.join(',-')}` : base
}
