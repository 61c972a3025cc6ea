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
  const {statSync} = require('node:fs')
  const {join} = require('node:path')
  const dist = join(__dirname, '..', 'dist')
  try {
    const bundle = require(join(dist, 'fast-enter.cjs'))
    const built = statSync(join(dist, 'fast-enter.cjs')).mtimeMs
    // No tsbuildinfo (an installed package): nothing can have been compiled since.
    if (bundle.bundledFrom.every((p) => (statSync(join(dist, p), {throwIfNoEntry: false})?.mtimeMs ?? 0) <= built)) return bundle
  } catch {
    // No bundle (a build by tsc alone): the modules themselves.
  }
  return import('../dist/fast-enter.js')
}

async function main() {
  const code = process.argv[2] === 'enter' ? await (await loadFastEnter()).fastEnter(process.argv.slice(3)) : undefined
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
