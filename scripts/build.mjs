// The build: bundle @oclif/core into the kit (fast startup), compile every
// package (tsc -b), and write oclif.manifest.json for each CLI so `--help` and
// command lookup do not import every command.
import {execFileSync} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (pkg, ...p) => join(root, 'node_modules', pkg, ...p)
const run = (args, cwd = root) => execFileSync(process.execPath, args, {cwd, stdio: ['ignore', 'ignore', 'inherit']})

const {build, buildSync} = await import('esbuild')
mkdirSync(join(root, 'packages', 'kit', 'vendor'), {recursive: true})
// From our own entry (scripts/oclif/entry.cjs: only the parts the kit uses, each loaded when first used), with
// ejs, which renders every help string, behind scripts/oclif/ejs.cjs (our strings need no compiled template):
// together ~10-15% of the CPU time of `<tool> --help`.
const ejsShim = {
  name: 'ejs-shim',
  setup(build) {
    build.onResolve({filter: /^ejs$/}, (args) =>
      args.importer.includes(`${join('@oclif', 'core')}`) ? {path: join(root, 'scripts', 'oclif', 'ejs.cjs')} : undefined,
    )
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
  plugins: [ejsShim],
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
