// Storage benchmark: upload and download one large file to each storage
// emulator with our storage layer (packages/kit) and with rclone, against
// the same emulator, in one run. Each operation runs in its own process
// (`node` for ours, `rclone` for rclone), so process start is counted for
// both; within a round the two alternate (ours first on even rounds, rclone
// first on odd ones) so machine load affects both alike. Downloads are
// checked against the file's MD5 (not timed). Figures are medians in MB/s
// (10^6 bytes); ratio = ours / rclone (goal: >= 1).
//   STORAGE_BENCH_BYTES   (default 1 GiB)
//   STORAGE_BENCH_GCS_BYTES (default 120 MiB: the firebase emulator refuses bodies over ~130 MB)
//   STORAGE_BENCH_ROUNDS  (default 2)
//   STORAGE_BENCH_ONLY    (e.g. "s3,azure")
// The emulators are started first (scripts/services/<name>.sh start, idempotent, as the cork-enter
// benchmark starts dockerd) and found through the .services/<name>.env each writes; one that is not
// running afterwards is named, and the benchmark exits 1 (as it does when one of our operations fails).
//   STORAGE_BENCH_SERVICES, STORAGE_BENCH_STATE: other directories of service scripts and of their
//   .env files (for the benchmark's own test)
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {serviceEnv, startEmulators} from './lib/emulators.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bytes = Number(process.env.STORAGE_BENCH_BYTES ?? 1024 ** 3)
const gcsBytes = Math.min(bytes, Number(process.env.STORAGE_BENCH_GCS_BYTES ?? 120 * 1024 ** 2))
const rounds = Number(process.env.STORAGE_BENCH_ROUNDS ?? 2)
const only = process.env.STORAGE_BENCH_ONLY?.split(',')
// The storage layer's own entry: the kit's index also loads oclif, which a CLI needs and a transfer does not.
const kit = join(root, 'packages', 'kit', 'dist', 'storage', 'index.js')

const servicesDir = process.env.STORAGE_BENCH_SERVICES ?? join(root, 'scripts', 'services')
const stateDir = process.env.STORAGE_BENCH_STATE ?? join(root, '.services')

// Each emulator the run wants, started (or found running) before anything is measured.
const SERVICES = [
  {service: 'radosgw', backend: 's3 (radosgw)'},
  {service: 'azurite', backend: 'azure (azurite)'},
  {service: 'gcs', backend: 'gcs (firebase emulator)'},
]
startEmulators(
  'storage bench',
  SERVICES.filter((x) => !only || only.some((o) => x.backend.startsWith(o))).map((x) => x.service),
  {servicesDir, stateDir},
)

// rclone's S3 SDK refuses to start when AWS_CA_BUNDLE is set; nothing here uses TLS.
const baseEnv = {...process.env}
delete baseEnv.AWS_CA_BUNDLE

