import {UsageError} from '@mantle/kit'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** Parses Go-style durations as the original's flags took them: "5h", "90m", "1h30m", "2d". */
export function parseDuration(text: string): number {
  const trimmed = text.trim()
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new UsageError(`invalid duration "${text}"`, {hint: 'use a number with a unit, e.g. 30m, 5h, 1h30m, 2d'})
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0)
}
