import {constants} from 'node:fs'
import {access, readdir, readFile, writeFile} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {UsageError} from '@mantle/kit'

import type {KolaTest} from '../register/test.js'

/**
 * Loads tests from outside kola's own code, without rebuilding kola: every
 * `*.js` / `*.mjs` module of the directory that exports `tests` (an array of
 * test records) or a default export (an array, or a function returning one),
 * and every other executable file, as the test `script.<name>` that runs it
 * on a machine.
 */
export async function loadTestModules(dir: string): Promise<KolaTest[]> {
  const root = resolve(dir)
  let all: string[]
  try {
    all = (await readdir(root, {withFileTypes: true}))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort()
  } catch {
    throw new UsageError(`cannot read the tests directory ${root}`, {hint: 'pass an existing directory to --tests-dir'})
  }
  const names = all.filter((n) => /\.(m?js)$/.test(n))
  const tests: KolaTest[] = []
  for (const name of all.filter((n) => !/\.(m?js)$/.test(n))) {
    const file = join(root, name)
    if (await executable(file)) tests.push(scriptTest(file))
  }
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
    if (!Array.isArray(exported))
      throw new UsageError(`test module ${file} exports no tests`, {hint: 'export const tests = [{name, run}, ...]'})
    for (const t of exported as KolaTest[]) {
      if (typeof t?.name !== 'string' || typeof t.run !== 'function')
        throw new UsageError(`test module ${file}: every test needs a name and a run function`)
      tests.push(t)
    }
  }
  return tests
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  )
}

/** An executable file as a test: copied to a machine, run as core, its output captured; a non-zero exit fails it. */
function scriptTest(file: string): KolaTest {
  const name = `script.${basename(file)
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_-]/g, '-')}`
  return {
    name,
    description: `runs ${file} on a machine`,
    clusterSize: 1,
    run: async (c) => {
      const [m] = c.machines
      if (!m) return c.fatal('no machine')
      const body = await readFile(file)
      const upload = await m.ssh('cat > /tmp/kola-script && chmod +x /tmp/kola-script', {stdin: body, signal: c.signal})
      if (upload.code !== 0) c.fatal(`cannot copy ${file} to ${m.id}: ${upload.stderr.trim()}`)
      const result = await m.ssh('/tmp/kola-script', {signal: c.signal})
      await writeFile(join(c.h.outputDir(), 'script-output.txt'), `## stdout\n${result.stdout}\n## stderr\n${result.stderr}`)
      for (const line of `${result.stdout}${result.stderr}`.split('\n')) if (line) c.log(line)
      if (result.code !== 0) c.fatal(`${basename(file)} exited ${result.code}`)
    },
  }
}
