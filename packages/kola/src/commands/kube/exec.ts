import {BaseCommand} from '@mantle/kit'

import {kubeFlags, kubeSpecFrom} from '../../kube/options.js'
import {type KubeExecResult, kubeExec, ScriptExitError} from '../../kube/run.js'
import {UsageError} from '@mantle/kit'

export default class KubeExec extends BaseCommand<typeof KubeExec> {
  static override summary = 'Bring a cluster up, run a script against it, dump its logs, take it down.'
  static override description = `kubetest2's --up --test=exec --down: the script runs with KUBECONFIG, ARTIFACTS (a directory under the output dir),
KOLA_RUN_ID, KOLA_RUN_DIR (also as KUBETEST2_RUN_ID and KUBETEST2_RUN_DIR) and KOLA_NAMESPACE (a namespace made for the run).
Then pods' logs and events of the namespaces the run touched, the nodes and (local) the components' logs go to <output-dir>/logs,
and the phases to <output-dir>/junit_runner.xml. The cluster comes down on every way out, Ctrl-C and SIGTERM included.
Exit code: the script's; 3 when the cluster never came up; 2 for bad input.`
  static override examples = [
    '<%= config.bin %> kube exec -- ./test.sh',
    '<%= config.bin %> kube exec --deployer kubeconfig --kubeconfig ~/.kube/config -- kubectl get nodes',
    "<%= config.bin %> kube exec --deployer command --up-command 'terraform apply -auto-approve' --down-command 'terraform destroy -auto-approve' --kubeconfig kubeconfig -- ./e2e.sh",
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override flags = {...kubeFlags}

  async run(): Promise<KubeExecResult> {
    const {logger, signal, env, cwd, argv, home, redactor} = this.context
    const [command, ...args] = argv
    if (!command) throw new UsageError('no script to run', {hint: 'kola kube exec [flags] -- ./test.sh [args]'})
    const spec = await kubeSpecFrom(this.flags, {env, cwd, home, logger, redactor, nodeBinary: process.execPath})
    const result = await kubeExec({spec, outputDir: this.flags['output-dir'], logger, signal, command, args, env, cwd})
    logger.notice(`logs in ${result.logs}, phases in ${result.junit}`)
    if (result.exitCode !== 0) throw new ScriptExitError(command, result.exitCode)
    return result
  }
}
