import {closeSync, createReadStream, openSync, writeSync} from 'node:fs'
import {open, rename, rm, stat, truncate, writeFile} from 'node:fs/promises'
import type {Readable} from 'node:stream'

import {BugError, InfraError, isMantleError, UsageError} from '../errors.js'
import type {Logger} from '../log.js'
import type {Progress} from '../progress.js'
import {isTransient, retry} from '../retry.js'
import {chunksOf} from '../storage/body.js'
import {isStorageError} from '../storage/errors.js'
import {getRange} from '../storage/direct-get.js'
import type {Bucket, ObjectInfo} from '../storage/types.js'
import type {Keyring} from '../verify/keyring.js'
import {HashThreads, ParallelHasher, type HashJob} from '../verify/parallel-hash.js'
import {DetachedSignature, MAX_SIGNATURE_BYTES, SignatureError, type Signer} from '../verify/signature.js'
import {peekSignature, type SignaturePeek} from '../verify/signature-peek.js'

/** What a download needs of a bucket: reads with a start offset, and names for messages; a plain GET (stat, directRead) where it has one. */
export type DownloadSource = Pick<Bucket, 'read' | 'urlOf'> & Partial<Pick<Bucket, 'stat' | 'directRead'>>

export interface DownloadOptions {
  source: DownloadSource
  key: string
  /** The file to create or update. */
  destination: string
  /**
   * Verify against `<key>.sig` with these keys; undefined downloads without verification. A promise of them lets
   * loading the keys overlap fetching the signature and starting the hashing threads. A function is called when
   * the keys are needed: at once when the signature is judged before the data moves, and only once the data
   * flows on a fresh download, so that loading them (openpgp's import, ~50-100 ms of the only thread that
   * receives) overlaps the hashing instead of delaying the first byte.
   */
  keyring?: Keyring | Promise<Keyring> | (() => Promise<Keyring>) | undefined
  /** Also store the signature as `<destination>.sig`. */
  keepSignature?: boolean | undefined
  /** Attempts per transfer, each resuming where the last one stopped (default 5). */
  attempts?: number | undefined
  /** Delay before the second attempt (default 500 ms, doubling). */
  retryDelayMs?: number | undefined
  logger?: Logger | undefined
  progress?: ((label: string, total?: number) => Progress) | undefined
  signal?: AbortSignal | undefined
  /** Keys must be valid at this time (default: now). */
  now?: Date | undefined
  /**
   * Also compute the file's SHA-256 (the result's `sha256`). Off by default: it is a second digest over every
   * byte (~0.6 s of CPU per GiB here) beside the signature's own, which a verifying download does not need.
   */
  sha256?: boolean | undefined
}

export interface DownloadResult {
  url: string
  path: string
  bytes: number
  /** Hex SHA-256 of the file at `path`, when asked for (`sha256: true`). */
  sha256: string | undefined
  verified: boolean
  signer: Signer | undefined
  /** `up-to-date`: the existing file already verified and nothing was fetched. */
  action: 'downloaded' | 'resumed' | 'up-to-date' | 'unchanged'
  /** Bytes of a previous partial download that were kept (0 when none). */
  resumedFrom: number
}

/**
 * Downloads one object to a file, verifying its detached signature while the
 * bytes flow (one pass: each byte is hashed as it is written, never re-read).
 *
 * - The signature is fetched first: a missing `.sig` fails before any data
 *   moves. When neither the destination nor its part file exists (a fresh
 *   download), the data transfer and its digest start at once with the
 *   digest the signature's bytes name (signature-peek.ts), while openpgp
 *   judges the signature against the keyring; a signature it refuses
 *   (malformed, unknown, expired or revoked key) stops the transfer, removes
 *   the part file and fails with the same error as before. Otherwise the
 *   signature is judged first, and a refusal fails before any data moves.
 * - An existing destination that already verifies is kept as is.
 * - Data goes to `<destination>.part`; a later run resumes it with a range
 *   read (the backend's `offset` says whether the range was honoured; a 416
 *   means the part file is complete). Transfers cut off mid-way are retried
 *   from where they stopped.
 * - Only a verified file is renamed onto the destination, atomically: a file
 *   that fails verification never appears there, and an existing file is not
 *   touched. A part file that fails verification is deleted (resuming it
 *   could only fail again).
 */
