/**
 * The hashing half of a signature check, on its own thread: the main thread
 * receives and writes the data while this one hashes it (the signature's own
 * hash, often SHA-512, is the most expensive step of a verified download).
 *
 * Self-contained on purpose (node builtins and openpgp only, erasable
 * TypeScript): from `src/` Node runs it as TypeScript, from `dist/` as the
 * compiled JavaScript. Protocol, see WorkerVerifier in signature.ts:
 *   in:  {type: 'data', chunk} (transferred), {type: 'end'}
 *   out: {type: 'ack', bytes}, {type: 'done', ok: true} | {type: 'done', ok: false, message}
 */
import {createHash, getHashes} from 'node:crypto'
import {parentPort, workerData} from 'node:worker_threads'

import type {SignaturePacket as OpenpgpSignaturePacket} from 'openpgp'

/** openpgp keeps a precomputed digest here (its own streaming path sets it too); it is not in its type declarations. */
type SignaturePacket = OpenpgpSignaturePacket & {hashed?: Promise<Uint8Array>; salt?: Uint8Array | null; toHash(type: number, data: unknown, detached: boolean): Uint8Array; verify(key: unknown, type: number, data: unknown, date: Date, detached: boolean): Promise<void>}

interface Setup {
  /** The one signature packet to check, binary. */
  signature: Uint8Array
  /** The signer's public key, binary. */
  key: Uint8Array
  /** Verification time (ms since the epoch). */
  now: number
}

type In = {type: 'data'; chunk: Uint8Array} | {type: 'end'}

const port = parentPort!
const setup = workerData as Setup

const openpgp = await import('openpgp')
const {write, end} = await start()

/**
 * For a binary signature, the data goes straight into Node's hash (OpenSSL)
 * and openpgp checks the signature over the resulting digest: openpgp's own
 * streaming path costs about 10% more CPU for the same hash. Text signatures,
 * whose data openpgp must first normalise, take openpgp's streaming path.
 */
async function start(): Promise<{write: (chunk: Uint8Array) => Promise<void>; end: () => Promise<void>}> {
  const signature = await openpgp.readSignature({binarySignature: setup.signature})
  const packet = signature.packets[0] as SignaturePacket
  const key = await openpgp.readKey({binaryKey: setup.key})
  const date = new Date(setup.now)
  const algorithm = nodeHashName(packet.hashAlgorithm)
  if (packet.signatureType === openpgp.enums.signature.binary && algorithm) {
    // What is hashed: salt (v6), the data, then the signature's own hashed part and trailer.
    const empty = (await openpgp.createMessage({binary: new Uint8Array(0)})).packets[0]
    const salt = packet.salt ?? new Uint8Array(0)
    const suffix = packet.toHash(openpgp.enums.signature.binary, empty, true).subarray(salt.length)
    const hash = createHash(algorithm).update(salt)
    return {
      write: async (chunk) => void hash.update(chunk),
      end: async () => {
        packet.hashed = Promise.resolve(new Uint8Array(hash.update(suffix).digest()))
        const signingKey = await key.getSigningKey(packet.issuerKeyID, date)
        await packet.verify(signingKey.keyPacket, openpgp.enums.signature.binary, empty, date, true)
      },
    }
  }
  const pipe = new TransformStream<Uint8Array, Uint8Array>()
  const writer = pipe.writable.getWriter()
  const result = await openpgp.verify({message: await openpgp.createMessage({binary: pipe.readable}), signature, verificationKeys: key, date, format: 'binary'})
  const verified = result.signatures[0]?.verified ?? Promise.reject(new Error('no signature to verify'))
  verified.catch(() => {})
  // openpgp passes the data through: reading it is what drives the hashing.
  const drained = (async () => {
    const reader = (result.data as ReadableStream<Uint8Array>).getReader()
    for (;;) if ((await reader.read()).done) return
  })()
  drained.catch(() => {})
  return {
    write: (chunk) => writer.write(chunk),
    end: async () => {
      await writer.close()
      await drained
      await verified
    },
  }
}

/** Node's name for an OpenPGP hash algorithm, or undefined for one Node lacks here. */
function nodeHashName(id: number | null): string | undefined {
  if (id === null) return undefined
  const name = {sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha3_256: 'sha3-256', sha3_512: 'sha3-512'}[openpgp.enums.read(openpgp.enums.hash, id) as string]
  return name && getHashes().includes(name) ? name : undefined
}

// Messages are handled strictly in order: each waits for the previous one.
let queue: Promise<void> = Promise.resolve()
let failure: unknown
port.on('message', (m: In) => {
  queue = queue.then(() => handle(m))
})

async function handle(m: In): Promise<void> {
  if (m.type === 'data') {
    // After a failure the data is only acknowledged: the answer to 'end' reports it.
    if (failure === undefined) await write(m.chunk).catch((error: unknown) => (failure = error))
    port.postMessage({type: 'ack', bytes: m.chunk.byteLength})
    return
  }
  try {
    if (failure !== undefined) throw failure
    await end()
    port.postMessage({type: 'done', ok: true})
  } catch (error) {
    port.postMessage({type: 'done', ok: false, message: error instanceof Error ? error.message : String(error)})
  }
}
