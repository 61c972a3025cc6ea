/**
 * What a detached signature's digest is, read straight from its packet bytes
 * without openpgp (whose import and parse take ~50-100 ms): a download starts
 * fetching and hashing the data with it while openpgp judges the signature.
 * Only a guess: DetachedSignature.hashJob (openpgp) stays the authority, and
 * the download checks the guess against it before the digest is used.
 *
 * Reads RFC 4880 / RFC 9580 packets, old and new format headers, of a binary
 * or ASCII-armored `.sig`; signature packets v4, v5 and v6 (whose salt is
 * hashed first). Anything else (a v3 signature, a partial body length, a
 * packet other than a signature or a marker, a truncated packet, data
 * signatures that disagree) gives undefined: the caller then waits for the
 * full parse, as before.
 */

/** The digest a signature is over, as far as its bytes tell before openpgp parses it. */
export interface SignaturePeek {
  /** Node's name of the digest (sha256, sha512, ...). */
  algorithm: string
  mode: 'binary' | 'text'
  /** Hashed before the data: a v6 signature's salt (empty for v4 and v5). */
  salt: Uint8Array
}

/** RFC 9580 9.5: OpenPGP hash algorithm IDs with Node's names; weak digests (refused anyway) are left out. */
const HASHES: Record<number, string> = {8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224', 12: 'sha3-256', 14: 'sha3-512'}
const SIGNATURE_TAG = 2
const MARKER_TAG = 10
const DATA_TYPES: Record<number, SignaturePeek['mode']> = {0x00: 'binary', 0x01: 'text'}
const ARMOR_BEGIN = '-----BEGIN PGP SIGNATURE-----'

/** The digest every data signature (binary or text) of `data` agrees on; undefined when the bytes do not say it plainly. */
export function peekSignature(data: Uint8Array | undefined): SignaturePeek | undefined {
  if (data === undefined || data.length === 0) return undefined
  const bytes = (data[0]! & 0x80) !== 0 ? data : dearmor(data)
  if (!bytes) return undefined
  let agreed: SignaturePeek | undefined
  let at = 0
  while (at < bytes.length) {
    const packet = readPacket(bytes, at)
    if (!packet) return undefined
    at = packet.end
    if (packet.tag === MARKER_TAG) continue
    if (packet.tag !== SIGNATURE_TAG) return undefined
    const peek = readSignature(bytes.subarray(packet.start, packet.end))
    if (peek === undefined) return undefined
    // A signature over something else (a key, a timestamp) is skipped, as DetachedSignature.parse skips it.
    if (peek === 'other') continue
    if (agreed && !same(agreed, peek)) return undefined
    agreed ??= peek
  }
  return agreed
}

/** The body of the packet whose header starts at `at`; undefined for a malformed header, a partial length or a packet past the end. */
function readPacket(bytes: Uint8Array, at: number): {tag: number; start: number; end: number} | undefined {
  const first = bytes[at]!
  if ((first & 0x80) === 0) return undefined
  let tag: number
  let start: number
  let length: number
  if ((first & 0x40) === 0) {
    // Old format: the tag in bits 5-2, the length's size in bits 1-0 (3: indeterminate, to the end).
    tag = (first >> 2) & 0x0f
    const kind = first & 0x03
    if (kind === 3) return {tag, start: at + 1, end: bytes.length}
    const size = 1 << kind
    start = at + 1 + size
    if (start > bytes.length) return undefined
    length = 0
    for (let i = at + 1; i < start; i++) length = length * 256 + bytes[i]!
  } else {
    tag = first & 0x3f
    const o1 = bytes[at + 1]
    if (o1 === undefined) return undefined
    if (o1 < 192) {
      start = at + 2
      length = o1
    } else if (o1 < 224) {
      const o2 = bytes[at + 2]
      if (o2 === undefined) return undefined
      start = at + 3
      length = ((o1 - 192) << 8) + o2 + 192
    } else if (o1 === 255) {
      start = at + 6
      if (start > bytes.length) return undefined
      length = readUint32(bytes, at + 2)
    } else {
      // A partial body length: never used by a signature packet.
      return undefined
    }
  }
  const end = start + length
  return end <= bytes.length ? {tag, start, end} : undefined
}

/** The digest of one signature packet's body; 'other' for a signature not over data; undefined when it cannot be read. */
function readSignature(body: Uint8Array): SignaturePeek | 'other' | undefined {
  const version = body[0]
  if (version !== 4 && version !== 5 && version !== 6) return undefined
  if (body.length < 4) return undefined
  const mode = DATA_TYPES[body[1]!]
  if (mode === undefined) return 'other'
  const algorithm = HASHES[body[3]!]
  if (algorithm === undefined) return undefined
  if (version !== 6) return {algorithm, mode, salt: new Uint8Array(0)}
  // v6 (RFC 9580 5.2.3): 4-octet counts of the hashed and unhashed subpackets, 2 octets of the digest, then the salt.
  let at = 4
  for (let i = 0; i < 2; i++) {
    if (at + 4 > body.length) return undefined
    at += 4 + readUint32(body, at)
  }
  at += 2
  const saltSize = body[at]
  if (saltSize === undefined || at + 1 + saltSize > body.length) return undefined
  return {algorithm, mode, salt: body.slice(at + 1, at + 1 + saltSize)}
}

/** The packets of the first armored PGP SIGNATURE block; undefined when the text is not one. */
function dearmor(data: Uint8Array): Uint8Array | undefined {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
  const lines = text.trimStart().split(/\r?\n/)
  if (lines[0]?.trimEnd() !== ARMOR_BEGIN) return undefined
  let i = 1
  // Armor headers ("Version: ...", "Comment: ...") up to the blank line.
  while (i < lines.length && lines[i]!.trim() !== '') {
    if (!lines[i]!.includes(': ')) return undefined
    i++
  }
  const base64: string[] = []
  for (i++; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line.startsWith('=') || line.startsWith('-----END PGP SIGNATURE-----')) break
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line)) return undefined
    base64.push(line)
  }
  if (i === lines.length) return undefined
  const bytes = Buffer.from(base64.join(''), 'base64')
  return bytes.length > 0 ? bytes : undefined
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!
}

function same(a: SignaturePeek, b: SignaturePeek): boolean {
  return a.algorithm === b.algorithm && a.mode === b.mode && Buffer.from(a.salt).equals(b.salt)
}
