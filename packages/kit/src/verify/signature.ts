import {getHashes} from 'node:crypto'

import type {PublicKey, Signature, SignaturePacket, Subkey} from 'openpgp'

import {BugError, CheckFailedError} from '../errors.js'
import {firstLine, formatFingerprint, Keyring, loadOpenpgp} from './keyring.js'
import {ParallelHasher, type HashJob, type HashOutcome} from './parallel-hash.js'

/** Why a signature was refused: every refusal names one. */
export type VerifyFailureReason =
  | 'missing-signature'
  | 'empty-signature'
  | 'malformed-signature'
  | 'unknown-key'
  | 'expired-key'
  | 'revoked-key'
  | 'invalid-key'
  | 'weak-digest'
  | 'future-signature'
  | 'expired-signature'
  | 'unverifiable-text'
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
  /** 'binary', or 'text' for a text-mode signature (gpg --textmode). */
  mode: 'binary' | 'text'
  source: string
  /** What the user should know about a good signature: the key has expired since, expires soon, was retired since. */
  warnings: string[]
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
  /** The time the signature is judged at (default: now). */
  now?: Date | undefined
}

/** The largest detached signature read: a signature is a few hundred bytes, a file with several a few KiB. */
export const MAX_SIGNATURE_BYTES = 1 << 20
/** A signature dated this far ahead of the clock is still taken as made now (clocks differ). */
export const CLOCK_SKEW_MS = 5 * 60_000
/** A signing key that expires within this time draws a warning. */
export const EXPIRY_WARNING_MS = 30 * 86_400_000
/** Digests no longer trusted for signatures over data: refused by name, as GnuPG's --weak-digest refuses them. */
const WEAK_DIGESTS: Record<string, string> = {md5: 'MD5', sha1: 'SHA-1', ripemd: 'RIPEMD-160'}
/** RFC 4880 5.2.3.23: a key superseded or retired keeps the signatures it made before; any other reason (or none) voids them all. */
const SOFT_REVOCATIONS = new Set([1, 3])
/** Node's (OpenSSL's) names of the OpenPGP digests it can compute. */
const NODE_HASHES: Record<string, string> = {
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_256: 'sha3-256',
  sha3_512: 'sha3-512',
}
const REVOCATION_REASONS: Record<number, string> = {0: 'with no reason given', 1: 'as superseded', 2: 'as compromised', 3: 'as retired'}

/**
 * A detached signature that has passed every check possible before seeing
 * the data: it parses, its issuer is in the keyring, and that key may vouch
 * for it. Checking this first means a download signed by an unknown or
 * revoked key fails before a single byte of the data is fetched.
 *
 * Keys are judged as GnuPG judges them, at the signature's creation time:
 * a signature is good when its key was valid when it signed (created, not
 * expired, bound to its primary key). A key that expired since draws a
 * warning, not a refusal: publishers rotate signing subkeys yearly, and their
 * old releases stay valid. A revocation voids every signature of the key,
 * except that a key revoked as superseded or retired keeps the signatures it
 * made before the revocation. A signature dated in the future (beyond
 * `CLOCK_SKEW_MS`), or made with MD5, SHA-1 or RIPEMD-160, is refused by name.
 */
