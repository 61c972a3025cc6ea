#!/usr/bin/env node
// CommonJS, like every tool's bin (packages/kit/src/start.cts), with one more
// path: `cork enter -- <command>` is what build scripts call hundreds of times
// (measured against `docker exec`, whose whole run is ~75 ms here).
'use strict'
const kit = module.paths.map((dir) => `${dir}/@mantle/kit/dist/start.cjs`).find(require('node:fs').existsSync)
const start = require(kit ?? '@mantle/kit/start')

start.requireNode('cork')

/**
 * `cork enter -- <command>` skips oclif altogether when its arguments are the
 * simple ones (src/fast-enter.ts); anything else falls through to oclif. The
 * path runs from its one-file bundle (scripts/bundle-fast-enter.mjs), with the
 * kit's V8 code cache, unless a package it was bundled from was compiled since
 * (its tsbuildinfo is newer), so a plain `tsc -b` never leaves a stale bundle in use.
 */
function loadFastEnter() {
  const fs = require('node:fs')
  const {join} = require('node:path')
  const dist = join(__dirname, '..', 'dist')
  try {
    const {exports: bundle, mtimeMs: built} = start.loadCached(join(dist, 'fast-enter.cjs'))
    // No tsbuildinfo (an installed package): nothing can have been compiled since.
    if (bundle.bundledFrom.every((p) => (fs.statSync(join(dist, p), {throwIfNoEntry: false})?.mtimeMs ?? 0) <= built)) return bundle
  } catch {
    // No bundle (a build by tsc alone): the modules themselves.
  }
  return import('../dist/fast-enter.js')
}

async function main() {
  const code =
    process.argv[2] === 'enter' ? await (await loadFastEnter()).fastEnter(process.argv.slice(3), process.env, process.cwd()) : undefined
  if (code !== undefined) {
    process.exitCode = code
    return
  }
  await start.run('cork', __filename)
}

void main()
