// Startup benchmark: `<tool> --help` versus `node -e 0`, for all five tools.
// Runs are alternated (node, tool, node, tool...) so machine load affects both
// sides alike; the figure is the ratio of medians. Goal: at most 2.5x.
// Each run's CPU time (user + system of the child, from bash's `times`, in ms)
// is reported beside its wall time: on a shared machine the wall times move
// with the load, the CPU times much less.
//
// Two layouts: the checkout (packages/<tool>/bin), and, with --installed, the
// tools as users install them: the tarballs of scripts/pack.mjs installed with
// `npm install -g` into a temporary prefix (BENCH_PREFIX=<prefix> reuses one).
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.BENCH_RUNS ?? 21)
const tools = ['gangue', 'cork', 'ore', 'plume', 'kola']
// Each tool's entry as its package.json names it (cork's is bin/run.cjs).
const {binPath} = await import(join(root, 'packages', 'test-utils', 'dist', 'cli.js'))
let binOf = binPath
let layout = 'checkout'
let cleanup = () => {}
if (process.argv.includes('--installed')) {
  let prefix = process.env.BENCH_PREFIX
  if (!prefix) {
    const dir = mkdtempSync(join(tmpdir(), 'mantle-bench-'))
    cleanup = () => rmSync(dir, {recursive: true, force: true})
    prefix = join(dir, 'prefix')
    const packed = JSON.parse(execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), join(dir, 'packs')], {encoding: 'utf8'}))
    execFileSync(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        ...packed.map((p) => p.file),
      ],
      {stdio: ['ignore', 'ignore', 'inherit']},
    )
  }
  // The entry each package.json names, inside the prefix (the same file the prefix's bin/<tool> links to).
  binOf = (tool) => {
    const pkg = join(prefix, 'lib', 'node_modules', '@mantle', tool)
    return join(pkg, JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).bin[tool])
  }
  layout = `installed from the tarballs in ${prefix}`
}

// Wall time from bash's clock around the child alone (not bash's own start), then `times`: the last line is the
// children's user and system time, "0m0.021s 0m0.006s".
const TIMED = 's=$EPOCHREALTIME; "$@" >/dev/null 2>&1; rc=$?; e=$EPOCHREALTIME; times; echo "$s $e"; exit $rc'
const seconds = (t) => {
  const [, m, sec] = /^(\d+)m([\d.]+)s$/.exec(t)
  return Number(m) * 60 + Number(sec)
}
function time(args) {
  const r = spawnSync('bash', ['-c', TIMED, 'bash', process.execPath, ...args], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
  const lines = r.stdout.trim().split('\n')
  const [s, e] = lines.at(-1).split(' ').map(Number)
  const [user, system] = lines.at(-2).split(' ').map(seconds)
  return {wall: (e - s) * 1e3, cpu: (user + system) * 1e3}
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Warm the compile cache and the page cache once.
for (const tool of tools) time([binOf(tool), '--help'])

const rows = []
for (const tool of tools) {
  const bin = binOf(tool)
  const base = []
  const help = []
  for (let i = 0; i < runs; i++) {
    base.push(time(['-e', '0']))
    help.push(time([bin, '--help']))
  }
  const of = (xs, key) => median(xs.map((x) => x[key]))
  rows.push({tool, node: of(base, 'wall'), help: of(help, 'wall'), nodeCpu: of(base, 'cpu'), helpCpu: of(help, 'cpu')})
}
cleanup()
const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
console.log(`startup (${layout}): median of ${runs} alternating runs, node ${process.version}, load average ${load}`)
console.log('tool    node -e 0   <tool> --help   ratio   goal           CPU: node -e 0   <tool> --help   ratio')
let ok = true
const ms = (x, width) => `${x.toFixed(1).padStart(width)} ms`
for (const r of rows) {
  const ratio = r.help / r.node
  ok &&= ratio <= 2.5
  console.log(
    `${r.tool.padEnd(7)} ${ms(r.node, 7)} ${ms(r.help, 10)} ${ratio.toFixed(2).padStart(7)}x   <= 2.5x ${ratio <= 2.5 ? 'ok    ' : 'MISSED'}` +
      `      ${ms(r.nodeCpu, 7)} ${ms(r.helpCpu, 10)} ${(r.helpCpu / r.nodeCpu).toFixed(2).padStart(7)}x`,
  )
}
process.exitCode = ok ? 0 : 1