export class DetachedSignature {
  private constructor(
    private readonly packet: SignaturePacket,
    private readonly key: PublicKey,
    readonly signer: Signer,
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
    if (data.byteLength > MAX_SIGNATURE_BYTES)
      throw malformed(name, `it is larger than ${MAX_SIGNATURE_BYTES} bytes, too large for a detached signature`)
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
    if (data.byteLength === 0 || text.trim() === '')
      throw new SignatureError('empty-signature', `empty signature: ${name} has no content`, {
        hint: 'the signature upload is incomplete; publish it again',
      })
    const signature = await readSignature(data, text, name)
    const dataSigs = [...signature.packets].filter((p) => p.signatureType === 0 || p.signatureType === 1)
    if (dataSigs.length === 0) throw malformed(name, 'it holds no signature over data (binary or text)')

    // Several signatures: the first one by a key we have and that may vouch for it wins.
    let refusal: SignatureError | undefined
    for (const packet of dataSigs) {
      const found = keyring.findIssuer(packet.issuerKeyID)
      if (!found) continue
      const judged = await judge(packet, found.entry.key, found.signingKey, now, name)
      if (judged instanceof SignatureError) {
        refusal ??= judged
        continue
      }
      const signer: Signer = {
        fingerprint: found.entry.key.getFingerprint().toUpperCase(),
        signingKeyFingerprint: found.signingKey.getFingerprint().toUpperCase(),
        userId: found.entry.key.getUserIDs()[0],
        signedAt: packet.created ?? new Date(0),
        hashAlgorithm: await hashName(packet.hashAlgorithm),
        mode: packet.signatureType === 1 ? 'text' : 'binary',
        source: found.entry.source,
        warnings: judged.warnings,
      }
      return new DetachedSignature(packet, found.entry.key, signer, name)
    }
    if (refusal) throw refusal
    const ids = dataSigs.map((p) => p.issuerKeyID.toHex().toUpperCase()).join(', ')
    const fingerprints = dataSigs.flatMap((p) =>
      p.issuerFingerprint ? [formatFingerprint(Buffer.from(p.issuerFingerprint).toString('hex'))] : [],
    )
    const detail = fingerprints.length > 0 ? ` (fingerprint ${fingerprints.join(', ')})` : ''
    throw new SignatureError(
      'unknown-key',
      `unknown key: ${name} is signed by key ${ids}${detail}, which is not in the keyring (${keyring.size} keys)`,
      {
        hint: "import the publisher's public key with `gangue keys import FILE`, or pass --verify-key FILE",
      },
    )
  }

  /** The digest this signature is over: its algorithm, what is hashed around the data, and whether lines are canonicalised (text mode). */
  async hashJob(): Promise<HashJob> {
    const openpgp = await loadOpenpgp()
    const packet = this.packet as SignaturePacketInternals
    const type = packet.signatureType === openpgp.enums.signature.text ? openpgp.enums.signature.text : openpgp.enums.signature.binary
    // What is hashed: salt (v6), the data, then the signature's own hashed part and trailer.
    const empty = (await openpgp.createMessage({binary: new Uint8Array(0)})).packets[0]
    const salt = packet.salt ?? new Uint8Array(0)
    const suffix = packet.toHash(type, empty, true).subarray(salt.length)
    const algorithm = NODE_HASHES[openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm!) as string]!
    return {algorithm, prefix: salt, suffix, text: type === openpgp.enums.signature.text}
  }

  /**
   * Checks the signature over the digest of the data (from `hashJob`). The
   * key was judged (dates, revocations, binding) in `parse`, before the data
   * moved: here only the cryptography is checked.
   */
  async check(outcome: HashOutcome): Promise<Signer> {
    if (!outcome.ok && outcome.longLine) {
      throw new SignatureError('unverifiable-text', `unverifiable text: ${this.name} is a text-mode signature, and ${outcome.message}`, {
        hint: 'text-mode signatures are for text files; ask the publisher for a binary signature (gpg --detach-sign without --textmode)',
      })
    }
    if (!outcome.ok) throw badSignature(this.name, new Error(outcome.message))
    const openpgp = await loadOpenpgp()
    const packet = this.packet as SignaturePacketInternals
    const keyPacket = this.key.getKeys(packet.issuerKeyID)[0]?.keyPacket
    if (!keyPacket) throw new BugError(`the signing key ${packet.issuerKeyID.toHex()} is gone from its key`)
    const type = packet.signatureType === openpgp.enums.signature.text ? openpgp.enums.signature.text : openpgp.enums.signature.binary
    const empty = (await openpgp.createMessage({binary: new Uint8Array(0)})).packets[0]
    // The digest of this pass (a restarted download checks its own): openpgp checks the signature over it.
    packet.hashed = Promise.resolve(new Uint8Array(outcome.digest))
    try {
      // A null date: the dates were judged in `parse`, at the signature's creation time.
      await packet.verify(keyPacket, type, empty, null, true)
    } catch (error) {
      throw badSignature(this.name, error)
    } finally {
      delete packet.hashed
    }
    return {...this.signer, warnings: [...this.signer.warnings]}
  }

  /** A verifier over the data on its own thread (one per pass: a restarted download takes a new one). */
  async verifier(): Promise<DataVerifier> {
    const hasher = await ParallelHasher.start([await this.hashJob()])
    return {
      write: async (chunk) => hasher.write(chunk),
      finish: async () => this.check((await hasher.finish())[0]!),
      abort: () => hasher.abort(),
    }
  }
}