export async function download(options: DownloadOptions & {sha256: true}): Promise<DownloadResult & {sha256: string}>
export async function download(options: DownloadOptions): Promise<DownloadResult>
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  // The threads that will hash the data start now (~40 ms each), while the signature is fetched and judged.
  const threads = options.keyring ? HashThreads.spawn(options.sha256 ? 2 : 1) : undefined
  try {
    return await downloadWith(options, threads)
  } finally {
    threads?.stop()
  }
}

async function downloadWith(options: DownloadOptions, threads: HashThreads | undefined): Promise<DownloadResult> {
  const {source, key, destination, logger} = options
  const url = source.urlOf(key)
  const part = `${destination}.part`

  let plan: Plan | undefined
  let signatureBytes: Buffer | undefined
  let transfer: Transfer | undefined
  if (options.keyring) {
    const keys = keyLoader(options.keyring)
    // The keys load at once unless this is a fresh download (see speculate), overlapping the signature's fetch.
    const fresh = isFresh(destination, part).then((yes) => {
      if (!yes) keys()
      return yes
    })
    const fetched = await fetchSignature(source, `${key}.sig`, options)
    signatureBytes = fetched
    const guess = (await fresh) ? peekSignature(fetched) : undefined
    if (guess) {
      transfer = await speculate(url, part, options, guess, fetched, keys, threads)
    } else {
      const signature = await judge(fetched, keys(), url, options)
      plan = {job: await signature.hashJob(), signature}
    }
  }
  if (plan && !transfer) {
    const existing = await checkExisting(destination, plan, options.sha256 ?? false, threads, logger)
    if (existing) {
      if (options.keepSignature) await writeAtomically(`${destination}.sig`, signatureBytes!)
      return {
        url,
        path: destination,
        bytes: existing.bytes,
        sha256: existing.sha256,
        verified: true,
        signer: existing.signer,
        action: 'up-to-date',
        resumedFrom: 0,
      }
    }
  }

  transfer ??= await fetchToPart(url, part, options, plan, threads)
  let digests: {sha256: string | undefined; signer: Signer | undefined}
  try {
    digests = await finishHashes(transfer.hashers, part, logger)
  } catch (error) {
    // A part file that fails verification could only fail again: it goes.
    if (error instanceof SignatureError) await rm(part, {force: true})
    throw error
  }
  const {sha256, signer} = digests

  let action: DownloadResult['action'] = transfer.resumedFrom > 0 ? 'resumed' : 'downloaded'
  if (!options.keyring && (await sameContent(destination, part))) {
    // Unverified updates replace the file only when its content changed.
    await rm(part, {force: true})
    action = 'unchanged'
  } else {
    await rename(part, destination)
  }
  if (signatureBytes && options.keepSignature) await writeAtomically(`${destination}.sig`, signatureBytes)
  return {
    url,
    path: destination,
    bytes: transfer.bytes,
    sha256,
    verified: signer !== undefined,
    signer,
    action,
    resumedFrom: transfer.resumedFrom,
  }
}

/** The signature judged against the keyring (DetachedSignature.parse), its signer and warnings logged. */
async function judge(
  data: Buffer | undefined,
  keyring: Promise<Keyring>,
  url: string,
  options: DownloadOptions,
): Promise<DetachedSignature> {
  const {source, key, logger} = options
  const signature = await DetachedSignature.parse(data, await keyring, {name: source.urlOf(`${key}.sig`), now: options.now})
  const {signer} = signature
  logger?.debug(`${url}.sig: signed by ${signer.fingerprint} (${signer.hashAlgorithm}, ${signer.mode}); key from ${signer.source}`)
  for (const warning of signer.warnings) logger?.warn(`${url}.sig: ${warning}`)
  return signature
}

