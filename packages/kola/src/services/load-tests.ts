import {readdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {UsageError} from '@mantle/kit'

import type {KolaTest} from '../register/test.js'

/**
 * Loads tests from outside kola's own code: every `*.js` / `*.mjs` module of
 * the directory that exports `tests` (an array of test records) or a default
 * export (an array, or a function returning one).
 */
export async function loadTestModules(dir: string): Promise<KolaTest[]> {
  const root = resolve(dir)
  let names: string[]
  try {
    names = (await readdir(root)).filter((n) => /\.(m?js)$/.test(n)).sort()
  } catch {
    throw new UsageError(`cannot read the tests directory ${root}`, {hint: 'pass an existing directory to --tests-dir'})
  }
  const tests: KolaTest[] = []
  for (const name of names) {
    const file = join(root, name)
    let mod: {tests?: unknown; default?: unknown}
    try {
      mod = (await import(pathToFileURL(file).href)) as typeof mod
    } catch (error) {
      throw new UsageError(`cannot load test module ${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
    let exported = mod.tests ?? mod.default
    if (typeof exported === 'function') exported = await (exported as () => unknown)()
    if (!Array.isArray(exported)) throw new UsageError(`test module ${file} exports no tests`, {hint: 'export const tests = [{name, run}, ...]'})
    for (const t of exported as KolaTest[]) {
      if (typeof t?.name !== 'string' || typeof t.run !== 'function') throw new UsageError(`test module ${file}: every test needs a name and a run function`)
      tests.push(t)
    }
  }
  return tests
}
