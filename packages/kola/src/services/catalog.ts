import {builtinTests} from '../register/builtin.js'
import {type KolaTest, Registry} from '../register/test.js'
import {loadTestModules} from './load-tests.js'

/** The tests a command can run: the built-in suite plus the modules of each tests directory. */
export async function availableTests(testsDirs: readonly string[] = []): Promise<KolaTest[]> {
  const registry = new Registry(builtinTests())
  for (const dir of testsDirs) for (const test of await loadTestModules(dir)) registry.register(test)
  return registry.all()
}