/** The keys, loaded once on the first call; a failure (a bad key file) is reported when they are awaited. */
function keyLoader(keyring: Keyring | Promise<Keyring> | (() => Promise<Keyring>)): () => Promise<Keyring> {
  let loaded: Promise<Keyring> | undefined
  return () => {
    if (!loaded) {
      loaded = (async () => (typeof keyring === 'function' ? keyring() : keyring))()
      loaded.catch(() => {})
    }
    return loaded
  }
}

/** Neither the destination nor its part file exists: nothing to check or resume before fetching. */
async function isFresh(destination: string, part: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(destination).catch(() => undefined), stat(part).catch(() => undefined)])
  return !a && !b
}

/** The job a signature's bytes name: its digest, salt and mode; its hashed trailer comes from openpgp at the end. */
function guessedJob(guess: SignaturePeek): HashJob {
  return {algorithm: guess.algorithm, prefix: guess.salt, text: guess.mode === 'text', suffixLater: true}
}

/** A speculative download judges its signature once the hashing thread is this far behind (of its ring)... */
const JUDGE_BACKLOG = 0.75
/** ...or this long after the transfer started, whichever comes first (a slow network never fills the ring). */
const JUDGE_AFTER_MS = 1000

/**
 * A fresh download whose transfer and digest start before the signature is
 * judged (see `download`). Judging (the keys loaded, openpgp's import and
 * parse) takes the main thread for ~100 ms, during which nothing is
 * received: it waits until the hashing thread has a backlog to work through
 * meanwhile (the ring three-quarters full), or JUDGE_AFTER_MS, or the end of
 * the transfer; an object too small for that backlog, at its first bytes. A
 * refusal stops the transfer, removes the part file this run created and is
 * the download's error, as it would have been before any data moved.
 */
async function speculate(
  url: string,
  part: string,
  options: DownloadOptions,
  guess: SignaturePeek,
  data: Buffer | undefined,
  keys: () => Promise<Keyring>,
  threads: HashThreads | undefined,
): Promise<Transfer> {
  const refused = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, refused.signal]) : refused.signal
  let due!: () => void
  const judging = new Promise<void>((resolve) => (due = resolve))
  const timer = setTimeout(due, JUDGE_AFTER_MS)
  const signature = judging.then(() => judge(data, keys(), url, options))
  signature.catch(() => refused.abort())
  const plan: Plan = {job: guessedJob(guess), signature, guess, due}
  const fetched = fetchToPart(url, part, {...options, signal}, plan, threads).finally(due)
  const [transfer, judged] = await Promise.allSettled([fetched, signature])
  clearTimeout(timer)
  if (judged.status === 'rejected') {
    if (transfer.status === 'fulfilled') transfer.value.hashers.hasher.abort()
    await rm(part, {force: true})
    throw judged.reason
  }
  if (transfer.status === 'rejected') throw transfer.reason
  return transfer.value
}

async function fetchSignature(source: DownloadSource, key: string, options: DownloadOptions): Promise<Buffer | undefined> {
  return retry(
    async () => {
      try {
        const {body} = await request(() => source.read(key, options.signal ? {signal: options.signal} : {}))
        return await readLimited(body, MAX_SIGNATURE_BYTES + 1)
      } catch (error) {
        if (isStorageError(unwrap(error), 'not-found')) return undefined
        throw error
      }
    },
    {attempts: options.attempts ?? 5, baseDelayMs: options.retryDelayMs ?? 500, retryable: isResumable, signal: options.signal},
  ).catch((error: unknown) => {
    throw unwrap(error)
  })
}

async function readLimited(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    length += chunk.length
    if (length >= limit) {
      body.destroy()
      break
    }
  }
  return Buffer.concat(chunks)
}

