// Bundles the fast path of `cork enter -- <command>` (dist/fast-enter.js and
// what it imports, after tsc) into one CommonJS file, dist/fast-enter.cjs.
// Measured on this project's 2-core machine: loading the seven ES modules of
// that path took ~20-50 ms more than one CommonJS file, the difference between
// meeting and missing the benchmark against `docker exec`. bin/run.cjs uses the
// bundle only while no package it was bundled from was compiled since.
import {appendFileSync, rmSync} from 'node:fs'
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
// Which compilations the bundle comes from: the tsbuildinfo of each package it
// took a module from. bin/run.cjs leaves the bundle alone when one is newer.
const packages = new Set(Object.keys(result.metafile.inputs).map((p) => join(process.cwd(), p.slice(0, p.lastIndexOf('/dist/')))))
const bundledFrom = [...packages].map((dir) => relative(join(pkg, 'dist'), join(dir, 'tsconfig.tsbuildinfo')))
appendFileSync(join(pkg, 'dist', 'fast-enter.cjs'), `module.exports.bundledFrom = ${JSON.stringify(bundledFrom)};\n`)
// bin/run.cjs would not use the last bundle's code cache (it is stamped with that bundle's size and mtime); drop it.
rmSync(join(pkg, 'dist', 'fast-enter.cjs.v8cache'), {force: true})
