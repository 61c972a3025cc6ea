// Startup benchmark: `<tool> --help` versus `node -e 0`, for all five tools.
// Runs are alternated (node, tool, node, tool...) so machine load affects both
// sides alike; the figure is the ratio of medians. Goal: at most 2.5x.
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

function time(args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {stdio: 'ignore'})
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
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
  rows.push({tool, node: median(base), help: median(help)})
}
cleanup()
console.log(`startup (${layout}): median of ${runs} alternating runs, node ${process.version}`)
console.log('tool    node -e 0   <tool> --help   ratio   goal')
let ok = true
for (const r of rows) {
  const ratio = r.help / r.node
  ok &&= ratio <= 2.5
  console.log(
    `${r.tool.padEnd(7)} ${r.node.toFixed(1).padStart(7)} ms ${r.help.toFixed(1).padStart(10)} ms ${ratio.toFixed(2).padStart(7)}x   <= 2.5x ${ratio <= 2.5 ? 'ok' : 'MISSED'}`,
  )
}
process.exitCode = ok ? 0 : 1