const backends = []
const s3 = serviceEnv('radosgw', stateDir)
if (s3) {
  backends.push({
    name: 's3 (radosgw)',
    size: bytes,
    url: `s3://${s3.MANTLE_TEST_S3_BUCKET}/bench/`,
    options: {
      s3: {
        endpoint: s3.MANTLE_TEST_S3_ENDPOINT,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: {accessKeyId: s3.MANTLE_TEST_S3_ACCESS_KEY, secretAccessKey: s3.MANTLE_TEST_S3_SECRET_KEY},
      },
    },
    remote: `rgw:${s3.MANTLE_TEST_S3_BUCKET}/bench/`,
    rclone: {
      RCLONE_CONFIG_RGW_TYPE: 's3',
      RCLONE_CONFIG_RGW_PROVIDER: 'Ceph',
      RCLONE_CONFIG_RGW_ENDPOINT: s3.MANTLE_TEST_S3_ENDPOINT,
      RCLONE_CONFIG_RGW_ACCESS_KEY_ID: s3.MANTLE_TEST_S3_ACCESS_KEY,
      RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: s3.MANTLE_TEST_S3_SECRET_KEY,
    },
  })
}
const az = serviceEnv('azurite', stateDir)
if (az) {
  backends.push({
    name: 'azure (azurite)',
    size: bytes,
    url: `az://${az.MANTLE_TEST_AZURE_ACCOUNT}/${az.MANTLE_TEST_AZURE_CONTAINER}/bench/`,
    options: {azure: {connectionString: az.MANTLE_TEST_AZURE_CONNECTION_STRING}},
    remote: `az:${az.MANTLE_TEST_AZURE_CONTAINER}/bench/`,
    // rclone 1.60: use_emulator plus the full endpoint URL.
    rclone: {
      RCLONE_CONFIG_AZ_TYPE: 'azureblob',
      RCLONE_CONFIG_AZ_USE_EMULATOR: 'true',
      RCLONE_CONFIG_AZ_ENDPOINT: az.MANTLE_TEST_AZURE_ENDPOINT,
    },
  })
}
const gcs = serviceEnv('gcs', stateDir)
if (gcs) {
  backends.push({
    name: 'gcs (firebase emulator)',
    size: gcsBytes,
    url: `gs://${gcs.MANTLE_TEST_GCS_BUCKET}/bench/`,
    options: {gcs: {apiEndpoint: gcs.MANTLE_TEST_GCS_ENDPOINT, clientOptions: {projectId: 'mantle-test'}}},
    remote: `gs:${gcs.MANTLE_TEST_GCS_BUCKET}/bench/`,
    rclone: {
      RCLONE_CONFIG_GS_TYPE: 'google cloud storage',
      RCLONE_CONFIG_GS_ANONYMOUS: 'true',
      RCLONE_CONFIG_GS_ENDPOINT: `${gcs.MANTLE_TEST_GCS_ENDPOINT}/storage/v1/`,
    },
  })
}

const work = mkdtempSync(join(tmpdir(), 'storage-bench-'))

async function makeFile(size) {
  const file = join(work, `data-${size}.bin`)
  const hash = createHash('md5')
  const ws = createWriteStream(file)
  for (let left = size; left > 0;) {
    const chunk = randomBytes(Math.min(left, 16 * 1024 * 1024))
    hash.update(chunk)
    if (!ws.write(chunk)) await new Promise((r) => ws.once('drain', r))
    left -= chunk.length
  }
  await new Promise((r) => ws.end(r))
  return {file, md5: hash.digest('hex')}
}

/** The last line a failed tool printed, without rclone's timestamp: one line for a table cell. */
const lastLine = (text) =>
  text
    .trim()
    .split('\n')
    .at(-1)
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')

function run(cmd, args, env) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ms: Number(process.hrtime.bigint() - started) / 1e6, code, stderr: lastLine(stderr)}))
  })
}

const oursScript = `
const {openBucket, readToFile} = await import(${JSON.stringify(kit)})
const {createReadStream, statSync} = await import('node:fs')
const [op, url, key, file] = process.argv.slice(1)
const bucket = await openBucket(url, JSON.parse(process.env.BENCH_OPTIONS))
if (op === 'upload') await bucket.write(key, createReadStream(file, {highWaterMark: 1024 * 1024}), {size: statSync(file).size})
else await readToFile(bucket, key, file)
`

const cleanupScript = `
const {openBucket} = await import(${JSON.stringify(kit)})
const [url, ...keys] = process.argv.slice(1)
const bucket = await openBucket(url, JSON.parse(process.env.BENCH_OPTIONS))
for (const key of keys) await bucket.delete(key).catch(() => undefined)
`

