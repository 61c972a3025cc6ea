import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {chmod, mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer, type AddressInfo} from 'node:net'
import {join} from 'node:path'

import {binPath, isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'
import {kubeBridges, kubeLeftovers, leakedNetns, lockLocalClusters, netnsList} from '@mantle/test-utils/kube-leftovers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLUSTER_SCRIPT} from './local.js'

/**
 * `kola kube` on real single-node clusters started here from the cached
 * Kubernetes binaries (scripts/services/kube.sh builds them once and writes
 * MANTLE_KUBE_BIN into .services/kube.env). Each test starts and stops its own
 * cluster on its own ports, names and pod subnet, beside the service's cluster.
 * Clusters cost ~30 s each here, so each test proves several things at once.
 */
const bin = process.env.MANTLE_KUBE_BIN
const available = Boolean(bin && existsSync(join(bin, 'kube-apiserver')))
if (process.env.CI && !available)
  throw new Error('MANTLE_KUBE_BIN is not set or has no binaries: start scripts/services/kube.sh first (CI must run these tests)')
const kubectl = bin ? join(bin, 'kubectl') : 'kubectl'
const CLUSTER_TIMEOUT = 8 * 60_000

// Other files that start local clusters wait until this one is done (and it for them): see lockLocalClusters.
let unlock: (() => Promise<void>) | undefined
beforeAll(async () => {
  unlock = await lockLocalClusters()
}, 60 * 60_000)
afterAll(async () => {
  await unlock?.()
})
let tmp: {dir: string; cleanup: () => Promise<void>}
let BRIDGES_BEFORE: string[] = []
beforeAll(async () => {
  tmp = await makeTempDir()
  BRIDGES_BEFORE = bridges()
})
afterAll(async () => {
  await tmp?.cleanup()
})

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // The Kubernetes binaries are cached under the real HOME; the test's own HOME is isolated.
  return isolatedEnv(join(tmp.dir, 'home'), {...extra})
}

