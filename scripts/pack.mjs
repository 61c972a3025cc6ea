#!/usr/bin/env node
// Packs every published workspace (all but the private ones) as it goes to the
// npm registry, into DEST (default .packs/): what the container image
// installs, what the install test installs, and what `npm run release:publish`
// publishes. Run after a build (`npm run build`): the tarballs take dist/, the
// oclif manifests and the kit's vendor/ bundles from the tree.
//
//   node scripts/pack.mjs [DEST]    prints a JSON summary (name, file, size, unpackedSize, files) on stdout
//
// Each package is packed from a staging copy of exactly the files `npm pack`
// would take (its `files` list; `dist` when it has none), with two changes:
// - no source maps: they point at src/*.ts, which is not shipped, so they
//   only add weight (~40% of dist) and a stack trace is no clearer with them;
//   the tools' type declarations go too (CLIs, nobody imports them), the
//   libraries' (kit, auth, cloud) stay;
// - the kit's dependencies that scripts/build.mjs bundles into vendor/ (oclif
//   and two storage SDKs, each one file, for startup time) are dropped from
//   its dependencies: installed, they were only dead weight in every tool;
// - the cloud SDKs of @mantle/cloud and @mantle/auth (each loaded with
//   `await import` only for the cloud that needs it) become their optional
//   peer dependencies, which npm does not install. Each tool that depends on
//   those libraries gets them as dependencies of its own, so ore, plume, gangue
//   and cork install exactly what they did, except kola (CLOUD_SDKS_OPTIONAL):
//   it tests on QEMU unless told to use a cloud, so its install leaves the
//   SDKs out (the install size is in the README) and declares them as optional
//   peers; a kola command that needs one that is missing says which, and how to
//   install it (the kit's base command), in one line, exit 2.
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dest = resolve(process.argv[2] ?? join(root, '.packs'))
/** Packages scripts/build.mjs bundles into the kit's vendor/, and the file each becomes. */
const VENDORED = {
  '@mantle/kit': {
    '@oclif/core': 'vendor/oclif-core.cjs',
    '@azure/storage-blob': 'vendor/azure-storage-blob.cjs',
    '@google-cloud/storage': 'vendor/google-cloud-storage.cjs',
  },
}
const LIBRARIES = new Set(['@mantle/kit', '@mantle/auth', '@mantle/cloud'])
/** Libraries whose cloud SDKs are optional peers when published, and what counts as a cloud SDK (as the lint's CLOUD_SDKS). */
const SDK_LIBRARIES = ['@mantle/cloud', '@mantle/auth']
const CLOUD_SDK = /^(@aws-sdk|@smithy|@google-cloud|@googleapis|@azure)\/|^(aws-sdk|googleapis|google-auth-library)$/
/** Tools whose install leaves the cloud SDKs out: they load them only for a cloud platform, and most runs use none. */
const CLOUD_SDKS_OPTIONAL = new Set(['@mantle/kola'])

const npm = (args) =>
  JSON.parse(
    execFileSync('npm', [...args, '--json', '--ignore-scripts', '--loglevel=error'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )
const packages = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  .workspaces.map((ws) => ({dir: join(root, ws), manifest: JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'))}))
  .filter((p) => !p.manifest.private)
// The file lists npm itself would pack (one npm start for all of them); a package without a `files` list ships dist/ (and vendor/).
const withList = packages.filter((p) => p.manifest.files)
const listed = new Map(
  withList.length ? npm(['pack', '--dry-run', ...withList.map((p) => p.dir)]).map((r) => [r.name, r.files.map((f) => f.path)]) : [],
)
// The cloud SDKs each library loads (name -> range), taken off its dependencies.
const sdksOf = new Map()
for (const {manifest} of packages.filter((p) => SDK_LIBRARIES.includes(p.manifest.name))) {
  const sdks = Object.entries(manifest.dependencies ?? {}).filter(([dep]) => CLOUD_SDK.test(dep))
  sdksOf.set(manifest.name, Object.fromEntries(sdks))
  for (const [dep, range] of sdks) {
    delete manifest.dependencies[dep]
    manifest.peerDependencies = {...manifest.peerDependencies, [dep]: range}
    manifest.peerDependenciesMeta = {...manifest.peerDependenciesMeta, [dep]: {optional: true}}
  }
}
for (const {manifest} of packages.filter((p) => p.manifest.oclif)) {
  // What the tool's @mantle libraries load, unless the tool already depends on it itself.
  const sdks = Object.entries(Object.assign({}, ...Object.keys(manifest.dependencies ?? {}).map((dep) => sdksOf.get(dep) ?? {})))
  for (const [dep, range] of sdks.filter(([dep]) => !manifest.dependencies[dep])) {
    if (CLOUD_SDKS_OPTIONAL.has(manifest.name)) {
      manifest.peerDependencies = {...manifest.peerDependencies, [dep]: range}
      manifest.peerDependenciesMeta = {...manifest.peerDependenciesMeta, [dep]: {optional: true}}
    } else manifest.dependencies[dep] = range
  }
}
const walk = (dir, base = dir) =>
  readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter((e) => e.isFile())
    .map((e) => relative(base, join(e.parentPath, e.name)))
const stage = mkdtempSync(join(tmpdir(), 'mantle-pack-'))
mkdirSync(dest, {recursive: true})
try {
  const copies = []
  for (const {dir, manifest} of packages) {
    if (manifest.oclif && !existsSync(join(dir, 'oclif.manifest.json')))
      throw new Error(`${manifest.name}: no oclif.manifest.json (run npm run build first)`)
    const files = manifest.files ?? ['dist', ...(existsSync(join(dir, 'vendor')) ? ['vendor'] : [])]
    const paths = listed.get(manifest.name) ?? files.flatMap((f) => (existsSync(join(dir, f)) ? walk(join(dir, f), dir) : []))
    const copy = join(stage, manifest.name.replace('/', '+'))
    // (*.v8cache: the code caches @mantle/kit/start writes beside bundles, of this machine's runs.)
    const keep = (path) =>
      path !== 'package.json' &&
      !path.endsWith('.map') &&
      !path.endsWith('.v8cache') &&
      (LIBRARIES.has(manifest.name) || !path.endsWith('.d.ts'))
    for (const path of paths) if (keep(path)) cpSync(join(dir, path), join(copy, path))
    for (const [pkg, file] of Object.entries(VENDORED[manifest.name] ?? {})) {
      if (!existsSync(join(copy, file)))
        throw new Error(`${manifest.name}: ${file} (the bundle of ${pkg}) is not in the package (run npm run build first)`)
      delete manifest.dependencies?.[pkg]
    }
    writeFileSync(join(copy, 'package.json'), JSON.stringify({...manifest, files}, null, 2) + '\n')
    copies.push(copy)
  }
  const packed = npm(['pack', '--pack-destination', dest, ...copies])
  const summary = packed.map((p) => ({
    name: p.name,
    file: join(dest, p.filename),
    size: p.size,
    unpackedSize: p.unpackedSize,
    files: p.files.map((f) => f.path).sort(),
  }))
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
} finally {
  rmSync(stage, {recursive: true, force: true})
}
