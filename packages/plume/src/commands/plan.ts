import {BaseCommand, Flags} from '@mantle/kit'

import {planFlags} from '../flags.js'
import type {StageResult} from '../services/stages.js'

export default class Plan extends BaseCommand<typeof Plan> {
  static override summary = 'Print the actions pre-release and release still need; a complete release has nothing to do.'
  static override examples = [
    '<%= config.bin %> plan --config channels/local.yaml -B amd64-usr -V 1.2.3',
    '<%= config.bin %> plan -c channels/flatcar.yaml -C beta -B all -V 3815.2.0',
    '<%= config.bin %> plan -c channels/flatcar.yaml -C beta -V 3815.2.0 --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...planFlags,
    board: Flags.string({
      char: 'B',
      summary: 'Board, or "all" for every board of the channel (default: src/scripts/.default_board of --sdk-root, else <arch>-usr).',
      helpGroup: 'SPEC',
    }),
  }

  async run(): Promise<{stages: StageResult[]; complete: boolean}> {
    const {loadConfig, stageOptions} = await import('../setup.js')
    const {channelOf} = await import('../config/load.js')
    const {planStages} = await import('../services/stages.js')
    const {stageLines} = await import('../report.js')
    // -B all: each board is its own release (its names, architecture and clouds), planned one after the other.
    const boards =
      this.flags.board === 'all' ? channelOf(await loadConfig(this.flags, this.context.cwd), this.flags.channel).boards : [this.flags.board]
    const stages: StageResult[] = []
    for (const board of boards) {
      const planned = await planStages(await stageOptions({...this.flags, board}, this.context))
      stages.push(...planned)
      if (planned.every((s) => s.actions.length === 0)) {
        const s = planned[0]!
        this.log(`nothing to do: pre-release and release of ${s.channel}/${s.board}/${s.version} are complete`)
      } else {
        for (const s of planned) for (const line of stageLines(s)) this.log(line)
      }
    }
    return {stages, complete: stages.every((s) => s.actions.length === 0)}
  }
}
