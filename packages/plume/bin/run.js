#!/usr/bin/env node
// Startup matters for a tool that CI scripts call hundreds of times: reuse
// V8's compiled code across runs, load oclif from the kit's single bundled
// file, and let it read the shipped manifest instead of importing every command.
import * as nodeModule from 'node:module'

// An older Node.js gets one line, not a stack trace from a missing export.
if (!nodeModule.enableCompileCache) {
  process.stderr.write(`plume: error: Node.js 22.12 or newer is required (this is ${process.version})\n`)
  process.exit(2)
}
nodeModule.enableCompileCache()
const {execute} = await import('@mantle/kit/oclif')
await execute({dir: import.meta.url})
