// Install sizes: the tarballs of scripts/pack.mjs installed with `npm install -g`
// into one empty prefix (BENCH_PREFIX=<prefix> reuses an install). A global
// install gives each package its own dependency tree, so a tool's size is its
// own directory plus those of the @mantle packages it needs: what
// `npm install -g @mantle/<tool>` puts on a disk.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
let prefix = process.env.BENCH_PREFIX
let cleanup = () => {}
let tarballs = []
if (!prefix) {
  const dir = mkdtempSync(join(tmpdir(), 'mantle-bench-'))
  cleanup = () => rmSync(dir, {recursive: true, force: true})
  prefix = join(dir, 'prefix')
  tarballs = JSON.parse(execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), join(dir, 'packs')], {encoding: 'utf8'}))
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
      ...tarballs.map((p) => p.file),
    ],
    {stdio: ['ignore', 'ignore', 'inherit']},
  )
}
const scope = join(prefix, 'lib', 'node_modules', '@mantle')
const bytes = (path) => Number(execFileSync('du', ['-sb', path], {encoding: 'utf8'}).split('\t')[0])
const count = (path) =>
  Number(execFileSync('sh', ['-c', `find "$1" -name package.json -path '*/node_modules/*' | wc -l`, 'sh', path], {encoding: 'utf8'}).trim())
const packages = readdirSync(scope)
const size = Object.fromEntries(packages.map((p) => [p, bytes(join(scope, p))]))
const deps = (p) =>
  Object.keys(JSON.parse(readFileSync(join(scope, p, 'package.json'), 'utf8')).dependencies ?? {})
    .filter((d) => d.startsWith('@mantle/'))
    .map((d) => d.slice(8))
const closure = (p, seen = new Set()) => (seen.has(p) ? seen : (seen.add(p), deps(p).forEach((d) => closure(d, seen)), seen))
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`
console.log(`install sizes (npm install -g of the tarballs, ${prefix}):`)
console.log('package  tarball    own dir   packages   with its @mantle dependencies')
for (const p of packages) {
  const all = [...closure(p)]
  const tgz = tarballs.find((t) => t.name === `@mantle/${p}`)
  const total = all.reduce((s, d) => s + size[d], 0)
  console.log(
    `${p.padEnd(8)} ${(tgz ? `${(tgz.size / 1024).toFixed(0)} KiB` : '-').padStart(8)} ${mib(size[p]).padStart(10)} ${String(count(join(scope, p))).padStart(10)}   ${mib(total)} (${all.join(', ')})`,
  )
}
console.log(`all five tools: ${mib(bytes(prefix))}`)
cleanup()
