// The process the upload kill tests stop: writes SIZE bytes to KEY of the bucket at URL (storage options
// as JSON in UPLOAD_OPTIONS) with the kit's compiled storage layer, and once the service has acknowledged
// KILL_AT bytes (the write's onProgress: parts or blocks stored, so some are surely left behind) sends
// itself KILL_SIGNAL: SIGKILL, as a crash or `kill -9` would stop it, or SIGTERM, which it turns into the
// write's abort signal, as every command's base does. (Counting bytes read instead, a loaded machine could
// be killed with every part still in flight and nothing left to clean up.)
//   node upload-child.mjs <url> <key> <size> <kill at> <SIGKILL|SIGTERM>
import {Readable} from 'node:stream'

const [url, key, size, killAt, signal] = process.argv.slice(2)
const {openBucket} = await import(new URL('../../../dist/storage/index.js', import.meta.url).href)
const bucket = await openBucket(url, JSON.parse(process.env.UPLOAD_OPTIONS))
const controller = new AbortController()
process.on('SIGTERM', () => controller.abort(new Error('interrupted by SIGTERM')))

/** The same bytes on every run: a MiB of a fixed pattern, each MiB stamped with its number. */
function body(total) {
  const mib = 1024 * 1024
  let made = 0
  return Readable.from(
    (function* () {
      while (made < total) {
        const chunk = Buffer.alloc(Math.min(mib, total - made), made / mib)
        chunk.writeUInt32BE(made / mib, 0)
        made += chunk.length
        yield chunk
      }
    })(),
  )
}

try {
  let killed = false
  const onProgress = (sent) => {
    if (killed || Number(killAt) <= 0 || sent < Number(killAt)) return
    killed = true
    process.kill(process.pid, signal)
  }
  await bucket.write(key, body(Number(size)), {size: Number(size), signal: controller.signal, onProgress})
  process.stdout.write('written\n')
} catch (error) {
  process.stdout.write(`failed: ${error.message}\n`)
  process.exitCode = 1
}