/**
 * The digests of one pass over the data, each on its own thread (see
 * ParallelHasher): the signature's digest when verifying, and the file's
 * SHA-256 when asked for; with neither, no thread, only the byte count.
 * Receiving and writing stay on the main thread.
 */
interface Hashers {
  hasher: ParallelHasher
  plan: Plan | undefined
  sha256: boolean
}

/**
 * The signature's digest: its job (DetachedSignature.hashJob), or a job
 * guessed from the signature's bytes (`guess`) while `signature` is being
 * judged, whose suffix is then given at the end.
 */
interface Plan {
  job: HashJob
  signature: DetachedSignature | Promise<DetachedSignature>
  guess?: SignaturePeek | undefined
  /** Starts judging the signature: called once the hashing thread has a backlog (see speculate). */
  due?: (() => void) | undefined
}

/** Hashers for one pass; on `threads` started earlier when they are still unused and as many as the jobs. */
async function newHashers(plan: Plan | undefined, sha256: boolean, threads?: HashThreads): Promise<Hashers> {
  const jobs: HashJob[] = []
  if (plan) jobs.push(plan.job)
  if (sha256) jobs.push({algorithm: 'sha256'})
  const hasher = threads?.unused && threads.count === jobs.length ? await threads.start(jobs) : await ParallelHasher.start(jobs)
  return {hasher, plan, sha256}
}

/** Takes a chunk in; its buffer may be reused as soon as this returns. */
function feed(h: Hashers, chunk: Uint8Array): void {
  h.hasher.write(chunk)
  if (h.plan?.due && h.hasher.behind >= h.hasher.capacity * JUDGE_BACKLOG) startJudging(h.plan)
}

/** Starts judging a speculative download's signature now (see speculate); nothing when it is judged already. */
function startJudging(plan: Plan | undefined): void {
  const due = plan?.due
  if (!due) return
  plan.due = undefined
  due()
}

/**
 * The SHA-256 of everything fed (when asked for), and the signer once the signature checks (a SignatureError
 * otherwise). A guessed job that openpgp's disagrees with is dropped, and `path` (all that was fed) hashed again.
 */
async function finishHashes(
  h: Hashers,
  path: string,
  logger: Logger | undefined,
): Promise<{sha256: string | undefined; signer: Signer | undefined}> {
  let signature: DetachedSignature | undefined
  let outcomes
  try {
    signature = await h.plan?.signature
  } catch (error) {
    h.hasher.abort()
    throw error
  }
  const guess = h.plan?.guess
  if (signature && guess) {
    const job = await signature.hashJob()
    if (sameDigest(job, h.plan!.job)) {
      outcomes = await h.hasher.finish([job.suffix ?? new Uint8Array(0)])
    } else {
      logger?.debug(`${path}: the signature's digest is not the ${guess.algorithm} (${guess.mode}) its bytes named: hashing it again`)
      const bytes = h.hasher.bytes
      h.hasher.abort()
      const again = await newHashers({job, signature}, h.sha256)
      await feedFile(again, path, 0, bytes)
      outcomes = await again.hasher.finish()
    }
  } else {
    outcomes = await h.hasher.finish()
  }
  const digest = signature ? outcomes.shift() : undefined
  const sha256 = h.sha256 ? outcomes.shift() : undefined
  if (sha256 && !sha256.ok) throw new BugError(`hashing failed: ${sha256.message}`)
  return {
    sha256: sha256?.ok ? sha256.digest.toString('hex') : undefined,
    signer: signature ? await signature.check(digest!) : undefined,
  }
}

/** Whether openpgp's job hashes the data as the guessed one does (the suffix aside). */
function sameDigest(job: HashJob, guessed: HashJob): boolean {
  const prefix = (j: HashJob): Buffer => Buffer.from(j.prefix ?? new Uint8Array(0))
  return job.algorithm === guessed.algorithm && (job.text ?? false) === (guessed.text ?? false) && prefix(job).equals(prefix(guessed))
}

