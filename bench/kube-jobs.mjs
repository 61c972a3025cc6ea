// Parallel test Jobs in `kola kube run-tests`: ten independent script tests
// of 5 s each (`sleep 5` in the local busybox image) with a parallelism cap
// of 5, against the same ten run one at a time (--parallelism 1). Both run on
// the cluster of scripts/services/kube.sh through the kubeconfig deployer, so
// each run costs a namespace, not a cluster. Wall time of the whole command
// (namespace, Jobs, logs, namespace deletion), alternating, `pairs` times.
// Goal: parallel <= 0.3x sequential (medians). Also printed: the cluster's
// own overhead per Job, from submission until its container runs (median of
// the sequential runs' Jobs, where no Job waits for another), and the same
// in the parallel runs (five pods starting at once on the same node).
//
//   node bench/kube-jobs.mjs [pairs=1]
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kola = join(root, 'packages', 'kola', 'bin', 'run.cjs')
const env = {...process.env}
for (const line of readFileSync(join(root, '.services', 'kube.env'), 'utf8').split('\n')) {
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
  if (m) env[m[1]] = m[2]
}
const pairs = Number(process.argv[2] ?? 1)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const dir = await mkdtemp(join(tmpdir(), 'kube-jobs-'))
const project = join(dir, 'project')
await mkdir(join(project, 'tests'), {recursive: true})
await writeFile(join(project, 'kola-tests.yaml'), 'timeout: 300\n')
for (let i = 0; i < 10; i++) await writeFile(join(project, 'tests', `sleep-${i}.sh`), 'sleep 5\n')

function runOnce(parallelism) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(
    process.execPath,
    [
      kola,
      'kube',
      'run-tests',
      '--deployer',
      'kubeconfig',
      '--kubeconfig',
      env.KUBECONFIG,
      '--output-dir',
      join(dir, `out-${parallelism}`),
      '--parallelism',
      String(parallelism),
      '--json',
      project,
    ],
    {env, encoding: 'utf8'},
  )
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0)
    throw new Error(`run-tests --parallelism ${parallelism} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const result = JSON.parse(r.stdout)
  return {seconds, starts: result.tests.map((t) => t.startSeconds).filter((s) => s !== undefined)}
}

const par = []
const seq = []
const starts = []
const parStarts = []
try {
  for (let i = 0; i < pairs; i++) {
    const p = runOnce(5)
    par.push(p.seconds)
    parStarts.push(...p.starts)
    const s = runOnce(1)
    seq.push(s.seconds)
    starts.push(...s.starts)
    console.log(`pair ${i + 1}: parallel 5 ${p.seconds.toFixed(1)} s, one at a time ${s.seconds.toFixed(1)} s`)
  }
} finally {
  await rm(dir, {recursive: true, force: true})
}
const ratio = median(par) / median(seq)
console.log(
  `kube-jobs: 10 Jobs of 5 s; parallelism 5 ${median(par).toFixed(1)} s, one at a time ${median(seq).toFixed(1)} s: ${ratio.toFixed(2)}x (goal <= 0.30x) ${ratio <= 0.3 ? 'MET' : 'MISSED'}`,
)
console.log(`cluster overhead per Job (submission to running, median of ${starts.length}): ${median(starts).toFixed(2)} s`)
console.log(`the same with 5 at once (median of ${parStarts.length}): ${median(parStarts).toFixed(2)} s`)
if (ratio > 0.3) process.exitCode = 1
