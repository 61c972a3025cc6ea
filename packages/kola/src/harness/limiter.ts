/** A counting semaphore: at most `capacity` holders at once, served in arrival order. */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`limiter capacity must be a positive integer, got ${capacity}`)
  }

  get running(): number {
    return this.active
  }

  async acquire(): Promise<void> {
    if (this.active < this.capacity) {
      this.active++
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  release(): void {
    const next = this.waiting.shift()
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next()
    else this.active--
  }
}