/** Hashes bytes [from, to) of a local file into `h`. */
async function feedFile(h: Hashers, path: string, from: number, to: number): Promise<void> {
  if (to <= from) return
  for await (const chunk of createReadStream(path, {start: from, end: to - 1, highWaterMark: 1 << 20}) as AsyncIterable<Buffer>)
    feed(h, chunk)
}

async function checkExisting(
  path: string,
  plan: Plan,
  sha256: boolean,
  threads: HashThreads | undefined,
  logger: Logger | undefined,
): Promise<{bytes: number; sha256: string | undefined; signer: Signer} | undefined> {
  const st = await stat(path).catch(() => undefined)
  if (!st) return undefined
  if (!st.isFile()) throw new UsageError(`${path} exists and is not a regular file`, {hint: 'remove it or choose another destination'})
  const h = await newHashers(plan, sha256, threads)
  await feedFile(h, path, 0, st.size)
  try {
    const {sha256, signer} = await finishHashes(h, path, logger)
    logger?.info(`${path} already verifies against the signature: nothing to download`)
    return {bytes: st.size, sha256, signer: signer!}
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error
    logger?.info(`${path} exists but does not match the signature: downloading it again`)
    return undefined
  }
}

/** Whether the existing file `path` holds the same bytes as the downloaded `part` (compared only when their sizes are equal). */
async function sameContent(path: string, part: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(path).catch(() => undefined), stat(part)])
  if (!a?.isFile() || a.size !== b.size) return false
  const fa = await open(path, 'r')
  try {
    const fb = await open(part, 'r')
    try {
      const size = 1 << 20
      const [x, y] = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)]
      for (let at = 0; at < a.size; at += size) {
        const [rx, ry] = await Promise.all([fa.read(x, 0, size, at), fb.read(y, 0, size, at)])
        if (rx.bytesRead !== ry.bytesRead || !x.subarray(0, rx.bytesRead).equals(y.subarray(0, ry.bytesRead))) return false
        if (rx.bytesRead === 0) return false
      }
      return true
    } finally {
      await fb.close()
    }
  } finally {
    await fa.close()
  }
}

interface Transfer {
  bytes: number
  hashers: Hashers
  resumedFrom: number
}

/** The most one socket read places in the hashing ring. */
const READ_INTO_RING = 1024 * 1024

/** Failures to create the part file that the user fixes by choosing another destination. */
const PATH_ERRORS = new Set(['ENAMETOOLONG', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'ELOOP'])

/** A transfer that stopped before the end: worth resuming. */
class ShortRead extends Error {
  readonly code = 'ECONNRESET'
}

/**
 * A failure of the request itself, before any body: the backend has already
 * retried it (storage options' `attempts`), so it is not retried again here.
 */
class RequestFailed extends Error {
  constructor(readonly error: unknown) {
    super('request failed')
  }
}

async function request<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw new RequestFailed(error)
  }
}

const unwrap = (error: unknown): unknown => (error instanceof RequestFailed ? error.error : error)

function isResumable(error: unknown): boolean {
  if (error instanceof RequestFailed) return false
  if (error instanceof ShortRead) return true
  if (isStorageError(error)) return error.code === 'unavailable'
  if (isMantleError(error)) return false
  return isTransient(error) || (error as {name?: string}).name === 'ReadError'
}

/**
 * Fills `<destination>.part` from the object, resuming a previous part and
 * retrying cut-off transfers from where they stopped. Every byte in the part
 * file passes through the hashers exactly once, in order.
 */
