// The process the upload kill tests stop: writes SIZE bytes to KEY of the bucket at URL (storage options
// as JSON in UPLOAD_OPTIONS) with the kit's compiled storage layer, and once KILL_AT bytes of the body
// were read sends itself KILL_SIGNAL: SIGKILL, as a crash or `kill -9` would stop it, or SIGTERM, which it
// turns into the write's abort signal, as every command's base does.
//   node upload-child.mjs <url> <key> <size> <kill at> <SIGKILL|SIGTERM>
import {Readable} from 'node:stream'

const [url, key, size, killAt, signal] = process.argv.slice(2)
const {openBucket} = await import(new URL('../../../dist/storage/index.js', import.meta.url).href)
const bucket = await openBucket(url, JSON.parse(process.env.UPLOAD_OPTIONS))
const controller = new AbortController()
process.on('SIGTERM', () => controller.abort(new Error('interrupted by SIGTERM')))

/** The same bytes on every run: a MiB of a fixed pattern, each MiB stamped with its number. */
function body(total, stopAt) {
  const mib = 1024 * 1024
  let made = 0
  return Readable.from(
    (function* () {
      while (made < total) {
        const chunk = Buffer.alloc(Math.min(mib, total - made), made / mib)
        chunk.writeUInt32BE(made / mib, 0)
        made += chunk.length
        if (made >= stopAt && stopAt > 0) process.kill(process.pid, signal)
        yield chunk
      }
    })(),
  )
}

try {
  await bucket.write(key, body(Number(size), Number(killAt)), {size: Number(size), signal: controller.signal})
  process.stdout.write('written\n')
} catch (error) {
  process.stdout.write(`failed: ${error.message}\n`)
  process.exitCode = 1
}
