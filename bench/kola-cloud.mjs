// kola on a cloud platform: a 3-machine cluster against a 1-machine cluster on
// the AWS platform, against the fake EC2 of kola's tests (packages/kola/src/
// testing/fake-cloud) with a fixed latency: RunInstances answers after 1 s and
// an instance is `running` 2 s after its launch. Its machines are SSH stubs
// (an in-process SSH server per instance, on a loopback address of its own,
// port 22, answering the start-up check): the benchmark measures kola's
// launches, waits and SSH handshakes, not a guest OS under TCG.
// Reported per size: the time until the cluster was up (the slowest machine's
// "SSH answered after", measured from its launch), the test's duration in
// report.json (cluster up, test, teardown with terminate-and-wait), and the
// whole `kola run`. Runs alternate `rounds` times; medians.
// Goal: 3 machines up in <= 1.3x the time of 1.
//
//   node bench/kola-cloud.mjs [rounds=3]
import {spawn} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {importTestCode} from './lib/test-code.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kola = join(root, 'packages', 'kola', 'bin', 'run.cjs')
const rounds = Number(process.argv[2] ?? 3)

const {FakeEc2, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, FAKE_AMI, stubMachines} = await importTestCode(
  'fake-cloud',
  "export {FakeEc2, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, FAKE_AMI} from './ec2.ts'\nexport {stubMachines} from './machines.ts'\n",
  join(root, 'packages', 'kola', 'src', 'testing', 'fake-cloud'),
)

const work = await mkdtemp(join(tmpdir(), 'kola-cloud-bench-'))
const fake = await new FakeEc2({machines: stubMachines(), launchDelayMs: 1000, runningDelayMs: 2000}).start()
const home = join(work, 'home')
await mkdir(join(home, '.aws'), {recursive: true})
await writeFile(
  join(home, '.aws', 'credentials'),
  `[default]\naws_access_key_id = ${FAKE_ACCESS_KEY}\naws_secret_access_key = ${FAKE_SECRET_KEY}\n`,
  {mode: 0o600},
)
const tests = join(work, 'tests')
await mkdir(tests)
await writeFile(
  join(tests, 'bench.mjs'),
  `export const tests = [1, 3].map((n) => ({name: 'bench.cluster' + n, platforms: ['aws'], clusterSize: n, run: async (c) => { if (c.machines.length !== n) c.fatal('machines missing') }}))\n`,
)
const env = {
  PATH: process.env.PATH,
  HOME: home,
  AWS_ENDPOINT_URL_EC2: fake.url,
  AWS_ENDPOINT_URL_STS: fake.url,
  AWS_EC2_METADATA_DISABLED: 'true',
  NODE_ENV: 'production',
}

/** One `kola run` of a cluster of n machines: the seconds until the slowest SSH answered, the test's duration, the whole run. */
async function run(n, round) {
  const out = join(work, `_n${n}_${round}_temp`)
  const started = performance.now()
  // Not spawnSync: the fake answers from this process's event loop.
  const r = await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [kola, 'run', '-v', '-p', 'aws', '--aws-ami', FAKE_AMI, '--tests-dir', tests, '--output-dir', out, `bench.cluster${n}`],
      {env, stdio: ['ignore', 'ignore', 'pipe']},
    )
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (status) => resolve({status, stderr}))
  })
  const whole = (performance.now() - started) / 1000
  if (r.status !== 0) throw new Error(`kola run exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const answered = [...r.stderr.matchAll(/SSH answered after ([\d.]+)s/g)].map((m) => Number(m[1]))
  if (answered.length !== n) throw new Error(`expected ${n} machines, saw ${answered.length}`)
  const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8'))
  const test = report.tests.find((t) => t.name === `bench.cluster${n}`)
  return {up: Math.max(...answered), test: test.duration / 1e9, whole}
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = {1: [], 3: []}
try {
  for (let i = 0; i < rounds; i++) {
    for (const n of [1, 3]) results[n].push(await run(n, i))
  }
} finally {
  await fake.stop()
  await rm(work, {recursive: true, force: true})
}
const row = (n) => {
  const rs = results[n]
  return `| ${n} | ${median(rs.map((r) => r.up)).toFixed(2)} | ${median(rs.map((r) => r.test)).toFixed(2)} | ${median(rs.map((r) => r.whole)).toFixed(2)} |`
}
const ratio = median(results[3].map((r) => r.up)) / median(results[1].map((r) => r.up))
console.log(`kola on the AWS platform, fake EC2 with 1 s launch and 2 s until running, SSH stubs; ${rounds} rounds, medians (s)`)
console.log('| machines | cluster up | test (report.json) | kola run |')
console.log('|---|---|---|---|')
console.log(row(1))
console.log(row(3))
console.log(`3 machines up in ${ratio.toFixed(2)}x the time of 1 (goal <= 1.3x): ${ratio <= 1.3 ? 'met' : 'NOT met'}`)
