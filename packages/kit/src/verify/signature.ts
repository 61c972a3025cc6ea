import {existsSync} from 'node:fs'
import {Worker} from 'node:worker_threads'

import type {PublicKey, Signature, SignaturePacket, Subkey} from 'openpgp'

import {CheckFailedError} from '../errors.js'
import {firstLine, formatFingerprint, Keyring, loadOpenpgp, primaryStatus, subkeyStatus, type KeyStatus} from './keyring.js'

/** Why a signature was refused: every refusal names one. */
export type VerifyFailureReason =
  | 'missing-signature'
  | 'empty-signature'
  | 'malformed-signature'
  | 'unknown-key'
  | 'expired-key'
  | 'revoked-key'
  | 'invalid-key'
  | 'bad-signature'

/** A signature check failed (exit 1). `reason` says which of the refusals it was. */
export class SignatureError extends CheckFailedError {
  constructor(
    readonly reason: VerifyFailureReason,
    message: string,
    options: {hint?: string; cause?: unknown} = {},
  ) {
    super(message, options)
  }
}

/** Who signed: the primary key's fingerprint is what publishers announce. */
export interface Signer {
  /** Fingerprint of the primary key (upper-case hex). */
  fingerprint: string
  /** Fingerprint of the key that made the signature: the primary key or a signing subkey. */
  signingKeyFingerprint: string
  userId: string | undefined
  /** When the signature says it was made. */
  signedAt: Date
  hashAlgorithm: string
  source: string
}

/** Hashes data as it flows by; `finish` checks the signature over everything written. */
export interface DataVerifier {
  /** Resolves when the chunk has been taken in (back-pressure). */
  write(chunk: Uint8Array): Promise<void>
  /** Throws a `SignatureError` ('bad-signature') when the data does not match. */
  finish(): Promise<Signer>
  /** Stops hashing (on a restart or an error); the verifier is then unusable. */
  abort(reason?: unknown): void
}

export interface ParseSignatureOptions {
  /** Names the signature in messages, usually its URL. */
  name: string
  /** Keys must be valid at this time (default: now). */
  now?: Date
}

const MAX_SIGNATURE_BYTES = 1 << 20

/**
 * A detached signature that has passed every check possible before seeing
 * the data: it parses, its issuer is in the keyring, and that key is neither
 * expired nor revoked now. Checking this first means a download signed by an
 * unknown or revoked key fails before a single byte of the data is fetched.
 *
 * Keys are judged at the time of verification, not at the time of signing:
 * a release signed by a since-revoked or since-expired subkey is refused
 * (gpg would accept the expired case with a warning). A publisher that
 * extends a key's expiry ships the refreshed key, which `keys import` merges.
 */
export class DetachedSignature {
  private constructor(
    private readonly packet: SignaturePacket,
    private readonly key: PublicKey,
    readonly signer: Signer,
    private readonly now: Date,
    private readonly name: string,
  ) {}

