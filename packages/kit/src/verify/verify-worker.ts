/**
 * The hashing half of a signature check, on its own thread: the main thread
 * receives and writes the data while this one hashes it (the signature's own
 * hash, often SHA-512, is the most expensive step of a verified download).
 *
 * The data goes straight into Node's hash (OpenSSL); openpgp then checks the
 * signature over the resulting digest. The key was judged (dates,
 * revocations, binding) on the main thread before any data moved: here only
 * the cryptography is checked.
 *
 * Self-contained on purpose (node builtins and openpgp only, erasable
 * TypeScript): from `src/` Node runs it as TypeScript, from `dist/` as the
 * compiled JavaScript. Protocol, see WorkerVerifier in signature.ts:
 *   in:  {type: 'data', chunk} (transferred), {type: 'end'}
 *   out: {type: 'ack', bytes}, {type: 'done', ok: true} | {type: 'done', ok: false, message, longLine?}
 */
import {createHash, type Hash} from 'node:crypto'
import {parentPort, workerData} from 'node:worker_threads'

import type {SignaturePacket as OpenpgpSignaturePacket} from 'openpgp'

/** openpgp keeps a precomputed digest here (its own streaming path sets it too); it is not in its type declarations. */
type SignaturePacket = OpenpgpSignaturePacket & {hashed?: Promise<Uint8Array>; salt?: Uint8Array | null; toHash(type: number, data: unknown, detached: boolean): Uint8Array; verify(key: unknown, type: number, data: unknown, date: Date | null, detached: boolean): Promise<void>}

interface Setup {
  /** The one signature packet to check, binary. */
  signature: Uint8Array
  /** The signer's public key, binary. */
  key: Uint8Array
  /** Node's name of the signature's digest. */
  hash: string
}

type In = {type: 'data'; chunk: Uint8Array} | {type: 'end'}

/** GnuPG's text filter cannot hash a line longer than this (bytes before its LF): it fails with "can't handle text lines longer than 19995 characters". */
const MAX_TEXT_LINE = 19_993
const CR = 0x0d
const NUL = 0x00
const LF = 0x0a
const CRLF = Buffer.from('\r\n')

class LongLineError extends Error {}

/**
 * Hashes data the way GnuPG hashes it for a text-mode signature (its
 * text_filter, with the default --no-rfc2440-text): every line ending in LF
 * loses its trailing CRs (and NULs: gpg trims with strchr, which matches the
 * terminating NUL) and ends in CR LF instead; a last line without LF loses
 * them too, without a CR LF; spaces and bytes inside a line stay. Trimmable
 * bytes at the end of a chunk are held until it is known whether the line
 * goes on.
 */
class TextHasher {
  private held: Buffer[] = []
  private lineLength = 0
  private readonly hash: Hash

  constructor(hash: Hash) {
    this.hash = hash
  }

  update(chunk: Buffer): void {
    let start = 0
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start)
      const end = lf === -1 ? chunk.length : lf
      this.lineLength += end - start
      if (this.lineLength > MAX_TEXT_LINE) throw new LongLineError(`a line is longer than ${MAX_TEXT_LINE} bytes, more than GnuPG can verify in text mode`)
      let keep = end
      while (keep > start && (chunk[keep - 1] === CR || chunk[keep - 1] === NUL)) keep--
      if (keep > start) {
        for (const h of this.held) this.hash.update(h)
        this.held = []
        this.hash.update(chunk.subarray(start, keep))
      }
      if (lf === -1) {
        if (keep < end) this.held.push(chunk.subarray(keep, end))
        return
      }
      this.held = []
      this.lineLength = 0
      this.hash.update(CRLF)
      start = lf + 1
    }
  }
}

const port = parentPort!
const setup = workerData as Setup

const openpgp = await import('openpgp')
const {write, end} = await start()

async function start(): Promise<{write: (chunk: Uint8Array) => void; end: () => Promise<void>}> {
  const signature = await openpgp.readSignature({binarySignature: setup.signature})
  const packet = signature.packets[0] as SignaturePacket
  const key = await openpgp.readKey({binaryKey: setup.key})
  const keyPacket = key.getKeys(packet.issuerKeyID)[0]?.keyPacket
  const type = packet.signatureType === openpgp.enums.signature.text ? openpgp.enums.signature.text : openpgp.enums.signature.binary
  // What is hashed: salt (v6), the data, then the signature's own hashed part and trailer.
  const empty = (await openpgp.createMessage({binary: new Uint8Array(0)})).packets[0]
  const salt = packet.salt ?? new Uint8Array(0)
  const suffix = packet.toHash(type, empty, true).subarray(salt.length)
  const hash = createHash(setup.hash).update(salt)
  const text = type === openpgp.enums.signature.text ? new TextHasher(hash) : undefined
  return {
    write: (chunk) => {
      const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      if (text) text.update(buffer)
      else hash.update(buffer)
    },
    end: async () => {
      if (!keyPacket) throw new Error('the signing key is not in the key given')
      packet.hashed = Promise.resolve(new Uint8Array(hash.update(suffix).digest()))
      // Dates were judged before the data moved (at the signature's creation time): only the cryptography here.
      await packet.verify(keyPacket, type, empty, null, true)
    },
  }
}

// Messages are handled strictly in order.
let failure: unknown
port.on('message', (m: In) => {
  if (m.type === 'data') {
    // After a failure the data is only acknowledged: the answer to 'end' reports it.
    if (failure === undefined) {
      try {
        write(m.chunk)
      } catch (error) {
        failure = error
      }
    }
    port.postMessage({type: 'ack', bytes: m.chunk.byteLength})
    return
  }
  void (async () => {
    try {
      if (failure !== undefined) throw failure
      await end()
      port.postMessage({type: 'done', ok: true})
    } catch (error) {
      port.postMessage({type: 'done', ok: false, message: error instanceof Error ? error.message : String(error), longLine: error instanceof LongLineError})
    }
  })()
})
