#!/usr/bin/env node
// Startup matters for a tool that CI scripts call hundreds of times: reuse
// V8's compiled code across runs, load oclif from the kit's single bundled
// file, and let it read the shipped manifest instead of importing every command.
import {readFileSync, statSync} from 'node:fs'
import * as nodeModule from 'node:module'

// An older Node.js gets one line, not a stack trace from a missing export.
if (!nodeModule.enableCompileCache) {
  process.stderr.write(`cork: error: Node.js 22.12 or newer is required (this is ${process.version})\n`)
  process.exit(2)
}
nodeModule.enableCompileCache()

// `cork enter -- <command>` skips oclif altogether when its arguments are the
// simple ones (src/fast-enter.ts); anything else falls through to oclif. The
// path is loaded from its one-file bundle (scripts/bundle-fast-enter.mjs)
// unless a module in it was rebuilt since.
async function loadFastEnter() {
  const dist = new URL('../dist/', import.meta.url)
  try {
    const bundle = statSync(new URL('fast-enter.cjs', dist)).mtimeMs
    const inputs = JSON.parse(readFileSync(new URL('fast-enter.inputs.json', dist), 'utf8'))
    if (inputs.every((p) => statSync(new URL(p, dist)).mtimeMs <= bundle)) return nodeModule.createRequire(import.meta.url)('../dist/fast-enter.cjs')
  } catch {
    // No bundle (a build by tsc alone): the modules themselves.
  }
  return import('../dist/fast-enter.js')
}

const code = process.argv[2] === 'enter' ? await (await loadFastEnter()).fastEnter(process.argv.slice(3)) : undefined
if (code === undefined) {
  const {execute} = await import('@mantle/kit/oclif')
  await execute({dir: import.meta.url})
} else {
  process.exitCode = code
}
