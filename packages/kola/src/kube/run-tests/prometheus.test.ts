import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {cp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer, type AddressInfo} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {binPath, isolatedEnv, makeTempDir, serviceEnv} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'

/**
 * kubernetes-assert end to end: `kola kube run-tests --metrics-port` on the
 * real local cluster (a metrics runner pod that fails, and a run where it
 * passes), scraped by Debian's real prometheus with the scrape configuration
 * and alerting rule kola ships in assets/prometheus.
 */
const ASSETS = fileURLToPath(new URL('../../../assets/prometheus', import.meta.url))
const EXAMPLE = fileURLToPath(new URL('../../../examples/kube-metrics', import.meta.url))
const PROMETHEUS = '/usr/bin/prometheus'
const hasPrometheus = existsSync(PROMETHEUS)
if (process.env.CI && !hasPrometheus) throw new Error('prometheus is not installed (scripts/system-deps.sh installs it)')
const {available} = serviceEnv(['KUBECONFIG'])
const TIMEOUT = 6 * 60_000

let tmp: {dir: string; cleanup: () => Promise<void>}
const children: ChildProcess[] = []
beforeAll(async () => {
  tmp = await makeTempDir()
})
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await tmp?.cleanup()
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const {port} = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

/** Starts kola kube run-tests --metrics-port on `project`; resolves with its metrics address once the run has finished (it then serves until SIGINT). */
function kolaServing(project: string, out: string): Promise<{address: string; child: ChildProcess; stderr: () => string}> {
  const child = spawn(
    process.execPath,
    [
      binPath('kola'),
      'kube',
      'run-tests',
      '--deployer',
      'kubeconfig',
      '--kubeconfig',
      process.env.KUBECONFIG ?? '',
      '--output-dir',
      out,
      '--metrics-port',
      '0',
      project,
    ],
    {env: isolatedEnv(join(tmp.dir, 'home')), stdio: ['ignore', 'pipe', 'pipe']},
  )
  children.push(child)
  let stderr = ''
  return new Promise((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      const url = /metrics on http:\/\/([^/\s]+)\/metrics/.exec(stderr)?.[1]
      if (url && stderr.includes('still serving')) resolve({address: url, child, stderr: () => stderr})
    })
    child.on('exit', (code) => reject(new Error(`kola exited ${code} before serving: ${stderr}`)))
  })
}

async function api<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`)
  return ((await res.json()) as {data: T}).data
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

describe('the shipped Prometheus pieces', () => {
  it.skipIf(!hasPrometheus)("promtool accepts kola's scrape configuration and alerting rule", async () => {
    const config = join(tmp.dir, 'check.yml')
    await cp(join(ASSETS, 'rules.yaml'), join(tmp.dir, 'rules.yaml'))
    await writeFile(config, `rule_files: [rules.yaml]\n${await readFile(join(ASSETS, 'scrape-config.yaml'), 'utf8')}`)
    expect(execFileSync('/usr/bin/promtool', ['check', 'config', config], {encoding: 'utf8'})).toMatch(/SUCCESS: 1 rules found/)
  })
})

describe.skipIf(!available || !hasPrometheus)('assertion metrics on the real local cluster and a real Prometheus', () => {
  it(
    'a runner pod passes or fails through assertions_failed; the rule fires for the failing run and stays silent for the passing one',
    {timeout: TIMEOUT},
    async () => {
      // Given the metrics example (runners pass: assertions_failed 0, fail: 2) and a copy with only the passing runner
      const passing = join(tmp.dir, 'passing')
      await cp(EXAMPLE, passing, {recursive: true})
      await rm(join(passing, 'tests', 'fail.yaml'))

      // When kola runs both and keeps serving its metrics
      const failed = await kolaServing(EXAMPLE, join(tmp.dir, 'failing-out'))
      const passed = await kolaServing(passing, join(tmp.dir, 'passing-out'))

      // Then the failing runner failed with its count and the passing one passed
      const report = JSON.parse(await readFile(join(tmp.dir, 'failing-out', 'reports', 'report.json'), 'utf8')) as {
        tests: {name: string; result: string; reason: string}[]
      }
      expect(report.tests.map((t) => [t.name, t.result, t.reason])).toEqual([
        ['fail', 'FAIL', 'assertions_failed 2 of tests_run 3'],
        ['pass', 'PASS', ''],
      ])
      expect(await (await fetch(`http://${failed.address}/metrics`)).text()).toMatch(/^assertions_failed 1$/m)
      expect(await (await fetch(`http://${passed.address}/metrics`)).text()).toMatch(/^assertions_failed 0$\n[\s\S]*^tests_run 1$/m)

      // And Debian's prometheus, with kola's scrape job (pointed at the two runs) and kola's rule
      const shipped = parse(await readFile(join(ASSETS, 'scrape-config.yaml'), 'utf8')) as {
        scrape_configs: {job_name: string; static_configs: {targets: string[]}[]}[]
      }
      const job = shipped.scrape_configs.find((j) => j.job_name === 'kola')
      if (!job) throw new Error('no kola job in the shipped scrape configuration')
      job.static_configs = [{targets: [failed.address, passed.address]}]
      Object.assign(job, {scrape_interval: '1s'})
      await cp(join(ASSETS, 'rules.yaml'), join(tmp.dir, 'rules.yaml'))
      await writeFile(
        join(tmp.dir, 'prometheus.yml'),
        JSON.stringify({global: {scrape_interval: '1s', evaluation_interval: '1s'}, rule_files: ['rules.yaml'], scrape_configs: [job]}),
      )
      const port = await freePort()
      const prom = spawn(
        PROMETHEUS,
        [
          `--config.file=${join(tmp.dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(tmp.dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        {stdio: 'ignore'},
      )
      children.push(prom)
      const base = `http://127.0.0.1:${port}`
      try {
        // When both targets have been scraped, and the rule evaluated after that
        await until('both runs scraped', async () => {
          const r = await api<{result: unknown[]}>(base, '/api/v1/query?query=tests_run')
          return r.result.length === 2 ? true : undefined
        })
        const scraped = Date.now()
        await until('a rule evaluation after both scrapes', async () => {
          const r = await api<{groups: {rules: {lastEvaluation: string}[]}[]}>(base, '/api/v1/rules')
          const last = r.groups[0]?.rules[0]?.lastEvaluation
          return last && Date.parse(last) > scraped + 1000 ? true : undefined
        })

        // Then the alert fires for the failing run's endpoint and not for the passing one
        const alerts = await api<{alerts: {labels: {alertname: string; instance: string}; state: string}[]}>(base, '/api/v1/alerts')
        const firing = alerts.alerts.filter((a) => a.labels.alertname === 'KolaAssertionsFailed').map((a) => [a.labels.instance, a.state])
        expect(firing).toEqual([[failed.address, 'firing']])
      } finally {
        prom.kill('SIGTERM')
        failed.child.kill('SIGINT')
        passed.child.kill('SIGINT')
      }
    },
  )
})