async function md5File(file) {
  const hash = createHash('md5')
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return hash.digest('hex')
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const rows = []
for (const b of backends.filter((x) => !only || only.some((o) => x.name.startsWith(o)))) {
  const {file, md5} = await makeFile(b.size)
  const out = join(work, 'out.bin')
  const times = {ours: {upload: [], download: []}, rclone: {upload: [], download: []}}
  const errors = {}
  const impls = {
    ours: {
      upload: () =>
        run(process.execPath, ['--input-type=module', '-e', oursScript, 'upload', b.url, keyOf(b, 'ours.bin'), file], {
          ...baseEnv,
          BENCH_OPTIONS: JSON.stringify(b.options),
        }),
      download: () =>
        run(process.execPath, ['--input-type=module', '-e', oursScript, 'download', b.url, keyOf(b, 'ours.bin'), out], {
          ...baseEnv,
          BENCH_OPTIONS: JSON.stringify(b.options),
        }),
    },
    rclone: {
      upload: () => run('rclone', ['copyto', '-q', '--ignore-times', file, `${b.remote}rclone.bin`], {...baseEnv, ...b.rclone}),
      // If rclone could not upload (the GCS emulator), it downloads the object ours wrote.
      download: () =>
        run('rclone', ['copyto', '-q', '--ignore-times', `${b.remote}${errors['rclone upload'] ? 'ours' : 'rclone'}.bin`, out], {
          ...baseEnv,
          ...b.rclone,
        }),
    },
  }
  for (let round = 0; round < rounds; round++) {
    for (const op of ['upload', 'download']) {
      const order = round % 2 === 0 ? ['ours', 'rclone'] : ['rclone', 'ours']
      for (const impl of order) {
        if (errors[`${impl} ${op}`]) continue
        rmSync(out, {force: true})
        const r = await impls[impl][op]()
        if (r.code !== 0) {
          errors[`${impl} ${op}`] = r.stderr
          process.stderr.write(`storage bench: ${b.name} ${impl} ${op} failed: ${r.stderr}\n`)
          continue
        }
        if (op === 'download' && (!existsSync(out) || (await md5File(out)) !== md5)) {
          errors[`${impl} ${op}`] = 'downloaded bytes differ'
          process.stderr.write(`storage bench: ${b.name} ${impl} ${op}: the downloaded file differs\n`)
          continue
        }
        times[impl][op].push(r.ms)
        process.stderr.write(
          `storage bench: ${b.name} round ${round + 1} ${impl} ${op}: ${(b.size / 1e6 / (r.ms / 1000)).toFixed(1)} MB/s\n`,
        )
      }
    }
  }
  for (const op of ['upload', 'download']) {
    const rate = (impl) => (times[impl][op].length ? b.size / 1e6 / (median(times[impl][op]) / 1000) : undefined)
    const ours = rate('ours')
    const rc = rate('rclone')
    rows.push({
      backend: b.name,
      size: `${(b.size / 1024 ** 2).toFixed(0)} MiB`,
      op,
      ours: ours?.toFixed(1) ?? `failed (${errors[`ours ${op}`]})`,
      rclone: rc?.toFixed(1) ?? `failed (${errors[`rclone ${op}`]})`,
      ratio: ours && rc ? (ours / rc).toFixed(2) : '-',
    })
  }
  // Free the emulator's memory for the next backend (radosgw's store is in RAM).
  await run(process.execPath, ['--input-type=module', '-e', cleanupScript, b.url, keyOf(b, 'ours.bin'), keyOf(b, 'rclone.bin')], {
    ...baseEnv,
    BENCH_OPTIONS: JSON.stringify(b.options),
  })
  rmSync(file, {force: true})
  rmSync(out, {force: true})
}
rmSync(work, {recursive: true, force: true})

/** A key relative to the bucket root: the URL's path after the bucket (or account and container). */
function keyOf(b, name) {
  const u = b.url.replace(/^[a-z0-9]+:\/\//, '')
  const parts = u.split('/')
  // s3://bucket/p/ and gs://bucket/p/: drop the bucket; az://account/container/p/: drop both.
  return parts.slice(b.url.startsWith('az:') ? 2 : 1).join('/') + name
}

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
process.stdout.write(`storage benchmark: ${rounds} rounds, medians in MB/s, load average ${load}\n`)
process.stdout.write('| backend | size | op | ours MB/s | rclone MB/s | ours/rclone |\n|---|---|---|---|---|---|\n')
for (const r of rows) process.stdout.write(`| ${r.backend} | ${r.size} | ${r.op} | ${r.ours} | ${r.rclone} | ${r.ratio} |\n`)
// A table with a failure of ours in it is not a result.
if (rows.length === 0 || rows.some((r) => r.ours.startsWith('failed'))) process.exitCode = 1
