import {existsSync} from 'node:fs'
import {Worker} from 'node:worker_threads'

import {BugError} from '../errors.js'

/** One digest to compute over the data (see hash-worker.ts). */
export interface HashJob {
  /** Node's name of the digest (sha256, sha512, ...). */
  algorithm: string
  prefix?: Uint8Array | undefined
  suffix?: Uint8Array | undefined
  /** Canonicalise line ends as GnuPG does for a text-mode signature. */
  text?: boolean | undefined
  /**
   * The suffix is given to `finish` instead (`suffix` is then ignored): a download starts hashing with the
   * digest read from the signature's bytes while openpgp parses it, which yields the suffix.
   */
  suffixLater?: boolean | undefined
}

export type HashOutcome = {ok: true; digest: Buffer} | {ok: false; message: string; longLine: boolean}

/** The ring the data is copied into; the writer waits when the slowest digest is this far behind. */
const RING_BYTES = 64 * 1024 * 1024
/** The threads are woken once per this many bytes (or when the writer waits or closes): fewer, larger steps. */
const WAKE_BYTES = 4 * 1024 * 1024
/** A worker that has not moved for this long while the writer waits for it has stopped. */
const STALL_MS = 60_000
/** A thread that has not set up its digest this long after the writer filled the ring could not start. */
const START_STALL_MS = 10_000
/** A thread's progress until it has set up its digest (hash-worker.ts): the writer knows it has not started. */
const NOT_STARTED = -1n

/**
 * Several digests of one stream of data, each on its own thread, fed through
 * one shared ring: `write` copies a chunk in (synchronously, so the caller
 * may reuse its buffer at once) and returns; it blocks only while the ring
 * is full, which slows the sender down (a socket left unread). One copy per
 * byte, whatever the number of digests, and no message per chunk.
 */
export class ParallelHasher {
  private readonly ring: Uint8Array
  private readonly control: BigInt64Array
  private written = 0n
  private woken = 0n
  private closed = false
  private readonly results: Promise<HashOutcome>[]
  /** Set when a thread failed (to start, or later): the writer stops instead of waiting for it. */
  private failure: BugError | undefined

  private constructor(
    private readonly workers: Worker[],
    ring: SharedArrayBuffer,
    control: SharedArrayBuffer,
    private readonly suffixLater: readonly boolean[],
    online: Promise<unknown>,
  ) {
    this.ring = new Uint8Array(ring)
    this.control = new BigInt64Array(control)
    const fail = (error: BugError): void => {
      this.failure ??= error
    }
    // A thread that failed before this hasher existed (it is not waited for to come online) is known through `online`.
    online.catch((error: unknown) => fail(new BugError(`a hashing thread could not start: ${(error as Error).message}`, {cause: error})))
    this.results = workers.map(
      (worker) =>
        new Promise<HashOutcome>((resolve, reject) => {
          worker.once('message', (m: HashOutcome) => resolve(m.ok ? {ok: true, digest: Buffer.from(m.digest)} : m))
          worker.once('error', (error) => {
            fail(new BugError(`a hashing thread failed: ${error.message}`, {cause: error}))
            reject(error)
          })
          worker.once('exit', (code) => {
            const error = new BugError(`a hashing thread stopped (exit code ${code})`)
            fail(error)
            reject(error)
          })
          online.catch(reject)
        }),
    )
    for (const r of this.results) r.catch(() => {})
  }

  /** Starts one thread per job; resolves once they all run. With no job it only counts the bytes written (no ring, no thread). */
  static async start(jobs: readonly HashJob[]): Promise<ParallelHasher> {
    return HashThreads.spawn(jobs.length).start(jobs)
  }

  /** @internal HashThreads.start. */
  static of(
    workers: Worker[],
    ring: SharedArrayBuffer,
    control: SharedArrayBuffer,
    jobs: readonly HashJob[],
    online: Promise<unknown>,
  ): ParallelHasher {
    return new ParallelHasher(
      workers,
      ring,
      control,
      jobs.map((j) => j.suffixLater ?? false),
      online,
    )
  }

  /** Bytes written so far. */
  get bytes(): number {
    return Number(this.written)
  }

  /** Bytes written that the slowest thread has not taken in yet: the writer waits once this reaches `capacity`. */
  get behind(): number {
    if (this.workers.length === 0) return 0
    const {progress} = this.slowestThread()
    return Number(this.written - (progress === NOT_STARTED ? 0n : progress))
  }

  /** The thread furthest behind: its slot in `control` and its progress there (NOT_STARTED until it set up its digest). */
  private slowestThread(): {slot: number; progress: bigint} {
    let slot = 2
    for (let i = 3; i < this.control.length; i++) if (Atomics.load(this.control, i) < Atomics.load(this.control, slot)) slot = i
    return {slot, progress: Atomics.load(this.control, slot)}
  }

  /** The size of the ring (0 without a thread). */
  get capacity(): number {
    return this.workers.length === 0 ? 0 : this.ring.length
  }

  /**
   * Where the next bytes can be placed straight into the ring (a socket read into it), at most `max` bytes;
   * undefined without a thread. Blocks while the ring is full. Bytes placed there count once they are passed
   * to `write` where they lie, which then copies nothing.
   */
  reserve(max: number): Uint8Array | undefined {
    if (this.closed || this.workers.length === 0) return undefined
    const room = this.waitForRoom()
    const at = Number(this.written % BigInt(this.ring.length))
    return this.ring.subarray(at, at + Math.min(room, max, this.ring.length - at))
  }

