import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {InfraError} from '@mantle/kit'

import type {TestRecord} from '../harness/h.js'

/**
 * Test results as Prometheus metrics, after kubernetes-assert: any runner that
 * exports `assertions_failed` is a test, and an alert on it calls a person.
 * Per-test series carry the test's name as the `test` label.
 */
export class TestMetrics {
  private readonly latest = new Map<string, TestRecord>()
  private failedTotal = 0
  private runTotal = 0
  private suitesTotal = 0

  record(record: TestRecord): void {
    if (record.subtest) return
    this.latest.set(record.name, record)
    this.runTotal++
    if (record.result === 'FAIL') this.failedTotal++
  }

  suiteFinished(): void {
    this.suitesTotal++
  }

  /** The Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const latest = [...this.latest.values()]
    const failing = latest.filter((r) => r.result === 'FAIL').length
    const lines = [
      ...metric('assertions_failed', 'gauge', 'Tests whose latest result is a failure.', [['', failing]]),
      ...metric('assertions_failed_total', 'counter', 'Failed test results since kola started.', [['', this.failedTotal]]),
      ...metric('tests_run', 'gauge', 'Tests with a result in this run.', [['', latest.length]]),
      ...metric('tests_run_total', 'counter', 'Test results since kola started, reruns included.', [['', this.runTotal]]),
      ...metric('test_suites_run_total', 'counter', 'Runs of the suite that finished.', [['', this.suitesTotal]]),
      ...metric(
        'kola_test_failed',
        'gauge',
        'Whether the latest result of the test is a failure.',
        latest.map((r) => [labels({test: r.name}), r.result === 'FAIL' ? 1 : 0]),
      ),
      ...metric(
        'kola_test_duration_seconds',
        'gauge',
        'How long the latest run of the test took.',
        latest.map((r) => [labels({test: r.name, result: r.result}), r.durationMs / 1000]),
      ),
    ]
    return lines.join('\n') + '\n'
  }
}

function metric(name: string, type: string, help: string, samples: Array<[string, number]>): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([l, v]) => `${name}${l} ${v}`)]
}

function labels(values: Record<string, string>): string {
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
  return `{${Object.entries(values)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',')}}`
}

/** Serves `/metrics` on host:port (port 0: any free port). */
export async function serveMetrics(metrics: TestMetrics, host: string, port: number): Promise<{url: string; close: () => Promise<void>}> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
      res.writeHead(200, {'content-type': 'text/plain; version=0.0.4; charset=utf-8'})
      res.end(metrics.render())
    } else {
      res.writeHead(404).end('not found: try /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new InfraError(`cannot serve metrics on ${host}:${port}: ${error.message}`, {hint: 'choose another --metrics-port'})),
    )
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        // Prometheus keeps its connection open between scrapes.
        server.closeAllConnections()
      }),
  }
}