  static async parse(data: Uint8Array | undefined, keyring: Keyring, options: ParseSignatureOptions): Promise<DetachedSignature> {
    const {name} = options
    const now = options.now ?? new Date()
    if (data === undefined) {
      throw new SignatureError('missing-signature', `missing signature: ${name} does not exist`, {
        hint: 'publish the detached signature next to the file, or pass --no-verify to download without verification',
      })
    }
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
    if (data.byteLength === 0 || text.trim() === '') throw new SignatureError('empty-signature', `empty signature: ${name} has no content`, {hint: 'the signature upload is incomplete; publish it again'})
    if (data.byteLength > MAX_SIGNATURE_BYTES) throw malformed(name, `it is ${data.byteLength} bytes, too large for a detached signature`)
    const signature = await readSignature(data, text, name)
    const dataSigs = [...signature.packets].filter((p) => p.signatureType === 0 || p.signatureType === 1)
    if (dataSigs.length === 0) throw malformed(name, 'it holds no signature over data (binary or text)')

    // Several signatures: the first one by a key we have and that is valid now wins.
    let refusal: SignatureError | undefined
    for (const packet of dataSigs) {
      const found = keyring.findIssuer(packet.issuerKeyID)
      if (!found) continue
      const failure = await keyFailure(found.entry.key, found.signingKey, now, name)
      if (failure) {
        refusal ??= failure
        continue
      }
      const openpgp = await loadOpenpgp()
      const hashAlgorithm = packet.hashAlgorithm === null ? 'unknown' : (openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm) as string).toUpperCase()
      const signer = {
        fingerprint: found.entry.key.getFingerprint().toUpperCase(),
        signingKeyFingerprint: found.signingKey.getFingerprint().toUpperCase(),
        userId: found.entry.key.getUserIDs()[0],
        signedAt: packet.created ?? new Date(0),
        hashAlgorithm,
        source: found.entry.source,
      }
      return new DetachedSignature(packet, found.entry.key, signer, now, name)
    }
    if (refusal) throw refusal
    const ids = dataSigs.map((p) => p.issuerKeyID.toHex().toUpperCase()).join(', ')
    const fingerprints = dataSigs.flatMap((p) => (p.issuerFingerprint ? [formatFingerprint(Buffer.from(p.issuerFingerprint).toString('hex'))] : []))
    const detail = fingerprints.length > 0 ? ` (fingerprint ${fingerprints.join(', ')})` : ''
    throw new SignatureError('unknown-key', `unknown key: ${name} is signed by key ${ids}${detail}, which is not in the keyring (${keyring.size} keys)`, {
      hint: "import the publisher's public key with `gangue keys import FILE`, or pass --verify-key FILE",
    })
  }

  /**
   * A fresh verifier over the data: one per pass (a restarted download takes
   * a new one). The hashing runs on a worker thread, so that it overlaps with
   * receiving and writing the data.
   */
  async verifier(): Promise<DataVerifier> {
    const openpgp = await loadOpenpgp()
    // Only the signature chosen in `parse`: the others may be by keys we refused.
    const packets = new openpgp.PacketList<SignaturePacket>()
    packets.push(this.packet)
    const signature = new openpgp.Signature(packets).write() as Uint8Array
    return new WorkerVerifier({signature, key: this.key.write(), now: this.now.getTime()}, this.name, this.signer)
  }
}

/** Chunks are batched to this size before they cross to the worker. */
const BATCH_BYTES = 1 << 20
/** The most bytes on their way to the worker before `write` waits. */
const MAX_IN_FLIGHT = 16 * BATCH_BYTES

type WorkerAnswer = {type: 'ack'; bytes: number} | {type: 'done'; ok: true} | {type: 'done'; ok: false; message: string}

/** The main thread's side of verify-worker.ts. */
class WorkerVerifier implements DataVerifier {
  private readonly worker: Worker
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES)
  private filled = 0
  private inFlight = 0
  private waiting: (() => void) | undefined
  private readonly done: Promise<{ok: true} | {ok: false; message: string}>
  private failed: Error | undefined

  constructor(
    setup: {signature: Uint8Array; key: Uint8Array; now: number},
    private readonly name: string,
    private readonly signer: Signer,
  ) {
    this.worker = new Worker(workerFile(), {workerData: setup})
    this.done = new Promise((resolve, reject) => {
      this.worker.on('message', (m: WorkerAnswer) => {
        if (m.type === 'ack') {
          this.inFlight -= m.bytes
          if (this.inFlight <= MAX_IN_FLIGHT / 2) this.release()
        } else {
          resolve(m)
        }
      })
      this.worker.on('error', (error) => {
        this.failed = error
        this.release()
        reject(error)
      })
      this.worker.on('exit', (code) => {
        this.failed ??= new Error(`the verification thread stopped (exit code ${code})`)
        this.release()
        reject(this.failed)
      })
    })
    this.done.catch(() => {})
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed
    let offset = 0
    while (offset < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - offset, BATCH_BYTES - this.filled)
      this.batch.set(chunk.subarray(offset, offset + n), this.filled)
      this.filled += n
      offset += n
      if (this.filled === BATCH_BYTES) this.flush()
    }
    while (this.inFlight > MAX_IN_FLIGHT && !this.failed) await new Promise<void>((resolve) => (this.waiting = resolve))
  }

  async finish(): Promise<Signer> {
    this.flush()
    this.worker.postMessage({type: 'end'})
    let answer
    try {
      answer = await this.done
    } finally {
      void this.worker.terminate()
    }
    if (!answer.ok) throw badSignature(this.name, new Error(answer.message))
    return {...this.signer}
  }

  abort(): void {
    void this.worker.terminate()
  }

  private flush(): void {
    if (this.filled === 0) return
    // The batch buffer is handed over (not copied) and a new one started.
    const chunk = new Uint8Array(this.batch.buffer, 0, this.filled)
    this.worker.postMessage({type: 'data', chunk}, [this.batch.buffer])
    this.inFlight += this.filled
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES)
    this.filled = 0
  }

  private release(): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
  }
}

