import {spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'
import {kubeBridges, kubeLeftovers, leakedNetns, lockLocalClusters, netnsList} from '@mantle/test-utils/kube-leftovers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

/**
 * Cluster tests in kola's harness (#20 part 3) on the real local deployer:
 * `kola run kube.*` with the built-in cluster suite and cluster tests of a
 * --tests-dir module. Clusters cost ~30 s and more each here: the whole suite
 * shares one, and each test proves several things at once.
 */
const bin = process.env.MANTLE_KUBE_BIN
const available = Boolean(bin && existsSync(join(bin, 'kube-apiserver')))
if (process.env.CI && !available)
  throw new Error('MANTLE_KUBE_BIN is not set or has no binaries: start scripts/services/kube.sh first (CI must run these tests)')
const CLUSTER_TIMEOUT = 12 * 60_000

// Other files that start local clusters wait until this one is done (and it for them): see lockLocalClusters.
let unlock: (() => Promise<void>) | undefined
beforeAll(async () => {
  unlock = await lockLocalClusters()
}, 60 * 60_000)
afterAll(async () => {
  await unlock?.()
})
let tmp: {dir: string; cleanup: () => Promise<void>}
beforeAll(async () => {
  tmp = await makeTempDir()
})
afterAll(async () => {
  await tmp?.cleanup()
})

// The Kubernetes binaries are cached under the real HOME; the test's own HOME is isolated.
const env = (): NodeJS.ProcessEnv => isolatedEnv(join(tmp.dir, 'home'))
const deployerFlags = (): string[] => ['--local-bin', bin!, '--local-images', 'busybox']

/** A --tests-dir module of cluster tests (what a team adds without rebuilding kola). */
async function testsModule(name: string, body: string): Promise<string> {
  const dir = join(tmp.dir, name)
  await mkdir(dir, {recursive: true})
  await writeFile(join(dir, 'cluster-tests.mjs'), body)
  return dir
}

const SLEEPY_JOB = `apiVersion: batch/v1
kind: Job
metadata: {name: sleepy}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: s, image: mantle.local/busybox:local, imagePullPolicy: Never, command: [sleep, "600"]}]
`

const SLEEPY_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: sleepy}
spec:
  selector: {matchLabels: {app: sleepy}}
  template:
    metadata: {labels: {app: sleepy}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: s, image: mantle.local/busybox:local, imagePullPolicy: Never, command: [sleep, "600"]}]
`

describe.skipIf(!available)('kola run: cluster tests on the local deployer', () => {
  it(
    'kube.* and a module of cluster tests share one cluster; TAP, report.json and JUnit report each; a timeout, a denylist and --rerun apply; nothing left',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      // Given cluster tests of a module: one fails after using its namespace, one is denied, one outlives its timeout,
      // one fails only the first time
      const flakyMarker = join(tmp.dir, 'flaky-ran-once')
      const tests = await testsModule(
        'ext',
        `import {existsSync, writeFileSync} from 'node:fs'
