import {BaseCommand} from '@mantle/kit'

import {planFlags} from '../flags.js'
import type {StageResult} from '../services/stages.js'

export default class Plan extends BaseCommand<typeof Plan> {
  static override summary = 'Print the actions pre-release and release still need; a complete release has nothing to do.'
  static override examples = ['<%= config.bin %> plan --config channels/local.yaml -B amd64-usr -V 1.2.3', '<%= config.bin %> plan -c channels/flatcar.yaml -C beta -V 3815.2.0 --json']
  static override enableJsonFlag = true
  static override flags = planFlags

  async run(): Promise<{stages: StageResult[]; complete: boolean}> {
    const {stageOptions} = await import('../setup.js')
    const {planStages} = await import('../services/stages.js')
    const {stageLines} = await import('../report.js')
    const stages = await planStages(await stageOptions(this.flags, this.context))
    const complete = stages.every((s) => s.actions.length === 0)
    if (complete) {
      const s = stages[0]!
      this.log(`nothing to do: pre-release and release of ${s.channel}/${s.board}/${s.version} are complete`)
    } else {
      for (const s of stages) for (const line of stageLines(s)) this.log(line)
    }
    return {stages, complete}
  }
}
