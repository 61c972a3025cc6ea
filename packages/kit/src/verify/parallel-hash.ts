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
  /** Not a digest: write the data into this existing file instead, stream byte N at offset N, from `writeFrom` on. */
  file?: string | undefined
}

export type HashOutcome = {ok: true; digest: Buffer} | {ok: false; message: string; longLine: boolean; code?: string | undefined}

/** The ring the data is copied into; the writer waits when the slowest digest is this far behind. */
const RING_BYTES = 64 * 1024 * 1024
/** A worker that has not moved for this long while the writer waits for it has stopped. */
const STALL_MS = 60_000
/** A job's progress once it failed (hash-worker.ts). */
const GAVE_UP = 1n << 62n

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
  private closed = false
  private readonly results: Promise<HashOutcome>[]

  private constructor(private readonly workers: Worker[], ring: SharedArrayBuffer, control: SharedArrayBuffer) {
    this.ring = new Uint8Array(ring)
    this.control = new BigInt64Array(control)
    this.results = workers.map(
      (worker) =>
        new Promise<HashOutcome>((resolve, reject) => {
          worker.once('message', (m: HashOutcome) => resolve(m.ok ? {ok: true, digest: Buffer.from(m.digest)} : m))
          worker.once('error', reject)
          worker.once('exit', (code) => reject(new BugError(`a hashing thread stopped (exit code ${code})`)))
        }),
    )
    for (const r of this.results) r.catch(() => {})
  }

  /** Starts one thread per job; resolves once they all run. */
  static async start(jobs: readonly HashJob[]): Promise<ParallelHasher> {
    const ring = new SharedArrayBuffer(RING_BYTES)
    // [0] written, [1] state, [2 + slot] taken by each job, then the stream offset writing starts at.
    const control = new SharedArrayBuffer(8 * (3 + jobs.length))
    const writeFromIndex = 2 + jobs.length
    const workers = jobs.map(
      (job, slot) =>
        new Worker(workerFile(), {
          workerData: {
            ring,
            control,
            slot,
            algorithm: job.algorithm,
            prefix: job.prefix ?? new Uint8Array(0),
            suffix: job.suffix ?? new Uint8Array(0),
            text: job.text ?? false,
            file: job.file,
            writeFromIndex,
          },
        }),
    )
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('online', resolve).once('error', reject))))
    return new ParallelHasher(workers, ring, control)
  }

  /** The outcome of job `slot` once it failed (it says so at once), else undefined. */
  failedJob(): number | undefined {
    for (let i = 2; i < this.control.length - 1; i++) if (Atomics.load(this.control, i) === GAVE_UP) return i - 2
    return undefined
  }

  /** What job `slot` answered (its failure, as soon as it failed). */
  outcome(slot: number): Promise<HashOutcome> {
    return this.results[slot]!
  }

  /** Bytes written so far. */
  get bytes(): number {
    return Number(this.written)
  }

  /** The stream bytes before `offset` are already in the file of a writing job: it skips them. */
  writeFrom(offset: number): void {
    Atomics.store(this.control, this.control.length - 1, BigInt(offset))
  }

  /** Waits (blocking) until every job has taken in everything written so far: then a writing job's file holds it all. */
  drain(): void {
    for (let i = 2; i < this.control.length - 1; i++) {
      let stalledSince: number | undefined
      for (let taken = Atomics.load(this.control, i); taken < this.written; taken = Atomics.load(this.control, i)) {
        stalledSince ??= Date.now()
        if (Date.now() - stalledSince > STALL_MS) throw new BugError(`a hashing thread took no data for ${STALL_MS / 1000} s`)
        Atomics.wait(this.control, i, taken, 100)
      }
    }
  }

  /** Copies `chunk` into the ring, waiting (blocking) while the slowest digest is a ring behind. */
  write(chunk: Uint8Array): void {
    if (this.closed) throw new BugError('write after the hashes were finished')
    const size = this.ring.length
    let offset = 0
    while (offset < chunk.length) {
      const room = this.waitForRoom()
      const at = Number(this.written % BigInt(size))
      const n = Math.min(chunk.length - offset, room, size - at)
      this.ring.set(chunk.subarray(offset, offset + n), at)
      offset += n
      this.written += BigInt(n)
      Atomics.store(this.control, 0, this.written)
      Atomics.notify(this.control, 0)
    }
  }

  /** Every digest, in the order of the jobs. */
  async finish(): Promise<HashOutcome[]> {
    this.closed = true
    Atomics.store(this.control, 1, 1n)
    Atomics.notify(this.control, 0)
    try {
      return await Promise.all(this.results)
    } finally {
      await this.stop()
    }
  }

  /** Stops every thread; the hasher is then unusable. Resolves once they have stopped (a writing job writes nothing after). */
  async abort(): Promise<void> {
    this.closed = true
    Atomics.store(this.control, 1, 2n)
    Atomics.notify(this.control, 0)
    await this.stop()
  }

  private async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }

  private waitForRoom(): number {
    const size = BigInt(this.ring.length)
    let stalledSince: number | undefined
    for (;;) {
      let slowest = 2
      for (let i = 3; i < this.control.length - 1; i++) if (Atomics.load(this.control, i) < Atomics.load(this.control, slowest)) slowest = i
      const taken = Atomics.load(this.control, slowest)
      const room = size - (this.written - taken)
      if (room > 0n) return Number(room)
      stalledSince ??= Date.now()
      if (Date.now() - stalledSince > STALL_MS) throw new BugError(`a hashing thread took no data for ${STALL_MS / 1000} s`)
      Atomics.wait(this.control, slowest, taken, 100)
    }
  }
}

/** hash-worker.js next to this module in dist/; from src/ (tests), Node runs the TypeScript itself. */
function workerFile(): URL {
  const js = new URL('./hash-worker.js', import.meta.url)
  return existsSync(js) ? js : new URL('./hash-worker.ts', import.meta.url)
}
