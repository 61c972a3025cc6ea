import {BaseCommand, Flags} from '@mantle/kit'

import {kubeFlags, kubeSpecFrom} from '../../kube/options.js'
import {kubeDown} from '../../kube/run.js'

export default class KubeDown extends BaseCommand<typeof KubeDown> {
  static override summary = 'Take down the cluster `kola kube up` left in the output directory.'
  static override description = `With --all, also what killed runs left, found by kola's marker: local clusters whose kola is gone,
namespaces labelled mantle.io/kola-run (kubeconfig and command deployers), and cloud clusters labelled created-by=mantle with a kola-run label.`
  static override examples = ['<%= config.bin %> kube down', '<%= config.bin %> kube down --all']
  static override enableJsonFlag = true
  static override flags = {
    ...kubeFlags,
    all: Flags.boolean({summary: 'Also remove what killed runs left behind (by marker).'}),
  }

  async run(): Promise<{removed: string[]}> {
    const {logger, signal, env, cwd, home, redactor} = this.context
    const spec = await kubeSpecFrom(this.flags, {env, cwd, home, logger, redactor, nodeBinary: process.execPath})
    const result = await kubeDown({spec, outputDir: this.flags['output-dir'], logger, signal, all: this.flags.all})
    for (const r of result.removed) this.log(`removed ${r}`)
    if (result.removed.length === 0) this.log('nothing to remove')
    return result
  }
}
