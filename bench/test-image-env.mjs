// The test image's variables (KOLA_TEST_IMAGE, ...) for kola's benchmarks:
// from the environment, else from .services/test-image.env; exits 2 without an image.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

export function testImageEnv(root, name) {
  const env = {...process.env}
  const envFile = join(root, '.services', 'test-image.env')
  if (!env.KOLA_TEST_IMAGE && existsSync(envFile)) {
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line)
      if (m) env[m[1]] = m[2]
    }
  }
  if (!env.KOLA_TEST_IMAGE) {
    console.error(`${name}: no test image; run scripts/services/test-image.sh start`)
    process.exit(2)
  }
  return env
}
