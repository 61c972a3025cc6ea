import {Flags, UsageError} from '@mantle/kit'
import {parseDuration} from '@mantle/cloud'

/** `--duration` of every gc command: how old a resource must be before it is collected. */
export const gcFlags = {
  duration: Flags.string({summary: 'Collect resources older than this (e.g. 30m, 5h, 2d).', default: '5h'}),
  'dry-run': Flags.boolean({char: 'n', summary: 'Print what would be deleted; delete nothing.'}),
}

export function durationMs(text: string): number {
  return parseDuration(text)
}

/** `key=value` flags (tags, labels) as a map. */
export function keyValues(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const v of values ?? []) {
    const eq = v.indexOf('=')
    if (eq <= 0) throw new UsageError(`--${flag} "${v}" is not key=value`)
    out[v.slice(0, eq)] = v.slice(eq + 1)
  }
  return out
}
