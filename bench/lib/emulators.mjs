// The storage emulators a benchmark needs (scripts/services/<name>.sh): started, or found running,
// before anything is measured; their addresses from the .env file each start writes.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The variables of `<stateDir>/<name>.env`, undefined when the service wrote none. */
export function serviceEnv(name, stateDir = join(root, '.services')) {
  const file = join(stateDir, `${name}.env`)
  if (!existsSync(file)) return undefined
  const env = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1')
  }
  return env
}

/**
 * Starts each of `services` (idempotent: a running one is left as it is) and returns their env by name; when any
 * will not start, names each with why on stderr (`<bench>: emulators not running and not startable: ...`) and exits 1.
 */
export function startEmulators(
  bench,
  services,
  {servicesDir = join(root, 'scripts', 'services'), stateDir = join(root, '.services')} = {},
) {
  const envs = {}
  const missing = []
  for (const service of services) {
    const started = spawnSync('bash', [join(servicesDir, `${service}.sh`), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const env = started.status === 0 ? serviceEnv(service, stateDir) : undefined
    if (env) {
      envs[service] = env
      continue
    }
    const why =
      started.status === 0
        ? `it wrote no ${join(stateDir, `${service}.env`)}`
        : `failed: ${(started.stderr || started.error?.message || `exit ${started.status}`).trim().split('\n').at(-1)}`
    missing.push(`${service} (scripts/services/${service}.sh start ${why})`)
  }
  if (missing.length > 0) {
    process.stderr.write(`${bench}: emulators not running and not startable: ${missing.join('; ')}\n`)
    process.exit(1)
  }
  return envs
}
