#!/usr/bin/env node
// CommonJS, unlike the other tools' bin/run.js: `cork enter -- <command>` is
// what build scripts call hundreds of times, and an ES module entry costs
// ~3 ms more to start (measured against `docker exec`, whose whole run is
// ~75 ms here). Otherwise as theirs: reuse V8's compiled code across runs, load
// oclif from the kit's single bundled file, and let it read the shipped manifest.
'use strict'

// An older Node.js gets one line, not a stack trace from a missing export.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`cork: error: Node.js 22.12 or newer is required (this is ${process.version})\n`)
  process.exit(2)
}

/**
 * `cork enter -- <command>` skips oclif altogether when its arguments are the
 * simple ones (src/fast-enter.ts); anything else falls through to oclif. The
 * path runs from its one-file bundle (scripts/bundle-fast-enter.mjs) unless a
 * package it was bundled from was compiled since (its tsbuildinfo is newer), so
 * a plain `tsc -b` never leaves a stale bundle in use.
 */
function loadFastEnter() {
  const fs = require('node:fs')
  const {join} = require('node:path')
  const dist = join(__dirname, '..', 'dist')
  try {
    const {exports: bundle, built} = runCached(fs, join(dist, 'fast-enter.cjs'))
    // No tsbuildinfo (an installed package): nothing can have been compiled since.
    if (bundle.bundledFrom.every((p) => (fs.statSync(join(dist, p), {throwIfNoEntry: false})?.mtimeMs ?? 0) <= built)) return bundle
  } catch {
    // No bundle (a build by tsc alone): the modules themselves.
  }
  return import('../dist/fast-enter.js')
}

/**
 * Runs a CommonJS file as require() would, with V8's code cache kept beside it
 * (`<file>.v8cache`): the compiled code of every function the last uncached run
 * used, so that later runs skip parsing and compiling them (~2 ms of the ~75 ms
 * a `docker exec` takes here; Node's own compile cache costs more than that to
 * set up). The cache begins with the file's size and mtime: V8 checks only the
 * source's length, and a rebuilt bundle must never run an older one's code. It
 * is written only beside the file, by whoever may write the file itself, never
 * in a shared directory where someone else could plant code; where that fails
 * (a read-only install) the file simply runs uncached.
 */
function runCached(fs, file) {
  const vm = require('node:vm')
  const {size, mtimeMs} = fs.statSync(file)
  const source = fs.readFileSync(file, 'utf8')
  const stamp = Buffer.from(`${size} ${mtimeMs}\n`)
  const cacheFile = `${file}.v8cache`
  let cachedData
  try {
    const cache = fs.readFileSync(cacheFile)
    if (cache.subarray(0, stamp.length).equals(stamp)) cachedData = cache.subarray(stamp.length)
  } catch {
    // No cache yet.
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const module = {exports: {}}
  script.runInThisContext()(module.exports, require, module, file, require('node:path').dirname(file))
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so that the cache holds the functions this run compiled, not just the top level.
    process.once('exit', () => {
      const partial = `${cacheFile}.${process.pid}`
      try {
        fs.writeFileSync(partial, Buffer.concat([stamp, script.createCachedData()]))
        fs.renameSync(partial, cacheFile)
      } catch {
        fs.rmSync(partial, {force: true})
      }
    })
  }
  return {exports: module.exports, built: mtimeMs}
}

async function main() {
  const code =
    process.argv[2] === 'enter' ? await (await loadFastEnter()).fastEnter(process.argv.slice(3), process.env, process.cwd()) : undefined
  if (code !== undefined) {
    process.exitCode = code
    return
  }
  // Only here: turning the cache on costs the fast path more (~1.5 ms) than its one small file gains.
  require('node:module').enableCompileCache()
  const {execute} = await import('@mantle/kit/oclif')
  await execute({dir: __filename})
}

void main()
