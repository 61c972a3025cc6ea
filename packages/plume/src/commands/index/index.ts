import {BaseCommand, Flags, UsageError} from '@mantle/kit'

import {credentialFlags, specFlags} from '../../flags.js'
import {indexScope} from '../../options.js'

export default class Index extends BaseCommand<typeof Index> {
  static override summary = "Regenerate the index pages of a channel's storage destinations."
  static override examples = [
    '<%= config.bin %> index --config channels/local.yaml',
    '<%= config.bin %> index -c channels/flatcar.yaml -C all -B amd64-usr --dry-run',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...credentialFlags,
    config: specFlags.config,
    channel: Flags.string({char: 'C', summary: 'Channel, or "all".', default: 'user', helpGroup: 'SPEC'}),
    board: Flags.string({
      char: 'B',
      summary: 'Board, or "all" (default): which board directories to index.',
      default: 'all',
      helpGroup: 'SPEC',
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'Print the pages that would be written or deleted; write nothing.'}),
    force: Flags.boolean({summary: 'Write every page even when it is up to date.'}),
  }

  async run(): Promise<{destinations: {channel: string; url: string; actions: string[]}[]}> {
    const {loadConfig, storageFor} = await import('../../setup.js')
    const {channelOf} = await import('../../config/load.js')
    const {indexDestinations} = await import('../../services/destinations.js')
    const scope = indexScope(this.flags)
    const config = await loadConfig(this.flags, this.context.cwd)
    const specs = (scope.channels ?? Object.keys(config.channels)).map((c) => ({channel: c, spec: channelOf(config, c)}))
    for (const board of scope.boards ?? []) {
      for (const {channel, spec} of specs) {
        if (!spec.boards.includes(board))
          throw new UsageError(`board "${board}" is not published by channel "${channel}" (boards: ${spec.boards.join(', ')})`)
      }
    }
    const storage = await storageFor(
      specs.flatMap(({spec}) => (spec.destinations ?? []).map((d) => d.url)),
      this.flags,
      this.context,
    )
    const out: {channel: string; url: string; actions: string[]}[] = []
    for (const {channel, spec} of specs) {
      const done = await indexDestinations({
        destinations: spec.destinations ?? [],
        boards: scope.boards,
        storage,
        dryRun: scope.dryRun,
        force: scope.force,
        signal: this.context.signal,
      })
      for (const d of done) {
        for (const a of d.actions) this.log(`${scope.dryRun ? 'todo' : 'done'}  ${d.url}: ${a}`)
        if (d.actions.length === 0) this.log(`${d.url}: index pages up to date`)
        out.push({channel, ...d})
      }
    }
    return {destinations: out}
  }
}
