// Time to first byte of a verified `gangue get`: from the spawn of
// `node packages/gangue/bin/run.cjs get URL --verify-key KEY` to the moment a
// local HTTP server (in this process, so one clock) receives the request for
// the signature and then the data GET; and to the exit. A small gpg-signed
// file (SHA-512, RSA 3072 key, as bench/gangue.mjs makes them), so the exit
// time is mostly start-up and verification. Medians over the runs.
// Arguments: other gangue bins (bin/run.cjs of another checkout, e.g. one built
// from an older commit) to compare with this one; the runs of each alternate.
//   GANGUE_FIRST_BYTE_RUNS (default 10), GANGUE_FIRST_BYTE_BYTES (default 16 MiB)
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.GANGUE_FIRST_BYTE_RUNS ?? 10)
const bytes = Number(process.env.GANGUE_FIRST_BYTE_BYTES ?? 16 * 1024 * 1024)
const bins = [join(root, 'packages', 'gangue', 'bin', 'run.cjs'), ...process.argv.slice(2)]

const work = mkdtempSync(join(tmpdir(), 'gangue-first-byte-'))
const srv = join(work, 'srv')
const gnupg = join(work, 'gnupg')
mkdirSync(srv)
mkdirSync(gnupg, {mode: 0o700})
const env = {...process.env, GNUPGHOME: gnupg, HOME: work, XDG_CONFIG_HOME: join(work, 'config')}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout.toString()
}

const now = () => Number(process.hrtime.bigint()) / 1e6
/** Times of this run's requests, by path ('/image.bin.sig', '/image.bin'). */
let seen = {}

/** Serves srv/ with Range support (the data GET of gangue is a ranged GET after a HEAD). */
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname
  if (req.method === 'GET') seen[path] ??= now()
  const file = join(srv, path)
  let size
  try {
    size = statSync(file).size
  } catch {
    res.writeHead(404).end()
    return
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
  const start = range ? Number(range[1]) : 0
  const end = range && range[2] !== '' ? Number(range[2]) : size - 1
  const headers = {
    'content-length': String(end - start + 1),
    'accept-ranges': 'bytes',
    etag: `"${size}"`,
    'last-modified': new Date(0).toUTCString(),
  }
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`
  res.writeHead(range ? 206 : 200, headers)
  if (req.method === 'HEAD') res.end()
  else createReadStream(file, {start, end}).pipe(res)
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`

writeFileSync(join(srv, 'image.bin'), randomBytes(bytes))
sh('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Bench Signer <bench@example.test>', 'rsa3072', 'sign', 'never'])
sh('gpg', ['--batch', '--detach-sign', join(srv, 'image.bin')])
writeFileSync(join(work, 'key.asc'), sh('gpg', ['--armor', '--export']))

function once(gangue, out) {
  return new Promise((resolve, reject) => {
    seen = {}
    const t0 = now()
    const args = [gangue, 'get', `${origin}/image.bin`, out, '--verify-key', join(work, 'key.asc')]
    const child = spawn(process.execPath, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => {
      const exit = now() - t0
      if (code !== 0) reject(new Error(`gangue get exited ${code}: ${stderr}`))
      else resolve({sig: seen['/image.bin.sig'] - t0, data: seen['/image.bin'] - t0, exit})
    })
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = bins.map(() => [])
try {
  // One untimed run of each first: the page cache and Node's compile cache warm, as for every later run.
  for (const bin of bins) await once(bin, join(work, 'warm.bin'))
  for (let i = 0; i < runs; i++) {
    for (const [b, bin] of bins.entries()) {
      const out = join(work, `out-${i}.bin`)
      results[b].push(await once(bin, out))
      rmSync(out, {force: true})
    }
  }
} finally {
  server.close()
  rmSync(work, {recursive: true, force: true})
}
console.log(`gangue get (verified, ${bytes} bytes), median of ${runs} runs, ms from spawn:`)
console.log(['bin', 'GET .sig', 'data GET', '.sig to data', 'exit'].join('\t'))
for (const [b, bin] of bins.entries()) {
  const m = (f) => median(results[b].map(f)).toFixed(0)
  console.log([bin, m((r) => r.sig), m((r) => r.data), m((r) => r.data - r.sig), m((r) => r.exit)].join('\t'))
  console.log(`  data GET per run: ${results[b].map((r) => r.data.toFixed(0)).join(' ')}`)
}