export const tests = [
  {name: 'extkube.flaky', kube: {}, run: async (c) => {
    if (!existsSync(${JSON.stringify(flakyMarker)})) {
      writeFileSync(${JSON.stringify(flakyMarker)}, 'once')
      c.fatal('fails the first time only')
    }
    await c.kube.kubectl(['get', 'serviceaccount', 'default'])
  }},
  {name: 'extkube.fails', kube: {}, run: async (c) => {
    await c.kube.apply('apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: note}\\ndata: {seen: in-' + c.kube.namespace + '}\\n')
    c.fatal('configmap note holds ' + await c.kube.kubectl(['get', 'configmap', 'note', '-o', 'jsonpath={.data.seen}']))
  }},
  {name: 'extkube.denied', kube: {}, run: async (c) => c.fatal('a denied test ran')},
  {name: 'extkube.timeout', kube: {}, timeoutMs: 8000, run: async (c) => {
    await c.kube.apply(${JSON.stringify(SLEEPY_JOB)})
    await c.kube.kubectl(['wait', '--for=condition=complete', 'job/sleepy', '--timeout=600s'])
  }},
]
`,
      )
      const out = join(tmp.dir, 'out')
      const before = {netns: netnsList(), links: kubeBridges()}

      // When kola runs the built-in cluster suite and the module's tests on the local deployer
      const result = await runCli(
        'kola',
        [
          'run',
          ...deployerFlags(),
          '--tests-dir',
          tests,
          '--denylist-test',
          'extkube.denied',
          '--rerun',
          '--output-dir',
          out,
          'kube.*',
          'extkube.*',
        ],
        {env: env()},
      )

      // Then the run fails (exit 1) for the failing and the timed-out test (failed on their rerun too), the flaky one is a
      // flake, and the others pass or skip with their reason
      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(/^3 passed, 2 failed, 2 skipped, 1 flake\(s\); reports in /m)
      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap).toMatch(/^1\.\.7$/m)
      expect(tap).toMatch(/^ok - extkube\.flaky # flake: passed on rerun$/m)
      expect(tap).toMatch(/^ok - kube\.deployment$/m)
      expect(tap).toMatch(/^ok - kube\.job-configmap$/m)
      expect(tap).toMatch(/^ok - kube\.service # SKIP no kube-proxy pod on this cluster/m)
      expect(tap).toMatch(/^ok - extkube\.denied # SKIP denylisted \(extkube\.denied\)/m)
      expect(tap).toMatch(/^not ok - extkube\.fails$/m)
      expect(tap).toMatch(/^not ok - extkube\.timeout$/m)

      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        result: string
        tests: Array<{name: string; result: string; failure?: string; output?: string; flake?: boolean}>
      }
      expect(report.result).toBe('FAIL')
      const byName = Object.fromEntries(report.tests.map((t) => [t.name, t]))
      expect(byName['kube.deployment']).toMatchObject({result: 'PASS'})
      expect(byName['kube.job-configmap']).toMatchObject({result: 'PASS'})
      expect(byName['kube.service']).toMatchObject({result: 'SKIP'})
      // The failing test worked in a namespace of its own, named after it
      expect(byName['extkube.fails']).toMatchObject({result: 'FAIL', failure: 'test'})
      expect(byName['extkube.fails']?.output).toMatch(/configmap note holds in-kola-extkube-fails-[0-9a-f]{6}/)
      expect(byName['extkube.timeout']).toMatchObject({result: 'FAIL', failure: 'timeout'})

      const junit = await readFile(join(out, 'reports', 'junit.xml'), 'utf8')
      expect(junit).toMatch(
        /<testcase name="extkube\.fails"[^>]*>\s*<failure message="configmap note holds in-kola-extkube-fails-[0-9a-f]{6}"/,
      )
      expect(junit).toMatch(/<testcase name="extkube\.timeout"[^>]*>\s*<failure message="test timed out after 8\.00s"/)
      expect(junit).toMatch(/<testcase name="kube\.service"[^>]*>\s*<skipped message="no kube-proxy pod/)
      expect(junit).toMatch(/<testcase name="kube\.deployment"[^>]*\/>/)
      expect(existsSync(join(out, 'reports', 'report.html'))).toBe(true)

      expect(byName['extkube.flaky']).toMatchObject({result: 'PASS', flake: true})
      // And one cluster served the six tests that ran (the denied one started none), and one more their rerun
      expect(result.stderr.match(/one Kubernetes cluster for/g)).toHaveLength(2)
      expect(result.stderr).toContain(
        'one Kubernetes cluster for extkube.fails, extkube.flaky, extkube.timeout, kube.deployment, kube.job-configmap, kube.service',
      )
      expect(result.stderr).toContain('one Kubernetes cluster for extkube.fails, extkube.flaky, extkube.timeout\n')
      expect(readdirSync(out).filter((f) => f.startsWith('_kube-cluster'))).toHaveLength(1)
      expect(readdirSync(join(out, 'rerun')).filter((f) => f.startsWith('_kube-cluster'))).toHaveLength(1)
      // Each test's namespace's pods' logs and events were kept beside its output
      const jobDir = readdirSync(join(out, 'kube.job-configmap', 'cluster'))
      expect(jobDir).toHaveLength(1)
      const nsFiles = readdirSync(join(out, 'kube.job-configmap', 'cluster', jobDir[0]!))
      expect(nsFiles.some((f) => /^reader-.*_r\.log$/.test(f))).toBe(true)

      // And the cluster is gone: no process, mount, netns or bridge of it
      expect(kubeLeftovers(out)).toEqual({processes: [], mounts: [], links: before.links})
      expect(await leakedNetns(before.netns)).toEqual([])
    },
  )

  it(
    'SIGINT while a cluster test runs: the test is INTERRUPTED, the cluster goes down, nothing is left, exit 3',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      // Given a cluster test that runs a pod, says so, then waits
      const marker = join(tmp.dir, 'sigint-started')
      const tests = await testsModule(
        'sigint',
        `import {writeFileSync} from 'node:fs'
