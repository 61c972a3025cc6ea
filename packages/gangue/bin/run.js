#!/usr/bin/env node
// Startup matters for a tool that CI scripts call hundreds of times: reuse
// V8's compiled code across runs, load oclif from the kit's single bundled
// file, and let it read the shipped manifest instead of importing every command.
import {enableCompileCache} from 'node:module'

enableCompileCache?.()
const {execute} = await import('@mantle/kit/oclif')
await execute({dir: import.meta.url})
