import {fileURLToPath} from 'node:url'
import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {BaseCommand} from './base-command.js'
import {Config, Flags} from './oclif.js'
import {InfraError, UsageError} from './errors.js'

class Throws extends BaseCommand<typeof Throws> {
  static override summary = 'test command'
  static override examples = ['x']
  static override enableJsonFlag = true
  static error: unknown
  async run(): Promise<void> {
    this.redactor.add('hunter2-secret')
    throw Throws.error
  }
}

describe('BaseCommand error handling', () => {
  let config: Config
  let stderr: string[]
  let stdout: string[]
  beforeAll(async () => {
    config = await Config.load(fileURLToPath(new URL('..', import.meta.url)))
  })
  afterEach(() => vi.restoreAllMocks())

  async function run(error: unknown, argv: string[] = []) {
    Throws.error = error
    stderr = []
    stdout = []
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (stderr.push(String(s)), true))
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (stdout.push(String(s)), true))
    const thrown = await Throws.run(argv, config).catch((e: unknown) => e)
    vi.restoreAllMocks()
    return (thrown as {oclif?: {exit?: number}}).oclif?.exit
  }

  it('a user error is one redacted line with its hint, exit 2', async () => {
    const code = await run(new UsageError('bad value hunter2-secret', {hint: 'fix it'}))
    expect(code).toBe(2)
    expect(stderr.join('')).toMatch(/^[\w@/-]+: error: bad value \*\*\* \(fix it\)\n$/)
  })

  it('a bug is one line pointing at --debug, exit 4; --debug adds the stack', async () => {
    expect(await run(new TypeError('cannot read x'))).toBe(4)
    expect(stderr.join('')).toMatch(/internal error: cannot read x \(run again with --debug for the stack trace\)\n$/)
    expect(await run(new TypeError('cannot read x'), ['--debug'])).toBe(4)
    expect(stderr.join('')).toMatch(/at .*base-command\.test\.ts/)
  })

  it('an infrastructure error exits 3 and --json also prints the error as JSON on stdout', async () => {
    expect(await run(new InfraError('engine did not answer'), ['--json'])).toBe(3)
    expect(JSON.parse(stdout.join(''))).toEqual({error: {message: 'engine did not answer', exitCode: 3, kind: 'InfraError'}})
  })
})

class Echoes extends BaseCommand<typeof Echoes> {
  static override summary = 'test command'
  static override examples = ['x']
  static override strict = false
  static override flags = {name: Flags.string()}
  async run(): Promise<{argv: readonly string[]; cwd: string}> {
    return {argv: this.context.argv, cwd: this.context.cwd}
  }
}

describe('BaseCommand context', () => {
  it('Given a variadic command, when run, then the context holds the positional arguments as parsed (no flags) and the working directory', async () => {
    const config = await Config.load(fileURLToPath(new URL('..', import.meta.url)))
    const result = await Echoes.run(['a', '--name', 'n', 'b'], config)
    expect(result).toEqual({argv: ['a', 'b'], cwd: process.cwd()})
  })
})
