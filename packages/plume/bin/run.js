#!/usr/bin/env node
// Startup matters for a tool that CI scripts call hundreds of times: reuse
// V8's compiled code across runs, and let oclif read the shipped manifest
// instead of importing every command.
import {enableCompileCache} from 'node:module'

enableCompileCache?.()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
