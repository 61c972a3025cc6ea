/**
 * Runs `worker` over `items` with at most `concurrency` at once, in order of
 * start; the first failure stops new starts and is thrown once the running
 * ones settle (so nothing is left running behind the caller's back).
 */
export async function forEachLimit<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const running = new Set<Promise<void>>()
  let failure: {error: unknown} | undefined
  for await (const item of items) {
    if (failure || signal?.aborted) break
    const p: Promise<void> = worker(item)
      .catch((error: unknown) => {
        failure ??= {error}
      })
      .finally(() => running.delete(p))
    running.add(p)
    if (running.size >= concurrency) await Promise.race(running)
  }
  await Promise.all(running)
  if (failure) throw failure.error
  signal?.throwIfAborted()
}

/**
 * A queue one side pushes into and `forEachLimit` drains: `items` ends once
 * `close` is called and the queue is empty; `fail` ends it at once, dropping
 * what waits.
 */
export function channel<T>(): {items: AsyncIterable<T>; push(item: T): void; close(): void; fail(): void} {
  const queue: T[] = []
  let closed = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    wake?.()
    wake = undefined
  }
  return {
    items: (async function* () {
      for (;;) {
        if (queue.length > 0) yield queue.shift()!
        else if (closed) return
        else await new Promise<void>((resolve) => (wake = resolve))
      }
    })(),
    push(item) {
      if (closed) return
      queue.push(item)
      notify()
    },
    close() {
      closed = true
      notify()
    },
    fail() {
      closed = true
      queue.length = 0
      notify()
    },
  }
}
