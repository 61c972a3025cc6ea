import {BaseCommand, Flags} from '@mantle/kit'

import {kubeFlags, kubeSpecFrom} from '../../kube/options.js'
import {kubeInteractive, kubeUp} from '../../kube/run.js'

export default class KubeUp extends BaseCommand<typeof KubeUp> {
  static override summary = 'Bring a cluster up and write its kubeconfig to the output directory.'
  static override description = `Without --interactive the cluster stays up after kola exits; \`kola kube down\` with the same --output-dir removes it.
With --interactive kola keeps it until SIGINT or SIGTERM, then takes it down.`
  static override examples = [
    '<%= config.bin %> kube up --interactive',
    '<%= config.bin %> kube up --output-dir _dev && KUBECONFIG=_dev/kubeconfig kubectl get nodes',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    interactive: Flags.boolean({char: 'i', summary: 'Keep the cluster until SIGINT or SIGTERM, then take it down.'}),
  }

  async run(): Promise<{runId: string; deployer: string; kubeconfig: string}> {
    const {logger, signal, env, cwd, home, redactor} = this.context
    const spec = await kubeSpecFrom(this.flags, {env, cwd, home, logger, redactor, nodeBinary: process.execPath})
    const options = {spec, outputDir: this.flags['output-dir'], logger, signal}
    if (!this.flags.interactive) {
      const up = await kubeUp(options)
      this.log(`KUBECONFIG=${up.kubeconfig}`)
      logger.notice(`the cluster stays up: kola kube down --output-dir ${this.flags['output-dir']} removes it`)
      return up
    }
    return kubeInteractive({
      ...options,
      onReady: (kubeconfig) => {
        this.log(`KUBECONFIG=${kubeconfig}`)
        logger.notice('the cluster is up; Ctrl-C (or SIGTERM) takes it down')
      },
    })
  }
}
