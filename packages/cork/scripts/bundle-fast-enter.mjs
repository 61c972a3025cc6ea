// Bundles the fast path of `cork enter -- <command>` (dist/fast-enter.js and
// what it imports, after tsc) into one CommonJS file, dist/fast-enter.cjs.
// Measured on this project's 2-core machine: loading the seven ES modules of
// that path took ~20-50 ms more than one CommonJS file, the difference between
// meeting and missing the benchmark against `docker exec`. bin/run.js uses the
// bundle only while none of its inputs (listed in dist/fast-enter.inputs.json)
// is newer, so a plain `tsc -b` never leaves a stale bundle in use.
import {writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const {buildSync} = await import('esbuild')
const result = buildSync({
  entryPoints: [join(pkg, 'dist', 'fast-enter.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  logLevel: 'error',
  metafile: true,
  outfile: join(pkg, 'dist', 'fast-enter.cjs'),
})
const inputs = Object.keys(result.metafile.inputs).map((p) => relative(join(pkg, 'dist'), join(process.cwd(), p)))
writeFileSync(join(pkg, 'dist', 'fast-enter.inputs.json'), JSON.stringify(inputs) + '\n')
