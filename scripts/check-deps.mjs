#!/usr/bin/env node
// Dependency check (run by `npm run lint`): every workspace package declares
// exactly what it imports.
//   - shipped code (src/ minus test code, bin/) may import only its own
//     `dependencies` (and Node's built-ins);
//   - test code (*.test.ts, src/**/testing/, src/**/testing.ts, and all of a
//     private test-only package) and package build scripts (scripts/) may also
//     import the package's `devDependencies` and the root's devDependencies
//     (the shared tooling: vitest, typescript, esbuild, ...);
//   - a `dependencies` entry no shipped file imports is an error (move it to
//     devDependencies if only tests use it), and so is a `devDependencies`
//     entry nothing imports. `@types/x` counts as used when `x` is.
// Imports are read with a scanner of static, dynamic and type imports,
// `export ... from` and require(): enough for this code base, which has no
// computed module names.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {builtinModules} from 'node:module'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/
const SKIP_DIRS = new Set(['node_modules', 'dist', 'vendor', 'testdata', 'assets', 'channels'])
const BUILTINS = new Set(builtinModules)

/** Module names a source text imports. */
export function importsOf(text) {
  const names = new Set()
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) names.add(m[1])
  return names
}

/** The package a module specifier names, or undefined for relative paths and Node's built-ins. */
export function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined
  const parts = specifier.split('/')
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
  return BUILTINS.has(name) ? undefined : name
}

function* files(dir) {
  let entries
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch {
    return
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) yield* files(join(dir, e.name))
    } else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) {
      yield join(dir, e.name)
    }
  }
}

/** Test code: tests, test helpers, and everything of a private package that ships nothing. */
export function isTestCode(path, pkg) {
  const p = path.split(sep).join('/')
  return (
    pkg.private === true ||
    /\.test\.[cm]?[jt]s$/.test(p) ||
    /\/testing\//.test(p) ||
    /\/testing\.[cm]?[jt]s$/.test(p) ||
    /(^|\/)scripts\//.test(p)
  )
}

/**
 * The problems of one package directory: undeclared imports and unused
 * declarations, one line each.
 */
export function checkPackage(dir, rootDevDependencies = {}) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const deps = new Set(Object.keys({...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies}))
  const devDeps = new Set(Object.keys(pkg.devDependencies ?? {}))
  const rootDev = new Set(Object.keys(rootDevDependencies))
  const usedByShipped = new Set()
  const usedByTests = new Set()
  const problems = []
  for (const sub of ['src', 'bin', 'scripts']) {
    for (const file of files(join(dir, sub))) {
      const test = isTestCode(relative(dir, file), pkg)
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier)
        if (name === undefined || name === pkg.name) continue
        ;(test ? usedByTests : usedByShipped).add(name)
        const declared = deps.has(name) || (test && (devDeps.has(name) || rootDev.has(name)))
        if (!declared) {
          const where = relative(dir, file)
          const hint = test
            ? 'add it to devDependencies'
            : devDeps.has(name)
              ? 'shipped code needs it in dependencies, not devDependencies'
              : 'add it to dependencies'
          problems.push(`${pkg.name}: ${where} imports ${name}, which the package does not declare (${hint})`)
        }
      }
    }
  }
  const used = (name, set) => set.has(name) || (name.startsWith('@types/') && typesUsed(name, set))
  // A private package ships nothing: its dependencies are all for tests.
  const shipped = pkg.private === true ? usedByTests : usedByShipped
  for (const name of deps) {
    if (used(name, shipped)) continue
    problems.push(
      used(name, usedByTests)
        ? `${pkg.name}: dependency ${name} is imported only by test code (move it to devDependencies)`
        : `${pkg.name}: dependency ${name} is declared but never imported (remove it)`,
    )
  }
  for (const name of devDeps) {
    if (!used(name, usedByTests) && !used(name, usedByShipped))
      problems.push(`${pkg.name}: devDependency ${name} is declared but never imported (remove it)`)
  }
  return problems
}

function typesUsed(typesName, used) {
  const bare = typesName.slice('@types/'.length)
  if (bare === 'node') return true
  const name = bare.includes('__') ? `@${bare.replace('__', '/')}` : bare
  return used.has(name)
}

/** Every workspace package of the repository at `root`. */
export function checkWorkspaces(root) {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const problems = []
  for (const ws of rootPkg.workspaces ?? []) {
    const dir = join(root, ws)
    if (statSync(join(dir, 'package.json'), {throwIfNoEntry: false})) problems.push(...checkPackage(dir, rootPkg.devDependencies))
  }
  return problems
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..')
  const problems = checkWorkspaces(root)
  for (const p of problems) process.stderr.write(`check-deps: ${p}\n`)
  if (problems.length > 0) {
    process.stderr.write(`check-deps: ${problems.length} problem(s)\n`)
    process.exitCode = 1
  }
}