export const tests = [
  {name: 'extkube.waits', kube: {}, run: async (c) => {
    await c.kube.apply(${JSON.stringify(SLEEPY_DEPLOYMENT)})
    await c.kube.waitReady()
    writeFileSync(${JSON.stringify(marker)}, 'started')
    await c.kube.kubectl(['wait', '--for=delete', 'deployment/sleepy', '--timeout=600s'])
  }},
]
`,
      )
      const out = join(tmp.dir, 'sigint-out')
      const before = {netns: netnsList(), links: kubeBridges()}
      const child = spawn(
        process.execPath,
        [binPath('kola'), 'run', ...deployerFlags(), '--tests-dir', tests, '--output-dir', out, 'extkube.*'],
        {
          env: env(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.stdout.resume()
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
      let code: number | null
      try {
        for (let i = 0; i < 2400 && !existsSync(marker) && child.exitCode === null; i++) await sleep(250)
        expect(existsSync(marker), stderr).toBe(true)
        expect(kubeLeftovers(out).processes.length).toBeGreaterThan(0)
      } finally {
        // When Ctrl-C arrives (also when an expectation failed: never leave kola's cluster behind)
        child.kill('SIGINT')
        code = await exited
      }

      // Then kola exits 3, the test is reported INTERRUPTED, and the cluster is gone
      expect(stderr).not.toMatch(/internal error/)
      expect(stderr).toContain('kola: error: interrupted by SIGINT')
      expect(code).toBe(3)
      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap).toMatch(/^not ok - extkube\.waits # INTERRUPTED: interrupted by SIGINT$/m)
      expect(kubeLeftovers(out)).toEqual({processes: [], mounts: [], links: before.links})
      expect(await leakedNetns(before.netns)).toEqual([])
    },
  )
})

describe('kola list: cluster tests', () => {
  it('lists the built-in cluster suite as cluster tests (no machines), in the table and in --json', async () => {
    const table = await runCli('kola', ['list'], {env: env()})
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^kube\.deployment +all +all +all +a cluster$/m)
    const json = await runCli('kola', ['list', '--json'], {env: env()})
    const tests = (JSON.parse(json.stdout) as {tests: Array<{name: string; kube: boolean; clusterSize: number}>}).tests
    expect(tests.filter((t) => t.kube).map((t) => t.name)).toEqual(['kube.deployment', 'kube.job-configmap', 'kube.service'])
    expect(tests.find((t) => t.name === 'kube.service')).toMatchObject({kube: true, clusterSize: 0})
    expect(tests.find((t) => t.name === 'coreos.basic')).toMatchObject({kube: false, clusterSize: 1})
  })
})

describe('kola run: cluster tests, bad input', () => {
  it('deployer flags that do not fit are a usage error before anything starts: exit 2, one line', async () => {
    // When the command deployer lacks its commands
    const out = join(tmp.dir, 'bad')
    const result = await runCli('kola', ['run', '--deployer', 'command', '--output-dir', out, 'kube.*'], {env: env()})
    // Then kola says what is missing, and no test ran
    expect(result.stderr).toBe(
      'kola: error: the command deployer needs --up-command, --down-command and --kubeconfig (where up leaves it)\n',
    )
    expect(result.code).toBe(2)
    expect(existsSync(join(out, 'test.tap'))).toBe(false)
  })
})
