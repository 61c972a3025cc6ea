import {generateIdentity} from '../platform/ssh.js'
import {builtinTests} from '../register/builtin.js'
import {kubeTests} from '../register/builtin-kube.js'
import {remoteTests, systemTests} from '../register/builtin-system.js'
import {loadExternalTests} from '../register/external.js'
import {type KolaTest, Registry} from '../register/test.js'
import {loadTestModules} from './load-tests.js'

/** The tests a command can run: the built-in suite, the modules of each tests directory, and each external test tree (`-E`). */
export async function availableTests(testsDirs: readonly string[] = [], extDirs: readonly string[] = []): Promise<KolaTest[]> {
  const registry = new Registry([...builtinTests(), ...kubeTests()])
  // The second user of ignition.second-user logs in with a key of its own, made per run.
  for (const test of systemTests(await generateIdentity('kolasecond', 'kola-second-user'))) registry.register(test)
  for (const test of remoteTests()) registry.register(test)
  for (const dir of testsDirs) for (const test of await loadTestModules(dir)) registry.register(test)
  for (const dir of extDirs) for (const test of await loadExternalTests({dir})) registry.register(test)
  return registry.all()
}
