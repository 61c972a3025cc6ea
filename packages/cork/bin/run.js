#!/usr/bin/env node
// Startup matters for a tool that CI scripts call hundreds of times: reuse
// V8's compiled code across runs, load oclif from the kit's single bundled
// file, and let it read the shipped manifest instead of importing every command.
import {enableCompileCache} from 'node:module'

enableCompileCache?.()
// `cork enter -- <command>` skips oclif altogether when its arguments are the
// simple ones (see src/fast-enter.ts); anything else falls through to oclif.
const code = process.argv[2] === 'enter' ? await (await import('../dist/fast-enter.js')).fastEnter(process.argv.slice(3)) : undefined
if (code === undefined) {
  const {execute} = await import('@mantle/kit/oclif')
  await execute({dir: import.meta.url})
} else {
  process.exitCode = code
}
