// The build: bundle @oclif/core into the kit (fast startup), compile every
// package (tsc -b), and write oclif.manifest.json for each CLI so `--help` and
// command lookup do not import every command.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (pkg, ...p) => join(root, 'node_modules', pkg, ...p)
const run = (args, cwd = root) => execFileSync(process.execPath, args, {cwd, stdio: ['ignore', 'ignore', 'inherit']})

const {build, buildSync} = await import('esbuild')
mkdirSync(join(root, 'packages', 'kit', 'vendor'), {recursive: true})
// From our own entry (scripts/oclif/entry.cjs: only the parts the kit uses, each loaded when first used), with the
// parts of oclif's start that a `<tool> --help` pays for and never uses replaced (measured in CPU time against
// `node -e 0`, see the README's startup figures):
// - ejs, which renders every help string, by scripts/oclif/ejs.cjs (our strings need no compiled template);
// - wsl-utils, by scripts/oclif/wsl-utils.cjs (oclif asks only isWsl; the real one loads node:child_process);
// - oclif's top-level require() of node:child_process, node:readline and node:perf_hooks (used only to find
//   Windows' shell, to read flags from stdin and with OCLIF_PERF) by proxies that load them on first use;
// - the localeCompare its command list is sorted with, by scripts/oclif/compare-ids.cjs (the same order for
//   command ids, without setting ICU's collator up).
const OCLIF_LIB = join(root, 'node_modules', '@oclif', 'core', 'lib')
const fromOclif = (args) => args.importer.startsWith(OCLIF_LIB + sep)
const shim = (name) => join(root, 'scripts', 'oclif', name)
const LAZY_BUILTIN = /^(node:)?(child_process|readline|perf_hooks)$/
const oclifStart = {
  name: 'oclif-start',
  setup(build) {
    build.onResolve({filter: /^ejs$/}, (args) => (fromOclif(args) ? {path: shim('ejs.cjs')} : undefined))
    build.onResolve({filter: /^wsl-utils$/}, (args) => (fromOclif(args) ? {path: shim('wsl-utils.cjs')} : undefined))
    // The shim's own imports: the real wsl-utils as oclif would get it, and the is-wsl that one uses.
    build.onResolve({filter: /^(wsl-utils\/real|is-wsl)$/}, async (args) => {
      if (args.importer !== shim('wsl-utils.cjs')) return undefined
      const real = await build.resolve('wsl-utils', {kind: args.kind, resolveDir: OCLIF_LIB})
      return args.path === 'is-wsl' ? build.resolve('is-wsl', {kind: args.kind, resolveDir: dirname(real.path)}) : real
    })
    build.onResolve({filter: LAZY_BUILTIN}, (args) =>
      fromOclif(args) ? {path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin'} : undefined,
    )
    build.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, (args) => ({
      loader: 'js',
      contents: `let m
const load = () => (m ??= require('node:${args.path}'))
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const d = Reflect.getOwnPropertyDescriptor(load(), key)
    return d && {...d, configurable: true}
  },
})
`,
    }))
    build.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const sort = 'a.id.localeCompare(b.id)'
      if (source.split(sort).length !== 2)
        throw new Error(`${args.path}: expected one ${sort} (scripts/build.mjs replaces it; update it for this @oclif/core)`)
      return {loader: 'js', contents: source.replace(sort, `require(${JSON.stringify(shim('compare-ids.cjs'))}).compareIds(a.id, b.id)`)}
    })
  },
}
await build({
  entryPoints: [join(root, 'scripts', 'oclif', 'entry.cjs')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  logLevel: 'error',
  // Only needed to run TypeScript sources directly, which our bins never do.
  external: ['typescript', 'ts-node', 'tsx'],
  plugins: [oclifStart],
  outfile: join(root, 'packages', 'kit', 'vendor', 'oclif-core.cjs'),
})
// The storage SDKs likewise, each as one file: loaded module by module they cost a
// download ~0.1 s more per process (Azure 0.27 s against 0.15 s; GCS 0.17 s against 0.09 s).
for (const [pkg, out] of [
  ['@azure/storage-blob', 'azure-storage-blob.cjs'],
  ['@google-cloud/storage', 'google-cloud-storage.cjs'],
]) {
  buildSync({
    entryPoints: [createRequire(join(root, 'packages', 'kit', 'package.json')).resolve(pkg)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    logLevel: 'error',
    outfile: join(root, 'packages', 'kit', 'vendor', out),
  })
}
execFileSync(process.execPath, [bin('typescript', 'bin', 'tsc'), '-b'], {cwd: root, stdio: 'inherit'})
// cork enter's fast path as one file (see packages/cork/scripts/bundle-fast-enter.mjs).
run([join(root, 'packages', 'cork', 'scripts', 'bundle-fast-enter.mjs')])
for (const tool of ['gangue', 'cork', 'ore', 'plume', 'kola']) {
  run([bin('oclif', 'bin', 'run.js'), 'manifest'], join(root, 'packages', tool))
}
