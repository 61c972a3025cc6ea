/**
 * Runs `worker` over `items` with at most `concurrency` at once, in order of
 * start; the first failure stops new starts and is thrown once the running
 * ones settle (so nothing is left running behind the caller's back).
 */
export async function forEachLimit<T>(items: AsyncIterable<T> | Iterable<T>, concurrency: number, worker: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
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