  /** Takes `chunk` in: copied into the ring, or published where it lies when `reserve` placed it there; blocks while the slowest digest is a ring behind. */
  write(chunk: Uint8Array): void {
    if (this.closed) throw new BugError('write after the hashes were finished')
    if (this.workers.length === 0) {
      this.written += BigInt(chunk.length)
      return
    }
    const size = this.ring.length
    if (
      chunk.buffer === this.ring.buffer &&
      chunk.byteOffset === Number(this.written % BigInt(size)) &&
      chunk.byteOffset + chunk.length <= size
    ) {
      this.written += BigInt(chunk.length)
      Atomics.store(this.control, 0, this.written)
      if (this.written - this.woken >= WAKE_BYTES) this.wake()
      return
    }
    let offset = 0
    while (offset < chunk.length) {
      const room = this.waitForRoom()
      const at = Number(this.written % BigInt(size))
      const n = Math.min(chunk.length - offset, room, size - at)
      this.ring.set(chunk.subarray(offset, offset + n), at)
      offset += n
      this.written += BigInt(n)
      Atomics.store(this.control, 0, this.written)
      if (this.written - this.woken >= WAKE_BYTES) this.wake()
    }
  }

  private wake(): void {
    this.woken = this.written
    Atomics.notify(this.control, 0)
  }

  /** Every digest, in the order of the jobs; `suffixes[i]` is hashed last for job i when it was started with `suffixLater`. */
  async finish(suffixes: readonly (Uint8Array | undefined)[] = []): Promise<HashOutcome[]> {
    this.suffixLater.forEach((later, i) => {
      if (!later) return
      const suffix = suffixes[i]
      if (!suffix) {
        this.abort()
        throw new BugError(`hash job ${i} was started without its suffix and finished without one`)
      }
      this.workers[i]!.postMessage({suffix})
    })
    this.closed = true
    Atomics.store(this.control, 1, 1n)
    Atomics.notify(this.control, 0)
    try {
      return await Promise.all(this.results)
    } finally {
      this.stop()
    }
  }

  /** Stops every thread; the hasher is then unusable. */
  abort(): void {
    this.closed = true
    Atomics.store(this.control, 1, 2n)
    Atomics.notify(this.control, 0)
    this.stop()
  }

  private stop(): void {
    for (const w of this.workers) void w.terminate()
  }

  private waitForRoom(): number {
    // Threads are not waited for to come online (start): one that could not start is known by the next write.
    if (this.failure) throw this.failure
    const size = BigInt(this.ring.length)
    let stalledSince: number | undefined
    for (;;) {
      const {slot: slowest, progress: taken} = this.slowestThread()
      const started = taken !== NOT_STARTED
      const room = size - (this.written - (started ? taken : 0n))
      if (room > 0n) return Number(room)
      this.wake()
      stalledSince ??= Date.now()
      const stalled = Date.now() - stalledSince
      if (!started && stalled > START_STALL_MS) throw new BugError(`a hashing thread did not start in ${START_STALL_MS / 1000} s`)
      if (stalled > STALL_MS) throw new BugError(`a hashing thread took no data for ${STALL_MS / 1000} s`)
      Atomics.wait(this.control, slowest, taken, 100)
    }
  }
}

/**
 * Hashing threads started before their jobs are known: a thread takes ~40 ms
 * to start here, which a download spends fetching and judging the signature
 * (whose digest algorithm is the job) instead of waiting for it afterwards.
 */
export class HashThreads {
  private used = false

  private constructor(
    private readonly workers: Worker[],
    private readonly ring: SharedArrayBuffer,
    private readonly control: SharedArrayBuffer,
    private readonly online: Promise<unknown>,
  ) {}

  /** Starts `count` threads, each waiting for its job. */
  static spawn(count: number): HashThreads {
    const ring = new SharedArrayBuffer(count > 0 ? RING_BYTES : 0)
    const control = new SharedArrayBuffer(8 * (2 + count))
    new BigInt64Array(control).fill(NOT_STARTED, 2)
    // Unreferenced until given their jobs: threads that are never used do not keep the process alive.
    const workers = Array.from({length: count}, (_, slot) => new Worker(workerFile(), {workerData: {ring, control, slot}}))
    for (const w of workers) w.unref()
    const online = Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('online', resolve).once('error', reject))))
    online.catch(() => {})
    return new HashThreads(workers, ring, control, online)
  }

  get count(): number {
    return this.workers.length
  }

  /** Not yet given jobs, nor stopped. */
  get unused(): boolean {
    return !this.used
  }

  /**
   * Gives each thread its job (one per thread). Threads serve one hasher only. It does not wait for them to come
   * online (~40 ms, much more on a loaded machine): data is written into the ring meanwhile, and a thread that
   * could not start fails the next write, or `finish`.
   */
  async start(jobs: readonly HashJob[]): Promise<ParallelHasher> {
    if (this.used || jobs.length !== this.workers.length) throw new BugError(`${jobs.length} hash jobs for ${this.workers.length} threads`)
    this.used = true
    this.workers.forEach((w, i) => {
      const job = jobs[i]!
      w.ref()
      w.postMessage({
        algorithm: job.algorithm,
        prefix: job.prefix ?? new Uint8Array(0),
        suffix: job.suffixLater ? null : (job.suffix ?? new Uint8Array(0)),
        text: job.text ?? false,
      })
    })
    return ParallelHasher.of(this.workers, this.ring, this.control, jobs, this.online)
  }

  /** Stops threads that were never given their jobs. */
  stop(): void {
    if (this.used) return
    this.used = true
    for (const w of this.workers) void w.terminate()
  }
}

/** hash-worker.js next to this module in dist/; from src/ (tests), Node runs the TypeScript itself. */
function workerFile(): URL {
  const js = new URL('./hash-worker.js', import.meta.url)
  return existsSync(js) ? js : new URL('./hash-worker.ts', import.meta.url)
}
