import type {StageResult} from './services/stages.js'

/** The lines a stage's result prints on stdout: each action done (or still needed), then a summary. */
export function stageLines(result: StageResult): string[] {
  const spec = `${result.channel}/${result.board}/${result.version}`
  const lines: string[] = []
  for (const step of result.actions)
    for (const action of step.actions) lines.push(`${result.dryRun ? 'todo' : 'done'}  ${step.id}: ${action}`)
  const n = result.actions.length
  if (n === 0) lines.push(`${result.stage} ${spec}: nothing to do (${result.done.length} steps already done)`)
  else if (result.dryRun) lines.push(`${result.stage} ${spec}: ${n} of ${n + result.done.length} steps still to do`)
  else lines.push(`${result.stage} ${spec}: ${n} steps performed, ${result.done.length} already done`)
  return lines
}
