import {describe, expect, it} from 'vitest'

import {formatBytes, formatDuration, Progress} from './progress.js'

function clock(start = 0) {
  let t = start
  return {now: () => t, advance: (ms: number) => (t += ms)}
}

describe('Progress', () => {
  it('draws bytes, percentage, rate and ETA on a terminal', () => {
    const out: string[] = []
    const c = clock()
    const p = new Progress({
      stream: {write: (s: string) => out.push(s)},
      enabled: true,
      label: 'image.bin',
      total: 100 * 1024 * 1024,
      now: c.now,
    })
    c.advance(2000)
    p.advance(20 * 1024 * 1024)
    expect(out.at(-1)).toBe('\rimage.bin  20.0 MiB / 100.0 MiB (20%)  10.0 MiB/s  ETA 0:08\x1b[K')
    p.setStep('verifying')
    expect(out.at(-1)).toContain('[verifying]')
    p.finish()
    expect(out.at(-1)?.endsWith('\n')).toBe(true)
  })

  it('writes nothing when disabled (not a terminal, or --json)', () => {
    const out: string[] = []
    const p = new Progress({stream: {write: (s: string) => out.push(s)}, enabled: false, label: 'x', total: 10})
    p.advance(5)
    p.setStep('s')
    p.finish()
    expect(out).toEqual([])
  })

  it('throttles redraws', () => {
    const out: string[] = []
    const c = clock(1000)
    const p = new Progress({stream: {write: (s: string) => out.push(s)}, enabled: true, label: 'x', now: c.now, intervalMs: 100})
    p.advance(1)
    p.advance(1)
    c.advance(150)
    p.advance(1)
    expect(out).toHaveLength(2)
  })
})

describe('formatting', () => {
  it('formats bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB')
    expect(formatDuration(65)).toBe('1:05')
    expect(formatDuration(3725)).toBe('1:02:05')
  })
})