const leftovers = kubeLeftovers
const bridges = kubeBridges

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function script(name: string, body: string): Promise<string> {
  const path = join(tmp.dir, name)
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

const JOB = (image: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: hello}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: hello
        image: ${image}
        imagePullPolicy: Never
        command: ["sh", "-c", "echo hello from the job; cat /etc/passwd | head -n1"]
`

describe.skipIf(!available)('kola kube on a real local cluster', () => {
  it(
    'exec: the script applies a Job with kubectl and waits for it; exit 0, logs and JUnit in the output dir, nothing left',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      // Given a script that runs a Job in the run's namespace and saves an artifact
      const out = join(tmp.dir, 'exec-ok')
      const before = {netns: netnsList(), links: bridges()}
      const job = join(tmp.dir, 'job.yaml')
      await writeFile(job, JOB('mantle.local/busybox:local'))
      const test = await script(
        'job.sh',
        `set -e
${kubectl} -n "$KOLA_NAMESPACE" apply -f ${job}
${kubectl} -n "$KOLA_NAMESPACE" wait --for=condition=complete job/hello --timeout=180s
${kubectl} -n "$KOLA_NAMESPACE" logs job/hello > "$ARTIFACTS/job.log"
echo "$KOLA_RUN_ID $KUBETEST2_RUN_DIR" > "$ARTIFACTS/run.txt"`,
      )

      // When kola runs it on the local deployer
      const result = await runCli(
        'kola',
        ['kube', 'exec', '--local-bin', bin!, '--local-images', 'busybox', '--output-dir', out, '--', test],
        {env: env()},
      )

      // Then it exits 0, the Job ran, and the run's logs, events and component logs were dumped
      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.code).toBe(0)
      expect(await readFile(join(out, 'artifacts', 'job.log'), 'utf8')).toBe('hello from the job\nroot:x:0:0:root:/root:/bin/sh\n')
      const [runId, runDir] = (await readFile(join(out, 'artifacts', 'run.txt'), 'utf8')).trim().split(' ')
      expect(runDir).toBe(out)
      const nsDir = join(out, 'logs', 'cluster', `kola-${runId}`)
      const podLogs = readdirSync(nsDir).filter((f) => f.startsWith('hello-') && f.endsWith('_hello.log'))
      expect(podLogs).toHaveLength(1)
      expect(await readFile(join(nsDir, podLogs[0]!), 'utf8')).toContain('hello from the job')
      expect(await readFile(join(nsDir, 'events.txt'), 'utf8')).toMatch(/Job\/hello SuccessfulCreate/)
      for (const component of ['kube-apiserver.log', 'kubelet.log', 'containerd.log', 'etcd.log'])
        expect(existsSync(join(out, 'logs', 'deployer', component))).toBe(true)
      const junit = await readFile(join(out, 'junit_runner.xml'), 'utf8')
      expect(junit).toMatch(/<testcase name="Up"[^>]*\/>/)
      expect(junit).toMatch(/<testcase name="Test"[^>]*\/>/)
      expect(junit).toMatch(/<testcase name="Down"[^>]*\/>/)
      expect(junit).toContain('failures="0"')
      // And the cluster is gone: no process, mount, netns or bridge of it
      expect(leftovers(out)).toEqual({processes: [], mounts: [], links: before.links})
      expect(await leakedNetns(before.netns)).toEqual([])
    },
  )

  it(
    'command deployer: up and down scripts that start and stop a local cluster; the test script exits 7, kola exits 7 and down still runs',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      const out = join(tmp.dir, 'command')
      const clusterDir = join(tmp.dir, 'command-cluster')
      const vars = `MANTLE_KUBE_BIN=${bin} MANTLE_KUBE_NAME=kcmd MANTLE_KUBE_PORT_BASE=21990 MANTLE_KUBE_SUBNET=99 MANTLE_KUBE_IMAGES=`
      const up = await script(
        'up.sh',
        `${vars} bash ${CLUSTER_SCRIPT} start ${clusterDir} && cp ${clusterDir}/kubeconfig "$KOLA_KUBECONFIG"`,
      )
      const down = await script(
        'down.sh',
        `echo down ran > ${join(tmp.dir, 'down-ran')}; ${vars} bash ${CLUSTER_SCRIPT} stop ${clusterDir}`,
      )
      const test = await script('seven.sh', `${kubectl} get nodes -o name > ${join(tmp.dir, 'nodes.txt')}; exit 7`)

      const result = await runCli(
        'kola',
        [
          'kube',
          'exec',
          '--deployer',
          'command',
          '--up-command',
          up,
          '--down-command',
          down,
          '--kubeconfig',
          join(out, 'cmd.kubeconfig'),
          '--output-dir',
          out,
          '--',
          test,
        ],
        {env: env()},
      )

      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.stderr).toContain(`kola: error: ${test} exited 7`)
      expect(result.code).toBe(7)
      expect(await readFile(join(tmp.dir, 'nodes.txt'), 'utf8')).toBe('node/localhost\n')
      expect(await readFile(join(tmp.dir, 'down-ran'), 'utf8')).toBe('down ran\n')
      expect(await readFile(join(out, 'junit_runner.xml'), 'utf8')).toMatch(
        /<testcase name="Test"[^>]*>\s*<failure message=".*seven\.sh exited 7"/,
      )
      expect(leftovers(clusterDir).processes).toEqual([])
      expect(bridges()).not.toContain('mk-kcmd')
    },
  )

  it(
    'exec: SIGINT during the script tears the cluster down; no process, mount, netns or bridge is left; exit 3',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      const out = join(tmp.dir, 'sigint')
      const before = {netns: netnsList(), links: bridges()}
      const started = join(tmp.dir, 'sigint-started')
      // A pod runs (so there is a netns and mounts to remove) while the script sleeps.
      const test = await script(
        'sleepy.sh',
        `${kubectl} -n "$KOLA_NAMESPACE" run sleeper --image=mantle.local/busybox:local --image-pull-policy=Never --restart=Never --command -- sleep 600
${kubectl} -n "$KOLA_NAMESPACE" wait --for=condition=ready pod/sleeper --timeout=180s && touch ${started}
sleep 600`,
      )
      const child = spawn(
        process.execPath,
        [binPath('kola'), 'kube', 'exec', '--local-bin', bin!, '--local-images', 'busybox', '--output-dir', out, '--', test],
        {env: env(), stdio: ['ignore', 'pipe', 'pipe']},
      )
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      let code: number | null
      try {
        // When the pod is running, kola gets SIGINT
        for (let i = 0; i < 1200 && !existsSync(started) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 250))
        expect(existsSync(started)).toBe(true)
        const during = leftovers(out)
        expect(during.processes.length).toBeGreaterThan(0)
        expect(await leakedNetns(before.netns)).not.toEqual([])
      } finally {
        // Also when an expectation failed: never leave kola's cluster behind.
        child.kill('SIGINT')
        code = await exited
      }

      expect(stderr).not.toMatch(/internal error/)
      expect(stderr).toContain('kola: error: interrupted by SIGINT')
      expect(code).toBe(3)
      expect(leftovers(out)).toEqual({processes: [], mounts: [], links: before.links})
      expect(await leakedNetns(before.netns)).toEqual([])
      expect(await readFile(join(out, 'junit_runner.xml'), 'utf8')).toMatch(/<testcase name="Down"[^>]*\/>/)
    },
  )

  it(
    'up --interactive: the kubeconfig in the output dir works from another process; SIGTERM takes the cluster down',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      const out = join(tmp.dir, 'interactive')
      const child = spawn(
        process.execPath,
        [binPath('kola'), 'kube', 'up', '--interactive', '--local-bin', bin!, '--local-images', '', '--output-dir', out],
        {env: env(), stdio: ['ignore', 'pipe', 'pipe']},
      )
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      let code: number | null
      try {
        for (let i = 0; i < 1200 && !stdout.includes('KUBECONFIG=') && child.exitCode === null; i++)
          await new Promise((r) => setTimeout(r, 250))

        // Then it printed where the kubeconfig is, and another process reaches the cluster with it
        expect(stdout).toBe(`KUBECONFIG=${join(out, 'kubeconfig')}\n`)
        const nodes = execFileSync(
          kubectl,
          [
            '--kubeconfig',
            join(out, 'kubeconfig'),
            'get',
            'nodes',
            '-o',
            'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}',
          ],
          {encoding: 'utf8'},
        )
        expect(nodes).toBe('True')
        const status = await runCli('kola', ['kube', 'status', '--output-dir', out, '--json'], {env: env()})
        expect(JSON.parse(status.stdout)).toMatchObject({deployer: 'local', up: true})
      } finally {
        // When SIGTERM arrives, the cluster goes down and kola exits 0
        child.kill('SIGTERM')
        code = await exited
      }
      expect(code).toBe(0)
      expect(stderr).not.toMatch(/internal error/)
      expect(leftovers(out).processes).toEqual([])
      const gone = await runCli('kola', ['kube', 'status', '--output-dir', out], {env: env()})
      expect(gone.code).toBe(2)
    },
  )
})

describe.skipIf(!available)('kola kube down --all', () => {
  it(
    'finds the local cluster an `up` left behind (its kola is gone) by its marker and removes it',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      // Given a cluster left running by `kola kube up` (no --interactive: kola exits, the cluster stays)
      const out = join(tmp.dir, 'left')
      const up = await runCli('kola', ['kube', 'up', '--local-bin', bin!, '--local-images', '', '--output-dir', out], {env: env()})
      expect(up.code).toBe(0)
      expect(up.stdout).toBe(`KUBECONFIG=${join(out, 'kubeconfig')}\n`)
      expect(leftovers(out).processes.length).toBeGreaterThan(0)

      // When down --all runs from elsewhere (another output dir: it finds the cluster by kola's marker alone)
      const down = await runCli('kola', ['kube', 'down', '--all', '--output-dir', join(tmp.dir, 'elsewhere')], {env: env()})

      // Then it names and removes it
      expect(down.stderr).not.toMatch(/error/)
      expect(down.code).toBe(0)
      expect(down.stdout).toMatch(/^removed local k[0-9a-f]{7}\n$/)
      expect(leftovers(out).processes).toEqual([])
      expect(leftovers(out).mounts).toEqual([])
      expect(bridges()).toEqual(BRIDGES_BEFORE)
    },
  )
})

describe('kola kube: bad input, one line each, the exit code of the table, nothing left running', () => {
  it('the kubeconfig deployer without a kubeconfig file: exit 2', async () => {
    const out = join(tmp.dir, 'bad-1')
    const result = await runCli(
      'kola',
      ['kube', 'exec', '--deployer', 'kubeconfig', '--kubeconfig', join(tmp.dir, 'missing.kubeconfig'), '--output-dir', out, '--', 'true'],
      {env: env()},
    )
    expect(result.stderr).toBe(
      `kola: error: kubeconfig ${join(tmp.dir, 'missing.kubeconfig')} does not exist (pass the file of an existing cluster to --kubeconfig)\n`,
    )
    expect(result.code).toBe(2)
  })

  it('an API server nobody answers: exit 3', async () => {
    const out = join(tmp.dir, 'bad-2')
    const kubeconfig = join(tmp.dir, 'unreachable.kubeconfig')
    const port = await closedPort()
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: "https://127.0.0.1:${port}"}}]\nusers: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\ncurrent-context: x\n`,
    )
    const result = await runCli(
      'kola',
      ['kube', 'exec', '--deployer', 'kubeconfig', '--kubeconfig', kubeconfig, '--output-dir', out, '--', 'true'],
      {env: env()},
    )
    expect(result.stderr).toBe(`kola: error: asking the API server its version at https://127.0.0.1:${port}: fetch failed (ECONNREFUSED)\n`)
    expect(result.code).toBe(3)
    expect(await readFile(join(out, 'junit_runner.xml'), 'utf8')).toMatch(/<testcase name="Up"[^>]*>\s*<failure/)
  })

  it('an up command that fails: exit 3, and down ran', async () => {
    const out = join(tmp.dir, 'bad-3')
    const marker = join(tmp.dir, 'bad-3-down')
    const result = await runCli(
      'kola',
      [
        'kube',
        'exec',
        '--deployer',
        'command',
        '--up-command',
        'echo no quota >&2; exit 1',
        '--down-command',
        `touch ${marker}`,
        '--kubeconfig',
        'k',
        '--output-dir',
        out,
        '--',
        'true',
      ],
      {env: env()},
    )
    expect(result.stderr).toBe('kola: error: up command exited 1: no quota (the command was: echo no quota >&2; exit 1)\n')
    expect(result.code).toBe(3)
    expect(existsSync(marker)).toBe(true)
  })

  it.skipIf(!available)(
    'a local cluster that never becomes ready (its API server dies): exit 3, nothing left running',
    {timeout: CLUSTER_TIMEOUT},
    async () => {
      // Given binaries whose kube-apiserver exits at once
      const broken = join(tmp.dir, 'broken-bin')
      await mkdir(broken, {recursive: true})
      for (const f of readdirSync(bin!)) if (f !== 'kube-apiserver') execFileSync('ln', ['-s', join(bin!, f), join(broken, f)])
      await writeFile(join(broken, 'kube-apiserver'), '#!/bin/sh\necho "E1206 unable to load server certificate" >&2\nexit 1\n')
      await chmod(join(broken, 'kube-apiserver'), 0o755)
      const out = join(tmp.dir, 'bad-4')
      const before = bridges()

      const result = await runCli(
        'kola',
        ['kube', 'exec', '--local-bin', broken, '--local-images', '', '--output-dir', out, '--', 'true'],
        {env: env()},
      )

      expect(result.stderr).toMatch(
        /^kola: error: local cluster did not start: kube-apiserver exited while waiting for the API server answering on 127\.0\.0\.1:\d+; logs in .* \(logs in .*\)\n$/,
      )
      expect(result.code).toBe(3)
      expect(leftovers(out).processes).toEqual([])
      expect(bridges()).toEqual(before)
    },
  )

  it('exec without a script: exit 2', async () => {
    const result = await runCli('kola', ['kube', 'exec', '--output-dir', join(tmp.dir, 'bad-5')], {env: env()})
    expect(result.stderr).toBe('kola: error: no script to run (kola kube exec [flags] -- ./test.sh [args])\n')
    expect(result.code).toBe(2)
  })
})
