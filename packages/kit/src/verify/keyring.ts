import {open, readdir} from 'node:fs/promises'
import {join} from 'node:path'

import type {KeyID, PublicKey, Subkey} from 'openpgp'

import {UsageError} from '../errors.js'

/** openpgp is ~100 ms to import: loaded on first use, never at import of the kit. */
export const loadOpenpgp = (): Promise<typeof import('openpgp')> => import('openpgp')

/** A public key and where it came from ("embedded", "user", or a file given on the command line). */
export interface KeyringEntry {
  key: PublicKey
  /** Where it was read from: "embedded:<file>", "user:<file>" or a path. */
  source: string
}

export type KeyStatus = 'valid' | 'expired' | 'revoked' | 'invalid'

export interface SubkeyInfo {
  fingerprint: string
  keyId: string
  created: Date
  expires: Date | null
  status: KeyStatus
  canSign: boolean
}

/** What `keys list` shows about a key: never secret material. */
export interface KeyInfo {
  fingerprint: string
  keyId: string
  userIds: string[]
  algorithm: string
  created: Date
  expires: Date | null
  status: KeyStatus
  /** Why it is revoked, when the revocation says. */
  revocationReason?: string | undefined
  subkeys: SubkeyInfo[]
  source: string
}

/**
 * The public keys a signature is checked against. Keys with the same
 * fingerprint from several sources (the embedded copy and a refreshed one the
 * user imported) are merged, so new subkeys, extended expiry dates and
 * revocations from either take effect.
 */
export class Keyring {
  private constructor(readonly entries: readonly KeyringEntry[]) {}

  static empty(): Keyring {
    return new Keyring([])
  }

  static async of(entries: readonly KeyringEntry[]): Promise<Keyring> {
    const byFingerprint = new Map<string, KeyringEntry>()
    for (const entry of entries) {
      const fingerprint = entry.key.getFingerprint().toUpperCase()
      const existing = byFingerprint.get(fingerprint)
      if (!existing) {
        byFingerprint.set(fingerprint, entry)
        continue
      }
      const merged = await existing.key.update(entry.key)
      byFingerprint.set(fingerprint, {key: merged, source: `${existing.source}, ${entry.source}`})
    }
    return new Keyring([...byFingerprint.values()])
  }

  get size(): number {
    return this.entries.length
  }

  /** The key (primary or subkey) that issued a signature, by key ID. */
  findIssuer(keyID: KeyID): {entry: KeyringEntry; signingKey: PublicKey | Subkey} | undefined {
    for (const entry of this.entries) {
      const [signingKey] = entry.key.getKeys(keyID)
      if (signingKey) return {entry, signingKey}
    }
    return undefined
  }

  keys(): PublicKey[] {
    return this.entries.map((e) => e.key)
  }
}

const BEGIN = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g

/**
 * Parses one or more public keys: an armored key, several armored blocks in
 * one file (`cat a.asc b.asc`), or a binary keyring (`gpg --export`). Private
 * keys are reduced to their public part. A file that holds no key is a usage
 * error naming the file.
 */
export async function parseKeys(data: Uint8Array | string, source: string): Promise<PublicKey[]> {
  const openpgp = await loadOpenpgp()
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const text = bytes.toString('latin1')
  const bad = (why: string, cause?: unknown): UsageError =>
    new UsageError(`key file ${source}: ${why}`, {
      hint: 'give an OpenPGP public key, armored (gpg --armor --export) or binary (gpg --export)',
      cause,
    })
  if (bytes.length === 0 || text.trim() === '') throw bad('is empty')
  const keys: PublicKey[] = []
  try {
    if (text.includes('-----BEGIN PGP')) {
      const blocks = text.match(BEGIN)
      if (!blocks) throw bad('has no PGP PUBLIC KEY BLOCK')
      for (const armoredKeys of blocks) keys.push(...(await openpgp.readKeys({armoredKeys})))
    } else {
      keys.push(...(await openpgp.readKeys({binaryKeys: new Uint8Array(bytes)})))
    }
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw bad(`is not a readable OpenPGP key (${firstLine(error)})`, error)
  }
  if (keys.length === 0) throw bad('holds no key')
  return keys.map((k) => (k.isPrivate() ? k.toPublic() : k))
}

/** The largest key file read: a publisher's key is a few KiB, a keyring of many keys a few MiB. */
export const MAX_KEY_FILE_BYTES = 8 * 1024 * 1024

/**
 * Reads at most `limit` bytes of a file, whatever it is (a device, a pipe, a
 * file growing while read): more is an error, found after reading `limit + 1`.
 */
async function readCapped(path: string, limit: number): Promise<{data: Buffer; tooLarge: boolean}> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(limit + 1)
    let filled = 0
    while (filled < buffer.length) {
      const {bytesRead} = await handle.read(buffer, filled, buffer.length - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return {data: buffer.subarray(0, filled), tooLarge: filled > limit}
  } finally {
    await handle.close()
  }
}