async function fetchToPart(
  url: string,
  part: string,
  options: DownloadOptions,
  plan: Plan | undefined,
  threads: HashThreads | undefined,
): Promise<Transfer> {
  const {source, key, logger, signal} = options
  const initial = (await stat(part).catch(() => undefined))?.size ?? 0
  const sha256 = options.sha256 ?? false
  // A plain ranged GET straight from the socket where the backend offers one (see storage/direct-get.ts): no stream, no copy per chunk.
  let direct = source.stat !== undefined && source.directRead !== undefined
  let info: ObjectInfo | undefined
  // The object's size and ETag are asked for while the hashing threads come up (~40 ms for a thread to start).
  let asked = direct ? request(() => source.stat!(key, signal ? {signal} : {})) : undefined
  asked?.catch(() => {})

  let h = await newHashers(plan, sha256, threads)
  let resumedFrom = 0
  let progress: Progress | undefined

  /** One attempt through getRange: false when this backend or object cannot be read that way (the backend's own read takes over, for good). */
  const attemptDirect = async (offset: number, n: number): Promise<boolean> => {
    if (!info) {
      const answer = asked ?? request(() => source.stat!(key, signal ? {signal} : {}))
      asked = undefined
      info = await answer
    }
    const target = info && info.size > 0 ? await request(() => source.directRead!(key, info!)) : undefined
    if (!info || !target) {
      direct = false
      return false
    }
    const size = info.size
    // An object too small to ever give the hashing thread that backlog: its signature is judged as soon as it flows.
    const small = size - offset < h.hasher.capacity * JUDGE_BACKLOG
    if (offset > size) {
      logger?.info(`${part} is longer than ${url} (${offset} > ${size} bytes): starting again`)
      await restart()
      offset = 0
    } else if (offset > 0 && n === 1) {
      resumedFrom = offset
      logger?.info(offset === size ? `${part}: already complete (${offset} bytes)` : `${url}: resuming at byte ${offset} of ${size}`)
    }
    await feedFile(h, part, h.hasher.bytes, offset)
    if (offset === size) return true
    progress ??= options.progress?.(url, size)
    progress?.set(offset)
    const fd = openSync(part, offset > 0 ? 'a' : 'w')
    try {
      await getRange(target, url, {
        start: offset,
        end: size - 1,
        ...(signal ? {signal} : {}),
        // Each read lands in the hashing ring where it has room (no copy there); else in a buffer of getRange's.
        readInto: () => h.hasher.reserve(READ_INTO_RING),
        // The chunk's buffer is reused once this returns: written, then passed to the hashing threads, before that.
        onChunk: (chunk) => {
          for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done)
          feed(h, chunk)
          if (small) startJudging(plan)
          progress?.advance(chunk.length)
        },
      })
    } catch (error) {
      if (!isStorageError(error, 'unsupported')) throw error
      logger?.debug(`${url}: ${error.message}; reading through the backend instead`)
      direct = false
      return false
    } finally {
      closeSync(fd)
    }
    if (h.hasher.bytes < size) throw new ShortRead(`${url}: the transfer stopped at byte ${h.hasher.bytes} of ${size}`)
    return true
  }

  const attempt = async (n: number): Promise<void> => {
    const have = (await stat(part).catch(() => undefined))?.size ?? 0
    if (h.hasher.bytes > have) {
      // More was hashed than reached the disk (a write failed half-way): hash the part file again from the start.
      h.hasher.abort()
      h = await newHashers(plan, sha256)
    }
    if (direct && (await attemptDirect(have, n))) return
    // The direct attempt may have started the part file again before handing over.
    let offset = (await stat(part).catch(() => undefined))?.size ?? 0
    let result
    try {
      result = await request(() => source.read(key, {...(offset > 0 ? {start: offset} : {}), ...(signal ? {signal} : {})}))
    } catch (wrapped) {
      const error = unwrap(wrapped)
      if (offset > 0 && isStorageError(error, 'range-not-satisfiable') && (error.size === undefined || error.size === offset)) {
        logger?.info(`${part}: already complete (${offset} bytes)`)
        await feedFile(h, part, h.hasher.bytes, offset)
        resumedFrom = offset
        return
      }
      if (offset > 0 && isStorageError(error, 'range-not-satisfiable')) {
        logger?.info(`${part} is longer than ${url} (${offset} > ${error.size} bytes): starting again`)
        await restart()
        throw new ShortRead('part file longer than the object')
      }
      throw wrapped
    }
    const {body, size} = result
    if (result.offset !== offset) {
      if (offset > 0) logger?.info(`${url}: the server sent the whole object instead of bytes ${offset}-: starting again`)
      body.pause()
      await restart()
      offset = 0
    } else if (offset > 0 && n === 1) {
      resumedFrom = offset
      logger?.info(`${url}: resuming at byte ${offset}${size === undefined ? '' : ` of ${size}`}`)
    }
    // Bytes kept from an earlier run are hashed from disk once, only after the server agreed to continue them.
    await feedFile(h, part, h.hasher.bytes, offset)
    progress ??= options.progress?.(url, size)
    progress?.set(offset)
    await pump(body, part, offset > 0, h, progress)
    const got = h.hasher.bytes
    if (size !== undefined && got < size) throw new ShortRead(`${url}: the transfer stopped at byte ${got} of ${size}`)
    if (size !== undefined && got > size) throw new InfraError(`${url}: received ${got} bytes, more than the ${size} announced`)
  }

  const restart = async (): Promise<void> => {
    h.hasher.abort()
    h = await newHashers(plan, sha256)
    resumedFrom = 0
    await truncate(part, 0).catch(() => undefined)
  }

  try {
    await retry(attempt, {
      attempts: options.attempts ?? 5,
      baseDelayMs: options.retryDelayMs ?? 500,
      retryable: isResumable,
      signal,
      onRetry: (error, n, delay) =>
        logger?.warn(`${url}: transfer attempt ${n} failed (${(error as Error).message}); resuming in ${delay} ms`),
    })
  } catch (wrapped) {
    const error = unwrap(wrapped)
    h.hasher.abort()
    if (signal?.aborted) throw signal.reason
    const hint = `run again to resume from ${part}`
    // Network and service failures keep the part file: say so. Usage errors (not found, access denied) pass as they are.
    if (isStorageError(error, 'unavailable')) throw new InfraError(error.message, {hint, cause: error})
    if (isMantleError(error)) throw error
    const e = error as {code?: string; message?: string; path?: string}
    if (e.path === part && e.code && PATH_ERRORS.has(e.code)) {
      throw new UsageError(`${part}: cannot be written (${e.code})`, {
        hint: 'choose a destination path that can be created and written',
        cause: error,
      })
    }
    throw new InfraError(`${url}: download failed: ${e.message ?? String(error)}`, {hint, cause: error})
  } finally {
    progress?.finish()
  }
  if (initial > 0 && resumedFrom === 0) logger?.debug(`${part}: could not be resumed, downloaded from the start`)
  const bytes = h.hasher.bytes
  if (bytes !== ((await stat(part).catch(() => undefined))?.size ?? -1)) {
    h.hasher.abort()
    throw new BugError(`${part}: hashed ${bytes} bytes but the file has a different length`)
  }
  return {bytes, hashers: h, resumedFrom}
}

/**
 * Writes the body to the part file and through the hashers. Each chunk is
 * written synchronously, then hashed: measured on a 1 GiB download, this is
 * about a second faster than a write stream, whose every write is a round
 * trip through libuv's pool. The part file always holds at least the bytes
 * hashed; when the body fails, the next attempt hashes any extra bytes from
 * the file.
 */
async function pump(body: Readable, part: string, append: boolean, h: Hashers, progress: Progress | undefined): Promise<void> {
  const fd = openSync(part, append ? 'a' : 'w')
  try {
    for await (const chunk of chunksOf(body)) {
      for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done)
      feed(h, chunk)
      progress?.advance(chunk.length)
    }
  } finally {
    closeSync(fd)
  }
}

async function writeAtomically(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, data)
  await rename(tmp, path)
}
