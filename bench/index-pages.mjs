// Index-pages benchmark: `ore storage index -r` of a local tree of 100,000
// files in 5,000 directories (50 directories of 100 sub-directories of 20
// files; 5,051 directories with the root and the 50), rerun over the tree
// after a first run wrote its pages, so nothing is left to write, against
// `rclone lsf -R` over the same tree (listing every file, the least any
// index run must do). Both are whole processes; they alternate, ours first
// on even rounds; medians of wall time and of CPU time (GNU time). The rerun must write nothing (checked from
// --json, not timed). Goal: ours / rclone <= 2.
//   INDEX_BENCH_ROUNDS (default 5)
//   INDEX_BENCH_DIRS   (default 50,100: top directories, sub-directories each)
//   INDEX_BENCH_FILES  (default 20 per directory)
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const rounds = Number(process.env.INDEX_BENCH_ROUNDS ?? 5)
const [tops, subs] = (process.env.INDEX_BENCH_DIRS ?? '50,100').split(',').map(Number)
const files = Number(process.env.INDEX_BENCH_FILES ?? 20)
const ore = join(root, 'packages', 'ore', 'bin', 'run.cjs')

const work = mkdtempSync(join(tmpdir(), 'index-bench-'))
const tree = join(work, 'release')
for (let t = 0; t < tops; t++) {
  for (let s = 0; s < subs; s++) {
    const dir = join(tree, `board-${t}`, `${s}.0.0`)
    mkdirSync(dir, {recursive: true})
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `file-${f}.bin`), `${t}/${s}/${f}\n`)
  }
}

// GNU time's record of the child's CPU (user + system): on a loaded machine the wall time swings with
// the load, while the CPU a run takes does not.
const timeFile = join(work, 'time.txt')

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').at(-1)}`))
      else {
        const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number)
        resolve({ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (user + sys) * 1000, stdout})
      }
    })
  })
}

const ours = () => run(process.execPath, [ore, 'storage', 'index', '-r', '--json', '--log-level', 'warn', tree + '/'])
const rclone = () => run('rclone', ['lsf', '-R', tree])

const first = await ours()
const written = JSON.parse(first.stdout).locations[0].written.length
process.stderr.write(`index bench: first run wrote ${written} pages in ${(first.ms / 1000).toFixed(2)} s\n`)
const times = {ours: [], rclone: []}
const cpu = {ours: [], rclone: []}
for (let round = 0; round < rounds; round++) {
  for (const impl of round % 2 === 0 ? ['ours', 'rclone'] : ['rclone', 'ours']) {
    const r = await (impl === 'ours' ? ours() : rclone())
    if (impl === 'ours') {
      const again = JSON.parse(r.stdout).locations[0]
      if (again.written.length + again.deleted.length > 0)
        throw new Error(`the rerun changed ${again.written.length + again.deleted.length} pages`)
    }
    times[impl].push(r.ms)
    cpu[impl].push(r.cpuMs)
    process.stderr.write(`index bench: round ${round + 1} ${impl} ${(r.ms / 1000).toFixed(2)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s)\n`)
  }
}
rmSync(work, {recursive: true, force: true})

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const o = median(times.ours)
const r = median(times.rclone)
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
process.stdout.write(
  `index pages benchmark: ${tops * subs * files} files in ${tops * subs} directories, ${rounds} rounds, medians, load average ${load}\n`,
)
const oc = median(cpu.ours)
const rc = median(cpu.rclone)
process.stdout.write(
  '| measure | rerun of ore storage index -r (nothing to write) | rclone lsf -R | ratio (goal <= 2) |\n|---|---|---|---|\n',
)
process.stdout.write(`| wall | ${(o / 1000).toFixed(2)} s | ${(r / 1000).toFixed(2)} s | ${(o / r).toFixed(2)}x |\n`)
process.stdout.write(`| CPU (user + system) | ${(oc / 1000).toFixed(2)} s | ${(rc / 1000).toFixed(2)} s | ${(oc / rc).toFixed(2)}x |\n`)