/** openpgp keeps a precomputed digest in `hashed` (its own streaming path sets it too); these are not in its type declarations. */
type SignaturePacketInternals = SignaturePacket & {
  hashed?: Promise<Uint8Array>
  salt?: Uint8Array | null
  toHash(type: number, data: unknown, detached: boolean): Uint8Array
  verify(key: unknown, type: number, data: unknown, date: Date | null, detached: boolean): Promise<void>
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

async function hashName(id: number | null): Promise<string> {
  const openpgp = await loadOpenpgp()
  return id === null ? 'unknown' : (openpgp.enums.read(openpgp.enums.hash, id) as string).toUpperCase()
}

const day = (d: Date): string => d.toISOString().slice(0, 10)
const when = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`

/** "subkey 32DA80F91EF52974 of key F88C ... B34A "Flatcar Buildbot ..."", the way messages name a signer. */
function describeSigner(key: PublicKey, signingKey: PublicKey | Subkey): string {
  const uid = key.getUserIDs()[0]
  const sub = signingKey === key ? '' : `subkey ${signingKey.getKeyID().toHex().toUpperCase()} of `
  return `${sub}key ${formatFingerprint(key.getFingerprint())}${uid ? ` "${uid}"` : ''}`
}

interface Revocation {
  created: Date
  flag: number
  text: string
  soft: boolean
}

/** The revocations of a primary key or subkey that its primary key really made. */
async function revocationsOf(key: PublicKey, signingKey: PublicKey | Subkey): Promise<Revocation[]> {
  const openpgp = await loadOpenpgp()
  const primary = key.keyPacket
  const isSubkey = signingKey !== key
  const targets: {sigs: SignaturePacket[]; type: number; data: object}[] = [
    {sigs: key.revocationSignatures, type: openpgp.enums.signature.keyRevocation, data: {key: primary}},
  ]
  if (isSubkey)
    targets.push({
      sigs: (signingKey as Subkey).revocationSignatures,
      type: openpgp.enums.signature.subkeyRevocation,
      data: {key: primary, bind: signingKey.keyPacket},
    })
  const found: Revocation[] = []
  for (const {sigs, type, data} of targets) {
    for (const sig of sigs) {
      if (!sig.issuerKeyID.equals(primary.getKeyID())) continue
      // A null date checks the signature alone, not its dates (openpgp accepts it; its types do not say so).
      const ok = await sig.verify(primary, type, data as never, null as unknown as Date).then(
        () => true,
        () => false,
      )
      if (!ok) continue
      const flag = sig.reasonForRevocationFlag ?? 0
      found.push({created: sig.created ?? new Date(0), flag, text: sig.reasonForRevocationString ?? '', soft: SOFT_REVOCATIONS.has(flag)})
    }
  }
  return found
}

/**
 * Whether `key` (through `signingKey`) may vouch for `packet` when judged at
 * `now`: a refusal, or the warnings that go with a good signature.
 */
async function judge(
  packet: SignaturePacket,
  key: PublicKey,
  signingKey: PublicKey | Subkey,
  now: Date,
  name: string,
): Promise<SignatureError | {warnings: string[]}> {
  const openpgp = await loadOpenpgp()
  const who = describeSigner(key, signingKey)
  const hash = packet.hashAlgorithm === null ? undefined : (openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm) as string)
  const weak = hash === undefined ? undefined : WEAK_DIGESTS[hash]
  if (weak) {
    return new SignatureError(
      'weak-digest',
      `weak digest: ${name} is made with ${weak}, a digest too weak to trust for signatures (by ${who})`,
      {
        hint: 'ask the publisher to sign with SHA-256 or stronger',
      },
    )
  }
  if (!hash || !NODE_HASHES[hash] || !getHashes().includes(NODE_HASHES[hash])) {
    return malformed(name, `its digest algorithm ${hash ?? packet.hashAlgorithm} is not supported`)
  }
  const signedAt = packet.created
  if (!signedAt) return malformed(name, 'it has no creation time')
  if (signedAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    return new SignatureError(
      'future-signature',
      `signature from the future: ${name} says it was made on ${when(signedAt)}, after the current time ${when(now)} (by ${who})`,
      {
        hint: "check this machine's clock; a signature dated in the future is never accepted",
      },
    )
  }
  const signatureExpiry = packet.getExpirationTime()
  if (signatureExpiry instanceof Date && signatureExpiry.getTime() <= now.getTime()) {
    return new SignatureError(
      'expired-signature',
      `expired signature: ${name} (made on ${when(signedAt)} by ${who}) expired on ${when(signatureExpiry)}`,
      {
        hint: 'the publisher limited the life of this signature; get a freshly signed release',
      },
    )
  }
  if (signingKey.getCreationTime().getTime() > signedAt.getTime()) {
    return new SignatureError(
      'invalid-key',
      `invalid key: ${name} says it was made on ${when(signedAt)}, before ${who} existed (created ${when(signingKey.getCreationTime())})`,
      {
        hint: 'the signature or the key is forged or mis-dated; do not use the file',
      },
    )
  }

  const warnings: string[] = []
  for (const revocation of await revocationsOf(key, signingKey)) {
    const reason = `${REVOCATION_REASONS[revocation.flag] ?? `with reason code ${revocation.flag}`}${revocation.text ? ` ("${revocation.text}")` : ''}`
    if (!revocation.soft) {
      return new SignatureError(
        'revoked-key',
        `revoked key: ${name} is signed by ${who}, which was revoked on ${when(revocation.created)} ${reason}: none of its signatures can be trusted`,
        {
          hint: 'the publisher withdrew this key; get a release signed with a current key',
        },
      )
    }
    if (revocation.created.getTime() <= signedAt.getTime()) {
      return new SignatureError(
        'revoked-key',
        `revoked key: ${name} was made on ${when(signedAt)} by ${who}, which had been revoked on ${when(revocation.created)} ${reason}`,
        {
          hint: 'a key retired or superseded before it signed cannot vouch for the signature; get a release signed with a current key',
        },
      )
    }
    warnings.push(
      `${who} was revoked on ${day(revocation.created)} ${reason}, after it made this signature (on ${day(signedAt)}): the signature stays valid`,
    )
  }

  // Everything else (binding signatures, key flags, expiry) as the key stood when it signed.
  try {
    await key.getSigningKey(signingKey.getKeyID(), signedAt)
  } catch (error) {
    const message = firstLine(error)
    if (/expired/i.test(message)) {
      const expiry = await expiryOf(key, signingKey, signedAt)
      return new SignatureError(
        'expired-key',
        `expired key: ${name} was made on ${when(signedAt)} by ${who}, which had expired${expiry ? ` on ${when(expiry)}` : ''}`,
        {
          hint: 'a signature made after its key expired is never valid; if the publisher extended the key, import the refreshed key with `gangue keys import FILE`',
        },
      )
    }
    if (/revoked/i.test(message)) {
      return new SignatureError('revoked-key', `revoked key: ${name} is signed by ${who}, which is revoked`, {
        hint: 'the publisher withdrew this key; get a release signed with a current key',
      })
    }
    return new SignatureError('invalid-key', `invalid key: ${name} is signed by ${who}, which could not make this signature (${message})`, {
      hint: 'check the key with `gangue keys list`',
    })
  }

  const expiry = await expiryOf(key, signingKey, now)
  if (expiry && expiry.getTime() <= now.getTime()) {
    warnings.push(`${who} expired on ${day(expiry)}, after it made this signature (on ${day(signedAt)}): the signature is good`)
  } else if (expiry && expiry.getTime() - now.getTime() <= EXPIRY_WARNING_MS) {
    warnings.push(`${who} expires on ${day(expiry)}: import the publisher's refreshed key (gangue keys import FILE) before then`)
  }
  return {warnings}
}

/** When the signing key (or its primary, whichever comes first) expires, by its self-signatures valid at `at`; undefined when it does not. */
async function expiryOf(key: PublicKey, signingKey: PublicKey | Subkey, at: Date): Promise<Date | undefined> {
  const dates: Date[] = []
  const primary = await key.getExpirationTime().catch(() => null)
  if (primary instanceof Date) dates.push(primary)
  if (signingKey !== key) {
    const sub = await (signingKey as Subkey).getExpirationTime(at).catch(() => null)
    if (sub instanceof Date) dates.push(sub)
  }
  return dates.sort((a, b) => a.getTime() - b.getTime())[0]
}
