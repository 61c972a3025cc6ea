/**
 * A counting semaphore: at most `capacity` units held at once, served in
 * arrival order. A holder may take several units (a test of two machines),
 * never more than the capacity.
 */
export class Limiter {
  private active = 0
  private readonly waiting: Array<{units: number; resume: () => void}> = []

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`limiter capacity must be a positive integer, got ${capacity}`)
  }

  get running(): number {
    return this.active
  }

  /** Waits for `units` (clamped to 1..capacity) and returns how many were taken: pass that to release. */
  async acquire(units = 1): Promise<number> {
    const n = Math.min(Math.max(1, Math.floor(units)), this.capacity)
    if (this.waiting.length === 0 && this.active + n <= this.capacity) {
      this.active += n
      return n
    }
    await new Promise<void>((resume) => this.waiting.push({units: n, resume}))
    return n
  }

  release(units = 1): void {
    this.active -= units
    // First come, first served: a large waiter at the head is not overtaken.
    while (this.waiting.length > 0 && this.active + (this.waiting[0]?.units ?? 0) <= this.capacity) {
      const next = this.waiting.shift() as {units: number; resume: () => void}
      this.active += next.units
      next.resume()
    }
  }
}
