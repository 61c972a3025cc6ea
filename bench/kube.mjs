// kola's overhead on a Kubernetes test run: `kola kube exec -- true` on the
// local deployer (up, a namespace for the run, the script, log dump, down)
// against the bare cluster script doing the same start and stop
// (packages/kola/assets/kube/cluster.sh start DIR; cluster.sh stop DIR), the
// one scripts/services/kube.sh runs. Same binaries, same images (busybox and
// node), each on its own ports and names; the two alternate, in one run, so
// both see the same machine load. Goal: kola <= 1.10x bare (medians).
//
// "warm" is with the binaries and image tarballs cached (every run after the
// first); "cold" adds building the binaries from Debian's source (build.sh
// into an empty MANTLE_KUBE_CACHE): that one is measured once, with
// `node bench/kube.mjs cold` (~10 minutes on 2 busy cores).
//
//   node bench/kube.mjs [pairs=3]
//   node bench/kube.mjs cold
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const assets = join(root, 'packages', 'kola', 'assets', 'kube')
const kola = join(root, 'packages', 'kola', 'bin', 'run.cjs')

function run(command, args, env) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(command, args, {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return {seconds, stdout: r.stdout}
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

if (process.argv[2] === 'cold') {
  const cache = await mkdtemp(join(tmpdir(), 'kube-cold-'))
  try {
    const build = run('bash', [join(assets, 'build.sh')], {...process.env, MANTLE_KUBE_CACHE: cache})
    console.log(`cold build (binaries from Debian source, empty cache): ${build.seconds.toFixed(0)} s`)
  } finally {
    await rm(cache, {recursive: true, force: true})
  }
  process.exit(0)
}

const pairs = Number(process.argv[2] ?? 3)
const bin = run('bash', [join(assets, 'build.sh')], process.env)
  .stdout.trim()
  .split('\n')
  .pop()
console.log(`binaries: ${bin}`)
const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
const bare = []
const ours = []
for (let i = 0; i < pairs; i++) {
  const dir = await mkdtemp(join(tmpdir(), 'kube-bench-'))
  try {
    const env = {...process.env, MANTLE_KUBE_BIN: bin, MANTLE_KUBE_NAME: 'kbench', MANTLE_KUBE_PORT_BASE: '23400', MANTLE_KUBE_SUBNET: '98'}
    const t0 = process.hrtime.bigint()
    run('bash', [join(assets, 'cluster.sh'), 'start', join(dir, 'bare')], env)
    run('bash', [join(assets, 'cluster.sh'), 'stop', join(dir, 'bare')], env)
    bare.push(Number(process.hrtime.bigint() - t0) / 1e9)
    ours.push(
      run(process.execPath, [kola, 'kube', 'exec', '--local-bin', bin, '--output-dir', join(dir, 'kola'), '--', 'true'], process.env)
        .seconds,
    )
    console.log(`pair ${i + 1}: bare ${bare.at(-1).toFixed(1)} s, kola ${ours.at(-1).toFixed(1)} s (load ${loadAvg()})`)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}
const ratio = median(ours) / median(bare)
console.log(
  `\nwarm (median of ${pairs}): bare cluster.sh start+stop ${median(bare).toFixed(1)} s, kola kube exec -- true ${median(ours).toFixed(1)} s, ratio ${ratio.toFixed(2)}x (goal <= 1.10x)`,
)
if (existsSync('/proc/loadavg')) console.log(`load average at the end: ${loadAvg()}`)