/** verify-worker.js next to this module in dist/; from src/ (tests), Node runs the TypeScript itself. */
function workerFile(): URL {
  const js = new URL('./verify-worker.js', import.meta.url)
  return existsSync(js) ? js : new URL('./verify-worker.ts', import.meta.url)
}

async function readSignature(data: Uint8Array, text: string, name: string): Promise<Signature> {
  const openpgp = await loadOpenpgp()
  const armored = text.trimStart().startsWith('-----BEGIN PGP')
  if (armored && !/-----BEGIN PGP SIGNATURE-----/.test(text)) {
    const kind = /-----BEGIN PGP ([A-Z ]+)-----/.exec(text)?.[1] ?? 'unknown'
    throw malformed(name, `it is an armored "${kind}" block, not a PGP SIGNATURE`)
  }
  try {
    return armored ? await openpgp.readSignature({armoredSignature: text}) : await openpgp.readSignature({binarySignature: data})
  } catch (error) {
    throw malformed(name, firstLine(error), error)
  }
}

function malformed(name: string, why: string, cause?: unknown): SignatureError {
  return new SignatureError('malformed-signature', `malformed signature: ${name} is not an OpenPGP detached signature (${why})`, {
    hint: 'the .sig is corrupted or is not a signature; publish it again',
    cause,
  })
}

function badSignature(name: string, cause: unknown): SignatureError {
  return new SignatureError(
    'bad-signature',
    `bad signature: the data does not match ${name} (the file was modified, truncated or extended, or the signature belongs to another file): ${firstLine(cause)}`,
    {hint: 'the file is not what the publisher signed; do not use it', cause},
  )
}

/** Why a key cannot vouch for a signature now, or undefined when it can. */
async function keyFailure(key: PublicKey, signingKey: PublicKey | Subkey, now: Date, name: string): Promise<SignatureError | undefined> {
  const primary = await primaryStatus(key, now)
  const isSubkey = signingKey !== key
  const sub: KeyStatus = isSubkey ? await subkeyStatus(signingKey as Subkey, now) : primary
  const status = primary !== 'valid' ? primary : sub
  const who = `${isSubkey && primary === 'valid' ? `subkey ${signingKey.getKeyID().toHex().toUpperCase()} of ` : ''}key ${formatFingerprint(key.getFingerprint())}${key.getUserIDs()[0] ? ` "${key.getUserIDs()[0]}"` : ''}`
  if (status === 'revoked') {
    const sigs = primary === 'revoked' ? key.revocationSignatures : (signingKey as Subkey).revocationSignatures
    const reason = sigs.find((s) => s.reasonForRevocationString)?.reasonForRevocationString
    return new SignatureError('revoked-key', `revoked key: ${name} is signed by ${who}, which is revoked${reason ? ` (${reason})` : ''}`, {
      hint: 'the publisher withdrew this key; get a release signed with a current key',
    })
  }
  if (status === 'expired') {
    const until = isSubkey && primary === 'valid' ? await (signingKey as Subkey).getExpirationTime(now).catch(() => null) : await key.getExpirationTime().catch(() => null)
    const when = until instanceof Date ? ` on ${until.toISOString()}` : ''
    return new SignatureError('expired-key', `expired key: ${name} is signed by ${who}, which expired${when}`, {
      hint: 'if the publisher extended the key, import the refreshed key with `gangue keys import FILE`',
    })
  }
  if (status === 'invalid') {
    return new SignatureError('invalid-key', `invalid key: ${name} is signed by ${who}, which is not a valid key`, {hint: 'check the key with `gangue keys list`'})
  }
  try {
    await key.getSigningKey(signingKey.getKeyID(), now)
  } catch (error) {
    return new SignatureError('invalid-key', `invalid key: ${name} is signed by ${who}, which may not make signatures (${firstLine(error)})`, {
      hint: 'check the key with `gangue keys list`',
    })
  }
  return undefined
}
