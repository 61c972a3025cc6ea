import {UsageError} from '@mantle/kit'

/**
 * Go's `filepath.Match` on test names: `*` is any run of characters but `/`,
 * `?` one character but `/`, `[...]` a class (`[^...]` negated, ranges, `\`
 * escapes). `/` separates a test from its subtests, so `coreos.*` selects
 * tests, never subtests.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '\\') {
      i++
      if (i >= pattern.length) throw badPattern(pattern)
      out += escapeChar(pattern[i] as string)
    } else if (c === '[') {
      const end = classEnd(pattern, i)
      let body = pattern.slice(i + 1, end)
      let negate = false
      if (body.startsWith('^')) {
        negate = true
        body = body.slice(1)
      }
      if (body.length === 0) throw badPattern(pattern)
      const chars = body.replace(/\\(.)/g, '$1').replace(/[\]\\^]/g, '\\$&')
      out += negate ? `(?!/)[^${chars}]` : `(?!/)[${chars}]`
      i = end
    } else out += escapeChar(c)
  }
  return new RegExp(out + '$')
}

function classEnd(pattern: string, start: number): number {
  for (let j = start + 1; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++
    else if (pattern[j] === ']' && j > start + 1) return j
  }
  throw badPattern(pattern)
}

function escapeChar(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

function badPattern(pattern: string): UsageError {
  return new UsageError(`malformed test pattern ${JSON.stringify(pattern)}`, {
    hint: 'patterns are filepath.Match globs: *, ?, [a-z], \\ escapes',
  })
}