/** Reads a key file given by the user (`--verify-key`, `keys import`): a missing, unreadable or oversized file is a usage error. */
export async function readKeyFile(path: string, source = path): Promise<KeyringEntry[]> {
  let read: {data: Buffer; tooLarge: boolean}
  try {
    read = await readCapped(path, MAX_KEY_FILE_BYTES)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : firstLine(error)
    throw new UsageError(`key file ${path}: ${why}`, {hint: 'check the path of the key file', cause: error})
  }
  if (read.tooLarge) {
    throw new UsageError(`key file ${path}: larger than ${MAX_KEY_FILE_BYTES / 1024 / 1024} MiB, too large for a key file`, {
      hint: 'give an OpenPGP public key (gpg --armor --export KEYID), not an image or a device',
    })
  }
  return (await parseKeys(read.data, source)).map((key) => ({key, source}))
}

const KEY_FILE = /\.(asc|gpg|pgp|key)$/i

/** Every key file (*.asc, *.gpg, *.pgp, *.key) of a directory, in name order; a missing directory holds none. */
export async function readKeyDirectory(dir: string, label: string): Promise<KeyringEntry[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((n) => KEY_FILE.test(n)).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const entries: KeyringEntry[] = []
  for (const name of names) entries.push(...(await readKeyFile(join(dir, name), `${label}:${name}`)))
  return entries
}

export interface KeyringSources {
  /** Key files given explicitly (e.g. --verify-key). */
  files?: readonly string[]
  /** Directories of key files with a label each (the embedded keys, the user's keyring). */
  directories?: readonly {dir: string; label: string}[]
}

export async function loadKeyring(sources: KeyringSources): Promise<Keyring> {
  const entries: KeyringEntry[] = []
  for (const {dir, label} of sources.directories ?? []) entries.push(...(await readKeyDirectory(dir, label)))
  for (const file of sources.files ?? []) entries.push(...(await readKeyFile(file)))
  return Keyring.of(entries)
}

/** Upper-case hex, no spaces: the form JSON output and file names use. */
export function normalizeFingerprint(input: string): string {
  return input.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase()
}

/** "F88C FEDE FF29 A5B4 D952  3864 E25D 9AED 0593 B34A", the way gpg prints it. */
export function formatFingerprint(fingerprint: string): string {
  const groups = normalizeFingerprint(fingerprint).match(/.{1,4}/g) ?? []
  const half = Math.ceil(groups.length / 2)
  return groups.length === 10 ? `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}` : groups.join(' ')
}

function expiry(value: Date | number | null): Date | null {
  return value instanceof Date ? value : null
}

/** Status and dates of a key at `now`, for listings and for naming why a signature was refused. */
export async function describeKey(entry: KeyringEntry, now = new Date()): Promise<KeyInfo> {
  const {key, source} = entry
  const status = await primaryStatus(key, now)
  const revocation = key.revocationSignatures.find((s) => s.reasonForRevocationString)
  const subkeys: SubkeyInfo[] = []
  for (const subkey of key.subkeys) {
    subkeys.push({
      fingerprint: subkey.getFingerprint().toUpperCase(),
      keyId: subkey.getKeyID().toHex().toUpperCase(),
      created: subkey.getCreationTime(),
      expires: expiry(await subkey.getExpirationTime(now).catch(() => null)),
      status: await subkeyStatus(subkey, now),
      canSign: await key.getSigningKey(subkey.getKeyID(), null).then(
        () => true,
        () => false,
      ),
    })
  }
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    userIds: key.getUserIDs(),
    algorithm: algorithmName(key.getAlgorithmInfo()),
    created: key.getCreationTime(),
    expires: expiry(await key.getExpirationTime().catch(() => null)),
    status,
    revocationReason: status === 'revoked' ? (revocation?.reasonForRevocationString ?? undefined) : undefined,
    subkeys,
    source,
  }
}

function algorithmName(info: {algorithm: string; bits?: number; curve?: string}): string {
  return info.bits ? `${info.algorithm}${info.bits}` : info.curve ? `${info.algorithm}/${info.curve}` : info.algorithm
}

/** Classifies openpgp's refusal of a key at a date. */
export function statusFromError(error: unknown): KeyStatus {
  const message = firstLine(error).toLowerCase()
  if (message.includes('revoked')) return 'revoked'
  if (message.includes('expired')) return 'expired'
  return 'invalid'
}

export async function primaryStatus(key: PublicKey, now: Date): Promise<KeyStatus> {
  return key.verifyPrimaryKey(now).then(
    () => 'valid' as const,
    (error: unknown) => statusFromError(error),
  )
}

export async function subkeyStatus(subkey: Subkey, now: Date): Promise<KeyStatus> {
  return subkey.verify(now).then(
    () => 'valid' as const,
    (error: unknown) => statusFromError(error),
  )
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
