// `cork enter -- true` in an existing SDK container versus `docker exec <container> true`,
// against the dockerd of scripts/services/dockerd.sh (started if needed). Runs
// alternate (docker, cork, cork via oclif, in rotating order) so that machine load
// hits every side alike; figures are medians. Goal: cork at most 1.3x docker exec.
// "cork (full command)" adds a flag the fast path leaves to oclif, for reference.
// The floor: any Node.js program pays `node -e 0` to start where the docker CLI
// pays its own start (`docker --version`, no engine call); the engine's share is
// the rest of `docker exec`. So no Node.js client can beat
// (node -e 0 + docker exec - docker --version) / docker exec, which is printed too.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {importTestCode} from './lib/test-code.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// 61 rounds: with 21, the median of either side moved by up to 2 ms between runs of the benchmark, 0.03 of the ratio.
const runs = Number(process.env.BENCH_RUNS ?? 61)
const {binPath} = await import(join(root, 'packages', 'test-utils', 'dist', 'cli.js'))
const cork = binPath('cork')

// What a build ships: bin/run.cjs leaves a bundle older than a compilation it came from for
// the compiled modules (a `tsc -b` of the kit alone makes it so), ~15 ms slower.
execFileSync(process.execPath, [join(root, 'packages/cork/scripts/bundle-fast-enter.mjs')], {stdio: 'inherit'})
execFileSync('bash', [join(root, 'scripts/services/dockerd.sh'), 'start'], {stdio: ['ignore', 'ignore', 'inherit']})
const host = /CORK_TEST_DOCKER_HOST=(\S+)/.exec(readFileSync(join(root, '.services/dockerd.env'), 'utf8'))[1]
const env = {...process.env, DOCKER_HOST: host}
const dockerCli = execFileSync('sh', ['-c', 'command -v docker']).toString().trim()
const dockerVersion = execFileSync(dockerCli, ['version', '--format', '{{.Client.Version}} (engine {{.Server.Version}})'], {env})
  .toString()
  .trim()

const {makeSdkFixture, makeTestKey} = await importTestCode(
  'cork-fixture',
  "export {makeSdkFixture} from './sdk-fixture.ts'\nexport {makeTestKey} from '@mantle/kit/verify/testing'\n",
  join(root, 'packages/cork/src/testing'),
)

const dir = mkdtempSync(join(tmpdir(), 'cork-bench-'))
const checkout = join(dir, 'checkout')
const version = `8${Date.now() % 100000}.0.0`
mkdirSync(join(checkout, '.repo/manifests'), {recursive: true})
writeFileSync(join(checkout, '.repo/manifests/version.txt'), `FLATCAR_VERSION=${version}\nFLATCAR_SDK_VERSION=${version}\n`)
const key = await makeTestKey()
writeFileSync(join(dir, 'key.asc'), key.publicArmored)
await makeSdkFixture({work: join(dir, 'work'), mirror: join(dir, 'mirror'), name: 'flatcar', arch: 'amd64', version, key: key.privateKey})

function run(cmd, args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {cwd: checkout, env, stdio: ['ignore', 'ignore', 'pipe']})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

try {
  const created = spawnSync(
    process.execPath,
    [cork, 'create', '--json', '--board', 'amd64-usr', '--sdk-url', join(dir, 'mirror'), '--verify-key', join(dir, 'key.asc')],
    {cwd: checkout, env, encoding: 'utf8'},
  )
  if (created.status !== 0) throw new Error(`cork create failed: ${created.stderr}`)
  const container = JSON.parse(created.stdout).container
  // Warm the compile cache and the engine.
  for (let i = 0; i < 3; i++) {
    run(dockerCli, ['exec', container, 'true'])
    run(process.execPath, [cork, 'enter', '--board', 'amd64-usr', '--', 'true'])
  }
  const docker = []
  const fast = []
  const full = []
  const node = []
  const cli = []
  const sides = [
    () => node.push(run(process.execPath, ['-e', '0'])),
    () => cli.push(run(dockerCli, ['--version'])),
    () => docker.push(run(dockerCli, ['exec', container, 'true'])),
    () => fast.push(run(process.execPath, [cork, 'enter', '--board', 'amd64-usr', '--', 'true'])),
    () => full.push(run(process.execPath, [cork, 'enter', '--board', 'amd64-usr', '--log-level', 'warn', '--', 'true'])),
  ]
  // Each round starts with the next side, so no side always runs right after another.
  for (let i = 0; i < runs; i++) for (let k = 0; k < sides.length; k++) sides[(i + k) % sides.length]()
  const d = median(docker)
  const f = median(fast)
  const o = median(full)
  const floor = (median(node) + d - median(cli)) / d
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  console.log(
    `cork enter: median of ${runs} alternating runs; ${dockerCli} ${dockerVersion}; node ${process.version}; load average ${load}; node -e 0: ${median(node).toFixed(1)} ms; docker --version: ${median(cli).toFixed(1)} ms; floor for a Node.js client: ${floor.toFixed(2)}x`,
  )
  console.log('docker exec true   cork enter -- true   ratio   goal      cork enter (full command)   ratio')
  console.log(
    `${d.toFixed(1).padStart(13)} ms ${f.toFixed(1).padStart(17)} ms ${(f / d).toFixed(2).padStart(6)}x   <= 1.3x ${f / d <= 1.3 ? 'ok    ' : 'MISSED'} ${o.toFixed(1).padStart(22)} ms ${(o / d).toFixed(2).padStart(7)}x`,
  )
  process.exitCode = f / d <= 1.3 ? 0 : 1
} finally {
  spawnSync(process.execPath, [cork, 'delete'], {cwd: checkout, env, stdio: 'ignore'})
  rmSync(dir, {recursive: true, force: true})
}
