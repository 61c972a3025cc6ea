import {Logger, Progress, Redactor} from '@mantle/kit'
import {describe, expect, it} from 'vitest'

import {boundariesOf, runSteps, type Step} from './step.js'

const logger = new Logger({level: 'error', stream: {write: () => true}, redactor: new Redactor()})

/** A step over a set of "done" names: it reports its action until it has run. */
function step(id: string, world: Set<string>, ran: string[]): Step {
  return {
    id,
    where: 'test',
    check: async () => (world.has(id) ? [] : [`do ${id}`]),
    run: async () => {
      ran.push(id)
      world.add(id)
    },
  }
}

describe('runSteps', () => {
  it('runs only the steps whose check reports work, and reports them', async () => {
    // Given three steps of which the second is already done
    const world = new Set(['b'])
    const ran: string[] = []
    const steps = ['a', 'b', 'c'].map((id) => step(id, world, ran))
    // When they run
    const report = await runSteps(steps, {dryRun: false, signal: new AbortController().signal, logger})
    // Then a and c ran, b was skipped
    expect(ran).toEqual(['a', 'c'])
    expect(report.performed.map((p) => p.actions)).toEqual([['do a'], ['do c']])
    expect(report.skipped).toEqual(['b'])
  })

  it('with dryRun reports the pending actions and runs nothing', async () => {
    const world = new Set<string>()
    const ran: string[] = []
    const report = await runSteps([step('a', world, ran)], {dryRun: true, signal: new AbortController().signal, logger})
    expect(ran).toEqual([])
    expect(report.performed).toEqual([{id: 'a', where: 'test', actions: ['do a']}])
  })

  it('a second run has nothing to do', async () => {
    const world = new Set<string>()
    const ran: string[] = []
    const steps = ['a', 'b'].map((id) => step(id, world, ran))
    await runSteps(steps, {dryRun: false, signal: new AbortController().signal, logger})
    const again = await runSteps(steps, {dryRun: true, signal: new AbortController().signal, logger})
    expect(again.performed).toEqual([])
  })

  it('passes every boundary in order', async () => {
    const world = new Set(['b'])
    const steps = ['a', 'b'].map((id) => step(id, world, []))
    const seen: string[] = []
    await runSteps(steps, {dryRun: false, signal: new AbortController().signal, logger, onBoundary: (p) => void seen.push(p)})
    expect(seen).toEqual(boundariesOf(steps))
    expect(seen).toEqual(['before:a', 'after:a', 'before:b', 'after:b', 'before:end'])
  })

  it('refuses two steps with the same id', async () => {
    const steps = [step('a', new Set(), []), step('a', new Set(), [])]
    await expect(runSteps(steps, {dryRun: true, signal: new AbortController().signal, logger})).rejects.toThrow(/two steps share the id a/)
  })

  it('shows which step runs, and where, on a terminal', async () => {
    // Given a progress view drawing to a terminal
    const drawn: string[] = []
    const progress = new Progress({
      stream: {write: (s: string) => drawn.push(s), isTTY: true},
      enabled: true,
      label: 'plume release',
      now: () => 0,
    })
    const steps: Step[] = ['us-east-1', 'eu-west-1'].map((region) => ({
      ...step(`aws/AWS/${region}/publish`, new Set(), []),
      where: `aws AWS ${region}`,
    }))
    // When the steps run
    await runSteps(steps, {dryRun: false, signal: new AbortController().signal, logger, progress})
    // Then each step and its region were drawn in turn, and the line was finished
    expect(drawn.join('')).toContain('plume release  [1/2 aws AWS us-east-1: publish]')
    expect(drawn.join('')).toContain('plume release  [2/2 aws AWS eu-west-1: publish]')
    expect(drawn.at(-1)).toMatch(/\n$/)
  })

  it('draws nothing when stderr is not a terminal', async () => {
    const drawn: string[] = []
    const progress = new Progress({stream: {write: (s: string) => drawn.push(s)}, enabled: false, label: 'plume release'})
    await runSteps([step('a', new Set(), [])], {dryRun: false, signal: new AbortController().signal, logger, progress})
    expect(drawn).toEqual([])
  })
})
