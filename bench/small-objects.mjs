// Small-objects benchmark (#25): 5,000 files of 100 B to 20 KB in 50 directories (generated, fixed
// seed of sizes), synced with `ore storage sync -r` and with `rclone sync` on each emulator,
// both directions: directory to bucket (first sync into an empty prefix, then a re-sync with
// nothing to do) and bucket to directory (the same two). Whole processes both (process start
// counts); each round the two alternate (ours first on even rounds) and each writes its own
// fresh prefix / directory; medians. Goal: first sync <= 1.0x rclone's time, re-sync <= 0.7x.
// A re-sync must list the bucket whatever the tool: each round also times `rclone lsf -R` of the
// bucket prefix alone (one flat listing, --fast-list), the floor of any re-sync, printed beside the re-sync rows.
// Each round's prefix is purged (untimed) before the next round: every measurement sees the same store.
//   SMALL_BENCH_ROUNDS (default 3)   SMALL_BENCH_FILES (default 5000)   SMALL_BENCH_ONLY (s3,azure,gcs)
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startEmulators} from './lib/emulators.mjs'
import {writeSmallTree} from './lib/small-tree.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const rounds = Number(process.env.SMALL_BENCH_ROUNDS ?? 3)
const fileCount = Number(process.env.SMALL_BENCH_FILES ?? 5000)
const only = process.env.SMALL_BENCH_ONLY?.split(',')
const ore = join(root, 'packages', 'ore', 'bin', 'run.cjs')
const SERVICES = [
  {service: 'radosgw', backend: 's3'},
  {service: 'azurite', backend: 'azure'},
  {service: 'gcs', backend: 'gcs'},
].filter((x) => !only || only.includes(x.backend))
const envs = startEmulators(
  'small-objects bench',
  SERVICES.map((x) => x.service),
)

const baseEnv = {...process.env}
delete baseEnv.AWS_CA_BUNDLE
const backends = []
for (const {service, backend} of SERVICES) {
  const e = envs[service]
  if (backend === 's3') {
    backends.push({
      name: 's3 (radosgw)',
      url: (p) => `s3://${e.MANTLE_TEST_S3_BUCKET}/${p}`,
      ours: ['--s3-endpoint', e.MANTLE_TEST_S3_ENDPOINT],
      oursEnv: {
        AWS_ACCESS_KEY_ID: e.MANTLE_TEST_S3_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: e.MANTLE_TEST_S3_SECRET_KEY,
        AWS_REGION: 'us-east-1',
      },
      remote: (p) => `rgw:${e.MANTLE_TEST_S3_BUCKET}/${p}`,
      rclone: {
        RCLONE_CONFIG_RGW_TYPE: 's3',
        RCLONE_CONFIG_RGW_PROVIDER: 'Ceph',
        RCLONE_CONFIG_RGW_ENDPOINT: e.MANTLE_TEST_S3_ENDPOINT,
        RCLONE_CONFIG_RGW_ACCESS_KEY_ID: e.MANTLE_TEST_S3_ACCESS_KEY,
        RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: e.MANTLE_TEST_S3_SECRET_KEY,
      },
    })
  } else if (backend === 'azure') {
    backends.push({
      name: 'azure (azurite)',
      url: (p) => `az://${e.MANTLE_TEST_AZURE_ACCOUNT}/${e.MANTLE_TEST_AZURE_CONTAINER}/${p}`,
      ours: [],
      oursEnv: {AZURE_STORAGE_CONNECTION_STRING: e.MANTLE_TEST_AZURE_CONNECTION_STRING},
      remote: (p) => `az:${e.MANTLE_TEST_AZURE_CONTAINER}/${p}`,
      rclone: {
        RCLONE_CONFIG_AZ_TYPE: 'azureblob',
        RCLONE_CONFIG_AZ_USE_EMULATOR: 'true',
        RCLONE_CONFIG_AZ_ENDPOINT: e.MANTLE_TEST_AZURE_ENDPOINT,
      },
    })
  } else {
    backends.push({
      name: 'gcs (firebase emulator)',
      url: (p) => `gs://${e.MANTLE_TEST_GCS_BUCKET}/${p}`,
      ours: ['--gcs-endpoint', e.MANTLE_TEST_GCS_ENDPOINT],
      oursEnv: {},
      remote: (p) => `gs:${e.MANTLE_TEST_GCS_BUCKET}/${p}`,
      rclone: {
        RCLONE_CONFIG_GS_TYPE: 'google cloud storage',
        RCLONE_CONFIG_GS_ANONYMOUS: 'true',
        RCLONE_CONFIG_GS_ENDPOINT: `${e.MANTLE_TEST_GCS_ENDPOINT}/storage/v1/`,
      },
    })
  }
}

// The workload (bench/lib/small-tree.mjs): every run has the same 58-odd MB.
const work = mkdtempSync(join(tmpdir(), 'small-bench-'))
const tree = join(work, 'tree')
const total = writeSmallTree(tree, fileCount)
process.stderr.write(`small-objects bench: ${fileCount} files, ${(total / 1e6).toFixed(1)} MB, load ${loadavg()[0].toFixed(1)}\n`)

