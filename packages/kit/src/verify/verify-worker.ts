/**
 * The hashing half of a signature check, on its own thread: the main thread
 * receives and writes the data while this one feeds it to openpgp's streaming
 * verification (the signature's own hash, often SHA-512, is the most
 * expensive step of a verified download).
 *
 * Self-contained on purpose (node builtins and openpgp only, erasable
 * TypeScript): from `src/` Node runs it as TypeScript, from `dist/` as the
 * compiled JavaScript. Protocol, see WorkerVerifier in signature.ts:
 *   in:  {type: 'data', chunk} (transferred), {type: 'end'}
 *   out: {type: 'ack', bytes}, {type: 'done', ok: true} | {type: 'done', ok: false, message}
 */
import {parentPort, workerData} from 'node:worker_threads'

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
const pipe = new TransformStream<Uint8Array, Uint8Array>()
const writer = pipe.writable.getWriter()
const message = await openpgp.createMessage({binary: pipe.readable})
const result = await openpgp.verify({
  message,
  signature: await openpgp.readSignature({binarySignature: setup.signature}),
  verificationKeys: await openpgp.readKey({binaryKey: setup.key}),
  date: new Date(setup.now),
  format: 'binary',
})
const verified = result.signatures[0]?.verified ?? Promise.reject(new Error('no signature to verify'))
verified.catch(() => {})
// openpgp passes the data through: reading it is what drives the hashing.
const drained = (async () => {
  const reader = (result.data as ReadableStream<Uint8Array>).getReader()
  for (;;) if ((await reader.read()).done) return
})()
drained.catch(() => {})

// Messages are handled strictly in order: each waits for the previous one.
let queue: Promise<void> = Promise.resolve()
let failure: unknown
port.on('message', (m: In) => {
  queue = queue.then(() => handle(m))
})

async function handle(m: In): Promise<void> {
  if (m.type === 'data') {
    // After a failure the data is only acknowledged: the answer to 'end' reports it.
    if (failure === undefined) await writer.write(m.chunk).catch((error: unknown) => (failure = error))
    port.postMessage({type: 'ack', bytes: m.chunk.byteLength})
    return
  }
  try {
    if (failure !== undefined) throw failure
    await writer.close()
    await drained
    await verified
    port.postMessage({type: 'done', ok: true})
  } catch (error) {
    port.postMessage({type: 'done', ok: false, message: error instanceof Error ? error.message : String(error)})
  }
}
