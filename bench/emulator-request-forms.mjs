// What each request form costs the storage emulators (#25): the forms the kit sends for a small-object sync
// against the forms rclone 1.60 sends for the same thing (captured with `rclone -vv --dump headers`), each
// fired at the running emulator from one keep-alive client (node:http, 8 sockets), sequentially and 8 at once.
// Reported per form: wall time per request and the emulator's own CPU per request (utime + stime of its
// process from /proc, before and after: the emulators are single Node processes, the bottleneck on 2 cores).
// The objects: the small-objects workload (5,000 files of 100 B to 20 KB in 50 directories, the same sizes),
// written first (untimed) by `ore storage sync -r` under a fresh prefix, purged at the end with `rclone purge`
// (the GCS emulator scans every object it holds for each listing: leftovers would slow every later run).
// Run under the bench lock:
//   flock /tmp/bench.lock node bench/emulator-request-forms.mjs [gcs|azure]
//   EMU_FORMS_ONLY (get or list)   EMU_FORMS_PASSES (rotated passes, default 3)
//   EMU_FORMS_N (GETs per form and mode, default 2000)   EMU_FORMS_LISTS (whole listings per form, default 10)
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {Agent, request} from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startEmulators} from './lib/emulators.mjs'
import {writeSmallTree} from './lib/small-tree.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const which = process.argv[2] ?? 'gcs'
const N = Number(process.env.EMU_FORMS_N ?? 2000)
const LISTS = Number(process.env.EMU_FORMS_LISTS ?? 10)
const prefix = `emulator-request-forms-${Date.now().toString(36)}/`
const service = which === 'gcs' ? 'gcs' : 'azurite'
const env = startEmulators('emulator-request-forms', [service])[service]
const pid = readFileSync(join(root, '.services', service, `${service}.pid`), 'utf8').trim()
const ticks = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
}

// The workload of bench/small-objects.mjs, synced to the prefix.
const work = mkdtempSync(join(tmpdir(), 'emu-forms-'))
writeSmallTree(work, 5000)
const target =
  which === 'gcs'
    ? ['--gcs-endpoint', env.MANTLE_TEST_GCS_ENDPOINT, `gs://${env.MANTLE_TEST_GCS_BUCKET}/${prefix}`]
    : [`az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/${prefix}`]
const filled = spawnSync(
  process.execPath,
  [join(root, 'packages/ore/bin/run.cjs'), 'storage', 'sync', '-r', '--log-level', 'warn', `${work}/`, ...target],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: which === 'gcs' ? process.env : {...process.env, AZURE_STORAGE_CONNECTION_STRING: env.MANTLE_TEST_AZURE_CONNECTION_STRING},
  },
)
rmSync(work, {recursive: true, force: true})
if (filled.status !== 0) throw new Error(`ore storage sync to ${target.at(-1)} failed`)

const agent = new Agent({keepAlive: true, maxSockets: 8})

function get(url, headers = {}, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers, agent}, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        if (res.statusCode >= 300) reject(new Error(`${method} ${url}: ${res.statusCode}`))
        else resolve(Buffer.concat(chunks))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Runs `jobs` (functions returning promises) `width` at a time; wall ms and emulator CPU ms. */
async function measure(jobs, width) {
  const cpu0 = ticks()
  const t0 = process.hrtime.bigint()
  let next = 0
  await Promise.all(
    Array.from({length: width}, async () => {
      while (next < jobs.length) await jobs[next++]()
    }),
  )
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  return {wall, cpu: (ticks() - cpu0) * 10}
}

/** Per form and width: each pass's wall and emulator CPU ms per request (or listing). */
const results = new Map()
const median = (xs) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]
const ONLY = process.env.EMU_FORMS_ONLY // get or list
const PASSES = Number(process.env.EMU_FORMS_PASSES ?? 3)
/** Each form of `forms` ([name, jobs]) in turn, PASSES times, the order rotated each pass (no form always first). */
async function rotate(forms, kind = 'get') {
  if (ONLY && ONLY !== kind) return
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < forms.length; i++) await form(...forms[(i + pass) % forms.length])
  }
}
async function form(name, jobs, widths = [1, 8], per = jobs.length) {
  await measure(jobs.slice(0, Math.min(50, jobs.length)), 8) // warm: connections, JIT
  for (const w of widths) {
    const {wall, cpu} = await measure(jobs, w)
    const key = `${name} | ${w} | ${per}`
    if (!results.has(key)) results.set(key, [])
    results.get(key).push({wall: wall / per, cpu: cpu / per})
    process.stderr.write(`| ${key} | ${(wall / per).toFixed(3)} | ${(cpu / per).toFixed(3)} |\n`)
  }
}