const lastLine = (text) =>
  text
    .trim()
    .split('\n')
    .at(-1)
    ?.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '') ?? ''
function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - started) / 1e6)
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${lastLine(stderr)}`))
    })
  })
}

const oursSync = (b, from, to) =>
  run(process.execPath, [ore, 'storage', 'sync', '-r', '--log-level', 'warn', ...b.ours, from, to], {...baseEnv, ...b.oursEnv})
const rcloneSync = (b, from, to) => run('rclone', ['sync', '-q', from, to], {...baseEnv, ...b.rclone})
const rcloneList = (b, remote) => run('rclone', ['lsf', '-R', '--fast-list', '--files-only', '-q', remote], {...baseEnv, ...b.rclone})
const OPS = ['upload first', 'upload re-sync', 'download first', 'download re-sync']
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const rows = []
const runId = `small-bench-${Date.now().toString(36)}`
for (const b of backends) {
  const times = Object.fromEntries(['ours', 'rclone'].map((impl) => [impl, Object.fromEntries(OPS.map((op) => [op, []]))]))
  const listing = []
  const failures = new Set()
  for (let round = 0; round < rounds; round++) {
    for (const impl of round % 2 === 0 ? ['ours', 'rclone'] : ['rclone', 'ours']) {
      const prefix = `${runId}/${impl}-${round}/`
      const down = join(work, `${impl}-${round}`)
      const sync = impl === 'ours' ? (f, t) => oursSync(b, f, t) : (f, t) => rcloneSync(b, f, t)
      const remote = impl === 'ours' ? b.url(prefix) : b.remote(prefix)
      const t = times[impl]
      try {
        t['upload first'].push(await sync(tree + '/', remote))
        t['upload re-sync'].push(await sync(tree + '/', remote))
      } catch (error) {
        // rclone 1.60 cannot upload to the GCS emulator (its multipart body has a part without a content
        // type, which the emulator refuses): no upload figure, and the prefix is filled by ours, untimed,
        // so that its download is still measured.
        if (impl !== 'rclone') throw error
        failures.add(`rclone upload: ${error.message.replace(/^.*: exit/, 'exit')}`)
        await run('rclone', ['purge', remote], {...baseEnv, ...b.rclone}).catch(() => undefined)
        await oursSync(b, tree + '/', b.url(prefix))
      }
      if (impl === 'rclone') listing.push(await rcloneList(b, remote))
      t['download first'].push(await sync(remote, down + '/'))
      t['download re-sync'].push(await sync(remote, down + '/'))
      rmSync(down, {recursive: true, force: true})
      // Untimed: each round's objects go before the next is measured. Azurite's operations slow down as its
      // container fills (ours took 14.6, 30.2, 39.0 s for the same first upload in rounds 1-3 of one run, each
      // round adding 10,000 blobs): without this, whoever runs later in a run is measured on a fuller store.
      await run('rclone', ['purge', b.remote(prefix)], {...baseEnv, ...b.rclone}).catch((e) =>
        process.stderr.write(`small-objects bench: cleanup: ${e.message}\n`),
      )
      process.stderr.write(
        `small-objects bench: ${b.name} round ${round + 1} ${impl}: ${OPS.map((op) => `${op} ${t[op].length > round ? `${(t[op].at(-1) / 1000).toFixed(2)} s` : 'n/a'}`).join(', ')}\n`,
      )
    }
  }
  await run('rclone', ['purge', b.remote(runId)], {...baseEnv, ...b.rclone}).catch((e) =>
    process.stderr.write(`small-objects bench: cleanup: ${e.message}\n`),
  )
  for (const op of OPS) {
    const o = median(times.ours[op])
    if (times.rclone[op].length === 0) {
      rows.push(`| ${b.name} | ${op} | ${(o / 1000).toFixed(2)} | n/a: ${[...failures].join('; ')} | | | |`)
      continue
    }
    const r = median(times.rclone[op])
    const goal = op.endsWith('re-sync') ? 0.7 : 1.0
    const floor = op.endsWith('re-sync') ? `${(median(listing) / 1000).toFixed(2)} (${(median(listing) / r).toFixed(2)}x)` : ''
    rows.push(
      `| ${b.name} | ${op} | ${(o / 1000).toFixed(2)} | ${(r / 1000).toFixed(2)} | ${(o / r).toFixed(2)}x | ${o / r <= goal ? 'met' : 'missed'} (<= ${goal}x) | ${floor} |`,
    )
  }
}
rmSync(work, {recursive: true, force: true})
process.stdout.write(
  `load average at the end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}\n`,
)
process.stdout.write(
  '| backend | operation | ours s (median) | rclone s (median) | ours/rclone | goal | listing alone, rclone lsf -R --fast-list s (/ rclone) |\n|---|---|---|---|---|---|---|\n',
)
for (const r of rows) process.stdout.write(r + '\n')
