import {UsageError} from '@mantle/kit'

import {globToRegExp} from '../harness/glob.js'
import type {DenyRule} from '../register/select.js'
import {MiB, readLimited} from './read-limited.js'

/** A denylist is a page of globs; anything near this size is not one. */
export const DENYLIST_LIMIT = 1 * MiB

/**
 * Reads a denylist file (YAML): a list of entries, each a glob over test or
 * `test/subtest` names with an optional reason and `snooze` date; an entry
 * denies until the end of its snooze day, then the test runs again.
 *
 *   - pattern: coreos.network.*
 *     reason: multicast is flaky on the CI hosts (bug 12)
 *     snooze: 2026-12-31
 *   - pattern: coreos.basic/journal
 */
export async function loadDenylist(path: string): Promise<DenyRule[]> {
  const text = await readLimited(path, DENYLIST_LIMIT, 'denylist', 'pass an existing YAML file to --denylist')
  return parseDenylist(text, path)
}

export async function parseDenylist(text: string, source = 'denylist'): Promise<DenyRule[]> {
  const {parse} = await import('yaml')
  let doc: unknown
  try {
    doc = parse(text)
  } catch (error) {
    throw new UsageError(`${source}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc))
    throw new UsageError(`${source}: want a list of entries`, {hint: '- pattern: coreos.basic\n  reason: why\n  snooze: 2026-12-31'})
  return doc.map((entry: unknown, i) => {
    const e = (typeof entry === 'string' ? {pattern: entry} : entry) as {
      pattern?: unknown
      reason?: unknown
      snooze?: unknown
      warn?: unknown
    }
    if (typeof e?.pattern !== 'string' || !e.pattern) throw new UsageError(`${source}: entry ${i + 1} has no pattern`)
    globToRegExp(e.pattern)
    if (e.warn !== undefined && typeof e.warn !== 'boolean') throw new UsageError(`${source}: entry ${i + 1}: warn must be true or false`)
    // warn: true runs the test and turns its failure into a warning (coreos-assembler's kola-denylist.yaml).
    return {
      pattern: e.pattern,
      reason: e.reason === undefined ? undefined : String(e.reason),
      snoozeUntil: snoozeEnd(e.snooze, source, i),
      ...(e.warn === true ? {warn: true} : {}),
    }
  })
}

/** A snooze date covers its whole day (UTC): the entry expires at the next midnight. */
function snoozeEnd(value: unknown, source: string, i: number): Date | undefined {
  if (value === undefined || value === null) return undefined
  const text = value instanceof Date ? value.toISOString().slice(0, 10) : String(value)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    throw new UsageError(`${source}: entry ${i + 1}: snooze ${JSON.stringify(text)} is not a date`, {hint: 'write snooze: YYYY-MM-DD'})
  }
  return new Date(Date.parse(`${text}T00:00:00Z`) + 86_400_000)
}
