/**
 * How every tool starts: its bin (packages/<tool>/bin/run.cjs) calls run(), in
 * CommonJS, and nothing else. Startup matters for tools that CI scripts call
 * hundreds of times; the goal is `<tool> --help` within 2.5x of `node -e 0`
 * (bench/startup.mjs, README "Benchmarks"). Where its time went, measured:
 * - an ES module entry starts Node's ESM loader (~2.5 ms of CPU) before any of
 *   our code runs: the bins and this file are CommonJS, and so is the path to
 *   oclif's bundle; the commands (ES modules) load only when one runs;
 * - compiling oclif's one-file bundle (packages/kit/vendor/oclif-core.cjs,
 *   ~630 KB): Node's compile cache keeps only the functions compiled while a
 *   file loads, not those its first run then compiled, so the bundle runs with
 *   a V8 code cache of its own (loadCached below, ~10 ms of CPU less);
 * - what oclif itself does that --help never needs (child_process, ICU's
 *   collator, ...): scripts/build.mjs bundles it without those;
 * - resolving `@mantle/kit/start` through the kit's package exports loads
 *   Node's ESM resolver (~1.5 ms of CPU, and as much of what cork's enter adds
 *   to `docker exec`): the bins look for dist/start.cjs in their
 *   node_modules paths first (`module.paths`, the directories require() would
 *   search) and take the exports only when it is not there.
 * cork's `enter` fast path takes loadCached for its own bundle too.
 */
import {readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {constants as vmConstants, Script} from 'node:vm'

// The loader's own cache (require.cache) and module class, which @types/node does not describe.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module') as {
  new (id: string, parent: unknown): NodeJS.Module & {paths: string[]; loaded: boolean}
  _cache: Record<string, NodeJS.Module>
  _nodeModulePaths(dir: string): string[]
  createRequire(file: string): NodeJS.Require
  enableCompileCache?: () => unknown
}

/** The bundle of @oclif/core the kit loads (scripts/build.mjs writes it; `@mantle/kit/oclif` loads the same file). */
export const OCLIF_BUNDLE = join(__dirname, '..', 'vendor', 'oclif-core.cjs')

/**
 * Node.js 22.12 or newer, or one line on stderr and exit 2 (this file itself
 * runs on older versions, so that they get this line rather than a stack trace).
 */
export function requireNode(bin: string): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 12)) return
  process.stderr.write(`${bin}: error: Node.js 22.12 or newer is required (this is ${process.version})\n`)
  process.exit(2)
}

/**
 * Loads a CommonJS file as require() would (and into require's cache, so a
 * later require() of it gets this module), with V8's code cache kept beside it
 * (`<file>.v8cache`): the compiled code of every function the last uncached run
 * used, so that later runs skip parsing and compiling them. The cache begins
 * with the file's size and mtime: V8 checks only the source's length, and a
 * rebuilt file must never run an older one's code. It is written only beside
 * the file, by whoever may write the file itself, never in a shared directory
 * where someone else could plant code; where that fails (a read-only install)
 * the file simply runs uncached. Returns the exports and the file's mtime.
 */
export function loadCached(file: string): {exports: unknown; mtimeMs: number} {
  const {size, mtimeMs} = statSync(file)
  const loaded = Module._cache[file]
  if (loaded) return {exports: loaded.exports, mtimeMs}
  const source = readFileSync(file, 'utf8')
  const stamp = Buffer.from(`${size} ${mtimeMs}\n`)
  const cacheFile = `${file}.v8cache`
  let cachedData: Buffer | undefined
  try {
    const cache = readFileSync(cacheFile)
    if (cache.subarray(0, stamp.length).equals(stamp)) cachedData = cache.subarray(stamp.length)
  } catch {
    // No cache yet.
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  quietDefaultLoaderWarning()
  const module = new Module(file, null)
  module.filename = file
  module.paths = Module._nodeModulePaths(dirname(file))
  Module._cache[file] = module
  try {
    ;(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, Module.createRequire(file), module, file, dirname(file))
  } catch (error) {
    delete Module._cache[file]
    throw error
  }
  module.loaded = true
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so that the cache holds the functions this run compiled, not just the top level.
    process.once('exit', () => {
      const partial = `${cacheFile}.${process.pid}`
      try {
        writeFileSync(partial, Buffer.concat([stamp, script.createCachedData()]))
        renameSync(partial, cacheFile)
      } catch {
        rmSync(partial, {force: true})
      }
    })
  }
  return {exports: module.exports, mtimeMs}
}

let quieted = false
/**
 * A file run this way may import() (oclif imports the command that runs),
 * through Node's own loader (USE_MAIN_CONTEXT_DEFAULT_LOADER), which works but
 * prints one "ExperimentalWarning: vm.USE_MAIN_CONTEXT_DEFAULT_LOADER is an
 * experimental feature" to the stderr of every command it loads. That one
 * warning is dropped; every other goes out as before.
 */
function quietDefaultLoaderWarning(): void {
  if (quieted) return
  quieted = true
  const emit = process.emitWarning
  process.emitWarning = function (warning: string | Error, ...rest: unknown[]): void {
    const message = typeof warning === 'string' ? warning : warning?.message
    if (message?.startsWith('vm.USE_MAIN_CONTEXT_DEFAULT_LOADER')) return
    ;(emit as (...args: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
}

/** Runs the tool whose bin is `binFile` (its `__filename`): oclif, from its bundle with a code cache, then the command. */
export async function run(bin: string, binFile: string): Promise<void> {
  requireNode(bin)
  // For the ES modules of the command that runs (they load after oclif has read the manifest).
  Module.enableCompileCache?.()
  const oclif = loadCached(OCLIF_BUNDLE).exports as {execute(options: {dir: string}): Promise<unknown>}
  await oclif.execute({dir: binFile})
}
