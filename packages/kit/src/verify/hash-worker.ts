/**
 * One digest of the data a ParallelHasher (parallel-hash.ts) copies into
 * its shared ring, on its own thread: a download receives and writes on the
 * main thread while one worker computes the signature's digest (often
 * SHA-512, the most expensive step) and another the file's SHA-256.
 *
 * Self-contained on purpose (node builtins only, erasable TypeScript): from
 * `src/` Node runs it as TypeScript, from `dist/` as the compiled JavaScript.
 *
 * Shared state (BigInt64Array over `control`): [0] bytes written into the
 * ring so far, [1] 0 running / 1 closed (no more data) / 2 aborted,
 * [2 + slot] bytes this worker has taken in (-1 until it has set up its
 * digest: the writer knows it has not started). The worker waits on [0]; the
 * writer waits on the slowest worker's [2 + slot] when the ring is full.
 * When done it posts {ok: true, digest} or {ok: false, message, longLine}.
 * A job whose suffix is null gets it in a second message, {suffix}, sent by
 * the writer when it finishes; the worker reads it once the data is closed.
 */
import {createHash, type Hash} from 'node:crypto'
import {parentPort, workerData} from 'node:worker_threads'

/** workerData: where the data comes through. */
interface Setup {
  ring: SharedArrayBuffer
  control: SharedArrayBuffer
  slot: number
}

/** The first message: what to compute (the thread may start before it is known). */
interface Job {
  /** Node's name of the digest. */
  algorithm: string
  /** Hashed before the data (a v6 signature's salt). */
  prefix: Uint8Array
  /** Hashed after the data (a signature's hashed part and trailer); null: it comes in a second message. */
  suffix: Uint8Array | null
  /** Canonicalise line ends as GnuPG does for text-mode signatures. */
  text: boolean
}

/** GnuPG's text filter cannot hash a line longer than this (bytes before its LF): it fails with "can't handle text lines longer than 19995 characters". */
const MAX_TEXT_LINE = 19_993
const CR = 0x0d
const LF = 0x0a
const NUL = 0x00
const CRLF = Buffer.from('\r\n')
/** Set as this worker's progress once it failed: the writer never waits for it again. */
const GAVE_UP = 1n << 62n

class LongLineError extends Error {}

/**
 * Hashes data the way GnuPG hashes it for a text-mode signature (its
 * text_filter, with the default --no-rfc2440-text): every line ending in LF
 * loses its trailing CRs (and NULs: gpg trims with strchr, which matches the
 * terminating NUL) and ends in CR LF instead; a last line without LF loses
 * them too, without a CR LF; spaces and bytes inside a line stay. Trimmable
 * bytes at the end of a piece are held (copied: the ring is reused) until it
 * is known whether the line goes on.
 */
class TextHasher {
  private held: Buffer[] = []
  private lineLength = 0
  private readonly hash: Hash

  constructor(hash: Hash) {
    this.hash = hash
  }

  update(piece: Uint8Array): void {
    const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    let start = 0
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start)
      const end = lf === -1 ? chunk.length : lf
      this.lineLength += end - start
      if (this.lineLength > MAX_TEXT_LINE)
        throw new LongLineError(`a line is longer than ${MAX_TEXT_LINE} bytes, more than GnuPG can verify in text mode`)
      let keep = end
      while (keep > start && (chunk[keep - 1] === CR || chunk[keep - 1] === NUL)) keep--
      if (keep > start) {
        for (const h of this.held) this.hash.update(h)
        this.held = []
        this.hash.update(chunk.subarray(start, keep))
      }
      if (lf === -1) {
        if (keep < end) this.held.push(Buffer.from(chunk.subarray(keep, end)))
        return
      }
      this.held = []
      this.lineLength = 0
      this.hash.update(CRLF)
      start = lf + 1
    }
  }
}

const setup = workerData as Setup
// One listener for every message, kept until the last one came: a message never arrives while none listens.
// It references the port: the thread waits for its job instead of ending idle.
const inbox: unknown[] = []
let waiting: ((message: unknown) => void) | undefined
const onMessage = (message: unknown): void => {
  if (waiting) waiting(message)
  else inbox.push(message)
  waiting = undefined
}
parentPort!.on('message', onMessage)
const nextMessage = <T>(): Promise<T> =>
  new Promise<T>((resolve) => {
    if (inbox.length > 0) resolve(inbox.shift() as T)
    else waiting = resolve as (message: unknown) => void
  })
const job = await nextMessage<Job>()
if (job.suffix !== null) parentPort!.off('message', onMessage)
const control = new BigInt64Array(setup.control)
const ring = new Uint8Array(setup.ring)
const size = BigInt(ring.length)
const mine = 2 + setup.slot

const hash = createHash(job.algorithm).update(job.prefix)
const text = job.text ? new TextHasher(hash) : undefined
let failure: Error | undefined
let taken = 0n
// Started: the writer now waits for this thread's progress (STALL_MS), not for it to start.
Atomics.store(control, mine, 0n)
Atomics.notify(control, mine)

const take = (from: number, to: number): void => {
  if (failure) return
  try {
    if (text) text.update(ring.subarray(from, to))
    else hash.update(ring.subarray(from, to))
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error))
    Atomics.store(control, mine, GAVE_UP)
    Atomics.notify(control, mine)
  }
}

for (;;) {
  // The state first: once closed, the count read after it is final.
  const state = Atomics.load(control, 1)
  const written = Atomics.load(control, 0)
  if (state === 2n) break
  if (written > taken) {
    const from = Number(taken % size)
    const to = Number(written % size)
    if (written - taken === size || to <= from) {
      take(from, ring.length)
      take(0, to)
    } else {
      take(from, to)
    }
    taken = written
    if (!failure) {
      Atomics.store(control, mine, taken)
      Atomics.notify(control, mine)
    }
    continue
  }
  if (state === 1n) {
    if (failure) {
      parentPort!.off('message', onMessage)
      parentPort!.postMessage({ok: false, message: failure.message, longLine: failure instanceof LongLineError})
      break
    }
    const suffix = job.suffix ?? (await nextMessage<{suffix: Uint8Array}>()).suffix
    parentPort!.off('message', onMessage)
    parentPort!.postMessage({ok: true, digest: hash.update(suffix).digest()})
    break
  }
  Atomics.wait(control, 0, written, 1000)
}
