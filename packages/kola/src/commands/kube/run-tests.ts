import {Args, BaseCommand} from '@mantle/kit'

import {kubeFlags, kubeSpecFrom} from '../../kube/options.js'
import {loadProject} from '../../kube/run-tests/project.js'
import {resultsTable, runTests, TestsFailedError, type RunTestsResult} from '../../kube/run-tests/run.js'
import {runTestsFlags, runTestsFrom} from '../../options.js'
import {serveMetrics, TestMetrics} from '../../services/metrics.js'

export default class KubeRunTests extends BaseCommand<typeof KubeRunTests> {
  static override summary = "Run a project's end-to-end tests as Kubernetes Jobs on a fresh cluster (or namespace)."
  static override description = `Up; a fresh namespace; the project's manifests (server-side apply) and Helm charts; wait until every Deployment,
StatefulSet and DaemonSet is available; the tests as Jobs (at most --parallelism at once, each with a timeout); each test's log, exit code
and events; a table, test.tap, reports/report.json, reports/junit.xml and tests/<test>.log in the output directory; down.
The project: kola-tests.yaml (schema: assets/kube/run-tests.schema.json), manifests/, charts, tests/ (Job YAMLs or scripts).
A Job annotated kola.mantle.io/metrics-port: "9091" is a kubernetes-assert runner: it passes when its pod's assertions_failed is 0
and tests_run above 0. With --metrics-port kola serves the run's results as the same metrics (assets/prometheus has the scrape
configuration and the alerting rule).
Exit code: 0 all passed, 1 a test failed, 2 bad input (settings, a manifest the API server rejects), 3 the cluster or a chart failed.`
  static override examples = [
    '<%= config.bin %> kube run-tests examples/kube-project',
    '<%= config.bin %> kube run-tests --deployer kubeconfig --kubeconfig ~/.kube/config --keep examples/kube-project',
    '<%= config.bin %> kube run-tests --metrics-port 9091 examples/kube-metrics',
  ]
  static override enableJsonFlag = true
  static override args = {project: Args.string({required: true, description: 'The project directory (with kola-tests.yaml).'})}
  static override flags = {...kubeFlags, ...runTestsFlags}

  async run(): Promise<RunTestsResult> {
    const {logger, signal, env, cwd, home, redactor} = this.context
    const opts = runTestsFrom(this.flags, env)
    const project = await loadProject(this.args.project, cwd)
    if (opts.parallelism) project.settings.parallelism = opts.parallelism
    if (opts.timeoutSeconds) project.settings.timeoutSeconds = opts.timeoutSeconds
    const spec = await kubeSpecFrom(this.flags, {env, cwd, home, logger, redactor, nodeBinary: process.execPath})
    const metrics = opts.metrics ? new TestMetrics() : undefined
    const server = metrics && opts.metrics ? await serveMetrics(metrics, opts.metrics.host, opts.metrics.port) : undefined
    if (server) logger.notice(`metrics on ${server.url}`)
    let result: RunTestsResult
    try {
      result = await runTests({
        spec,
        project,
        outputDir: this.flags['output-dir'],
        logger,
        signal,
        keep: opts.keep,
        helm: opts.helm,
        env,
        onResult: (r) => metrics?.record(r),
      })
      metrics?.suiteFinished()
      if (!this.jsonEnabled()) this.log(resultsTable(result.tests))
      logger.notice(`reports in ${result.outputDir}/reports, logs in ${result.outputDir}/tests`)
      if (server && !signal.aborted) {
        logger.notice(`run finished; still serving ${server.url} until Ctrl-C`)
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), {once: true})))
      }
    } finally {
      await server?.close()
    }
    if (result.failed > 0) throw new TestsFailedError(result.failed, result.tests.length)
    return result
  }
}