if (which === 'gcs') {
  const base = `${env.MANTLE_TEST_GCS_ENDPOINT}/storage/v1/b/${env.MANTLE_TEST_GCS_BUCKET}`
  const dl = `${env.MANTLE_TEST_GCS_ENDPOINT}/download/storage/v1/b/${env.MANTLE_TEST_GCS_BUCKET}`
  const items = []
  for (let token; ;) {
    const page = JSON.parse(
      await get(`${base}/o?prefix=${encodeURIComponent(prefix)}&maxResults=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`),
    )
    items.push(...(page.items ?? []))
    if (!(token = page.nextPageToken)) break
  }
  const objs = Array.from({length: N}, (_, i) => items[i % items.length])
  const enc = (o) => encodeURIComponent(o.name)
  await rotate([
    [
      'GET ours: /storage/v1 alt=media&generation, Range bytes=0-(n-1)',
      objs.map(
        (o) => () =>
          get(`${base}/o/${enc(o)}?alt=media&generation=${o.generation}`, {range: `bytes=0-${o.size - 1}`, 'accept-encoding': 'identity'}),
      ),
    ],
    [
      'GET rclone: /download/storage/v1 generation&alt=media, no Range',
      objs.map((o) => () => get(`${dl}/o/${enc(o)}?generation=${o.generation}&alt=media`, {'accept-encoding': 'gzip'})),
    ],
    [
      'GET /storage/v1 alt=media&generation, no Range',
      objs.map((o) => () => get(`${base}/o/${enc(o)}?alt=media&generation=${o.generation}`, {'accept-encoding': 'identity'})),
    ],
  ])
  const flat = (max) => async () => {
    for (let token; ;) {
      const page = JSON.parse(
        await get(
          `${base}/o?prefix=${encodeURIComponent(prefix)}&maxResults=${max}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
        ),
      )
      if (!(token = page.nextPageToken)) break
    }
  }
  const dirs = [...new Set(items.map((o) => o.name.slice(0, o.name.indexOf('/', prefix.length) + 1)))]
  const perDir = (width) => async () => {
    await get(`${base}/o?alt=json&delimiter=%2F&maxResults=1000&prefix=${encodeURIComponent(prefix)}&prettyPrint=false`)
    await measure(
      dirs.map((d) => () => get(`${base}/o?alt=json&delimiter=%2F&maxResults=1000&prefix=${encodeURIComponent(d)}&prettyPrint=false`)),
      width,
    )
  }
  const lists = (f) => Array.from({length: LISTS}, () => f)
  await rotate(
    [
      ['LIST ours: flat, maxResults=1000 (5 pages)', lists(flat(1000)), [1], LISTS],
      ['LIST flat, maxResults=5000 (1 page)', lists(flat(5000)), [1], LISTS],
      [`LIST rclone: per directory, delimiter, maxResults=1000 (${dirs.length + 1} requests, 8 at once)`, lists(perDir(8)), [1], LISTS],
    ],
    'list',
  )
} else {
  const {azureHeaders} = await import(join(root, 'packages/kit/dist/storage/azure-rest.js'))
  const rest = {
    containerUrl: `${env.MANTLE_TEST_AZURE_ENDPOINT}/${env.MANTLE_TEST_AZURE_CONTAINER}`,
    sharedKey: {account: env.MANTLE_TEST_AZURE_ACCOUNT, key: Buffer.from(env.MANTLE_TEST_AZURE_KEY, 'base64')},
  }
  const signed = (url, headers = {}) => get(url, azureHeaders(rest, 'GET', url, headers))
  const listUrl = (q) =>
    `${rest.containerUrl}?${Object.entries({restype: 'container', comp: 'list', ...q})
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&')}`
  const parse = (xml) =>
    [
      ...xml
        .toString()
        .matchAll(/<Blob><Name>([^<]*)<\/Name>[\s\S]*?<Content-Length>(\d+)<\/Content-Length>[\s\S]*?<Etag>([^<]*)<\/Etag>/g),
    ].map((m) => ({name: m[1], size: Number(m[2]), etag: m[3]}))
  const sample = await signed(listUrl({prefix, maxresults: '5000'}))
  const etags = new Map(
    [...sample.toString().matchAll(/<Name>([^<]*)<\/Name><Properties>[\s\S]*?<Etag>([^<]*)<\/Etag>/g)].map((m) => [m[1], m[2]]),
  )
  const items = parse(sample).map((o) => ({...o, etag: etags.get(o.name) ?? o.etag}))
  if (items.length === 0) throw new Error(`no blobs under ${prefix}`)
  const objs = Array.from({length: N}, (_, i) => items[i % items.length])
  const blob = (o) => `${rest.containerUrl}/${o.name.split('/').map(encodeURIComponent).join('/')}`
  await rotate([
    [
      'Get Blob ours: Range bytes=0-(n-1), If-Match',
      objs.map((o) => () => signed(blob(o), {range: `bytes=0-${o.size - 1}`, 'if-match': o.etag})),
    ],
    ['Get Blob rclone: no Range, no If-Match', objs.map((o) => () => signed(blob(o)))],
    ['Get Blob If-Match, no Range', objs.map((o) => () => signed(blob(o), {'if-match': o.etag}))],
    ['Get Blob Range, no If-Match', objs.map((o) => () => signed(blob(o), {range: `bytes=0-${o.size - 1}`}))],
  ])
  const dirs = [...new Set(items.map((o) => o.name.slice(0, o.name.indexOf('/', prefix.length) + 1)))]
  const lists = (f) => Array.from({length: LISTS}, () => f)
  const flat = (q) => async () => {
    for (let marker; ;) {
      const xml = (await signed(listUrl({prefix, ...q, ...(marker ? {marker} : {})}))).toString()
      if (!(marker = /<NextMarker>([^<]+)<\/NextMarker>/.exec(xml)?.[1])) break
    }
  }
  const perDir = (width, q) => async () => {
    await signed(listUrl({prefix, delimiter: '/', ...q}))
    await measure(
      dirs.map((d) => () => signed(listUrl({prefix: d, delimiter: '/', ...q}))),
      width,
    )
  }
  const n = dirs.length + 1
  await rotate(
    [
      ['List Blobs ours: flat, maxresults=5000', lists(flat({maxresults: '5000'})), [1], LISTS],
      ['List Blobs flat, maxresults=5000, include=metadata', lists(flat({maxresults: '5000', include: 'metadata'})), [1], LISTS],
      [
        `List Blobs rclone: per directory, delimiter, include=metadata, maxresults=5000 (${n} requests, 8 at once)`,
        lists(perDir(8, {include: 'metadata', maxresults: '5000'})),
        [1],
        LISTS,
      ],
      [
        `List Blobs per directory, delimiter, maxresults=5000 (${n} requests, 8 at once)`,
        lists(perDir(8, {maxresults: '5000'})),
        [1],
        LISTS,
      ],
      [
        `List Blobs per directory, delimiter, maxresults=5000 (${n} requests, 2 at once)`,
        lists(perDir(2, {maxresults: '5000'})),
        [1],
        LISTS,
      ],
    ],
    'list',
  )
}
agent.destroy()
const purged = spawnSync(
  'rclone',
  ['purge', '-q', which === 'gcs' ? `gs:${env.MANTLE_TEST_GCS_BUCKET}/${prefix}` : `az:${env.MANTLE_TEST_AZURE_CONTAINER}/${prefix}`],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      ...(which === 'gcs'
        ? {
            RCLONE_CONFIG_GS_TYPE: 'google cloud storage',
            RCLONE_CONFIG_GS_ANONYMOUS: 'true',
            RCLONE_CONFIG_GS_ENDPOINT: `${env.MANTLE_TEST_GCS_ENDPOINT}/storage/v1/`,
          }
        : {
            RCLONE_CONFIG_AZ_TYPE: 'azureblob',
            RCLONE_CONFIG_AZ_USE_EMULATOR: 'true',
            RCLONE_CONFIG_AZ_ENDPOINT: env.MANTLE_TEST_AZURE_ENDPOINT,
          }),
    },
  },
)
if (purged.status !== 0) process.stderr.write(`emulator-request-forms: rclone purge of ${prefix} failed\n`)
process.stdout.write(
  `${which}: ${new Date().toISOString()}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}\n`,
)
process.stdout.write(
  '| form | at once | requests (or listings) per pass | wall ms each, median (passes) | emulator CPU ms each, median (passes) |\n|---|---|---|---|---|\n',
)
for (const [key, xs] of results) {
  const show = (f) => `${median(xs.map(f)).toFixed(3)} (${xs.map((x) => f(x).toFixed(2)).join(', ')})`
  process.stdout.write(`| ${key} | ${show((x) => x.wall)} | ${show((x) => x.cpu)} |\n`)
}
