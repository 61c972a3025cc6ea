import type {Writable} from './log.js'

export interface ProgressOptions {
  stream: Writable
  /** False when stderr is not a terminal or --json is on: then nothing is drawn. */
  enabled: boolean
  label: string
  /** Total bytes, when known: enables the percentage and the ETA. */
  total?: number | undefined
  /** Injected for tests; defaults to Date.now. */
  now?: () => number
  /** Minimum time between two redraws. */
  intervalMs?: number
}

/** A one-line progress display on a terminal: bytes, rate, ETA and the current step. */
export class Progress {
  private done = 0
  private step: string | undefined
  private lastDraw = 0
  private readonly started: number
  private readonly now: () => number
  private drawn = false

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now
    this.started = this.now()
  }

  get enabled(): boolean {
    return this.options.enabled
  }

  /** Adds bytes transferred. */
  advance(bytes: number): void {
    this.done += bytes
    this.maybeDraw()
  }

  /** Sets absolute bytes transferred (for resumed downloads). */
  set(bytes: number): void {
    this.done = bytes
    this.maybeDraw()
  }

  setStep(step: string): void {
    this.step = step
    this.maybeDraw(true)
  }

  finish(): void {
    if (!this.options.enabled) return
    if (this.drawn) this.options.stream.write(`\r${this.render()}\x1b[K\n`)
  }

  render(): string {
    const elapsed = Math.max(1, this.now() - this.started) / 1000
    const rate = this.done / elapsed
    const parts = [this.options.label]
    if (this.step) parts.push(`[${this.step}]`)
    const total = this.options.total
    if (total !== undefined && total > 0) {
      const pct = Math.min(100, Math.floor((this.done / total) * 100))
      parts.push(`${formatBytes(this.done)} / ${formatBytes(total)} (${pct}%)`)
    } else if (this.done > 0) {
      parts.push(formatBytes(this.done))
    }
    if (this.done > 0) parts.push(`${formatBytes(rate)}/s`)
    if (total !== undefined && total > 0 && rate > 0 && this.done < total) {
      parts.push(`ETA ${formatDuration((total - this.done) / rate)}`)
    }
    return parts.join('  ')
  }

  private maybeDraw(force = false): void {
    if (!this.options.enabled) return
    const t = this.now()
    if (!force && t - this.lastDraw < (this.options.intervalMs ?? 100)) return
    this.lastDraw = t
    this.drawn = true
    this.options.stream.write(`\r${this.render()}\x1b[K`)
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0')
  const ss = String(sec).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}
