import {BaseCommand, CheckFailedError} from '@mantle/kit'

import {kubeFlags, kubeSpecFrom} from '../../kube/options.js'
import {kubeStatus} from '../../kube/run.js'

export default class KubeStatus extends BaseCommand<typeof KubeStatus> {
  static override summary = 'Say whether the cluster `kola kube up` left in the output directory is up (exit 1 when it is not).'
  static override examples = ['<%= config.bin %> kube status', '<%= config.bin %> kube status --json']
  static override enableJsonFlag = true
  static override flags = {...kubeFlags}

  async run(): Promise<{deployer: string; runId: string; up: boolean; kubeconfig?: string | undefined}> {
    const {logger, signal, env, cwd, home, redactor} = this.context
    const spec = await kubeSpecFrom(this.flags, {env, cwd, home, logger, redactor, nodeBinary: process.execPath})
    const status = await kubeStatus({spec, outputDir: this.flags['output-dir'], logger, signal})
    this.log(
      `${status.deployer} run ${status.runId}: ${status.up ? 'up' : 'down'}${status.kubeconfig ? ` (KUBECONFIG=${status.kubeconfig})` : ''}`,
    )
    if (!status.up && !this.jsonEnabled()) throw new CheckFailedError(`the ${status.deployer} cluster of run ${status.runId} is not up`)
    return status
  }
}
