import {homedir} from 'node:os'
import {format} from 'node:util'

import {Command, Errors, Flags, type Interfaces} from './oclif.js'
import {BugError, exitCodeOf, ExitCode, InterruptedError, isMantleError, missingOptionalPeer, oneLine, type PeerManifest} from './errors.js'
import {levelFromFlags, Logger, LOG_LEVELS} from './log.js'
import {Progress} from './progress.js'
import {Redactor} from './redact.js'

/** What a command hands to the services it calls: they never see flags. */
export interface CommandContext {
  logger: Logger
  redactor: Redactor
  /** Aborted on SIGINT/SIGTERM: long work stops and cleans up. */
  signal: AbortSignal
  /** A progress display that draws only on a terminal, and never with --json. */
  progress(label: string, total?: number): Progress
  /** The environment, home and working directory, read once here and passed down. */
  env: NodeJS.ProcessEnv
  home: string
  cwd: string
  /** The positional arguments as parsed, in order (what a variadic command takes); never parse again. */
  argv: readonly string[]
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every command of every tool extends this: it parses the global flags, builds
 * the logger (stderr, redacted), and is the one place where errors become
 * output and exit codes.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    'log-level': Flags.option({
      options: LOG_LEVELS,
      summary: 'Minimum level of log lines written to stderr.',
      helpGroup: 'GLOBAL',
    })(),
    verbose: Flags.boolean({char: 'v', summary: 'Log informational messages (same as --log-level info).', helpGroup: 'GLOBAL'}),
    debug: Flags.boolean({char: 'd', summary: 'Log debug messages and print stack traces of internal errors.', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  protected logger!: Logger
  private parsedArgv: readonly string[] = []
  private readonly cwd = process.cwd()
  protected readonly redactor = new Redactor()
  private readonly abort = new AbortController()
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.abort.signal.aborted) {
      // A second signal means the user really wants out now.
      process.exit(130)
    }
    this.logger?.warn(`received ${signal}, stopping and cleaning up (send again to exit at once)`)
    this.abort.abort(new InterruptedError(signal))
  }

  override async init(): Promise<void> {
    await super.init()
    // Until flags are parsed, errors are logged at the default level.
    this.logger = new Logger({level: 'notice', stream: process.stderr, redactor: this.redactor, name: this.config.bin})
    const {flags, args, argv} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.parsedArgv = argv as string[]
    this.logger = new Logger({level: levelFromFlags(this.flags), stream: process.stderr, redactor: this.redactor, name: this.config.bin})
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  protected get context(): CommandContext {
    const json = this.jsonEnabled()
    return {
      logger: this.logger,
      redactor: this.redactor,
      signal: this.abort.signal,
      progress: (label, total) => new Progress({stream: process.stderr, enabled: Boolean(process.stderr.isTTY) && !json, label, total}),
      env: process.env,
      home: process.env.HOME ?? homedir(),
      cwd: this.cwd,
      argv: this.parsedArgv,
    }
  }

  /** Results go to stdout, redacted. */
  override log(message = '', ...args: unknown[]): void {
    if (this.jsonEnabled()) return
    process.stdout.write(this.redactor.redact(format(message, ...args)) + '\n')
  }

  override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(this.redactor.redactValue(json), null, 2) + '\n')
  }

  /** The one handler: one line on stderr (and a JSON error with --json), the exit code of the table. */
  override async catch(thrown: Error & {oclif?: {exit?: number}}): Promise<never> {
    const error = missingOptionalPeer(thrown, this.config.bin, this.config.pjson as PeerManifest) ?? thrown
    const code = exitCodeOf(error)
    if (code === ExitCode.Success && (error as {code?: string}).code === 'EEXIT') throw error
    const bug = code === ExitCode.Bug && !isMantleError(error)
    const message = this.redactor.redact(oneLine(error.message || String(error)))
    const hint = isMantleError(error) && error.hint ? ` (${this.redactor.redact(error.hint)})` : ''
    const debug = this.logger?.enabled('debug') ?? process.argv.includes('--debug')
    if (bug || error instanceof BugError) {
      process.stderr.write(
        `${this.config.bin}: internal error: ${message}${debug ? '' : ' (run again with --debug for the stack trace)'}\n`,
      )
      if (debug && error.stack) process.stderr.write(this.redactor.redact(error.stack) + '\n')
    } else {
      process.stderr.write(`${this.config.bin}: error: ${message}${hint}\n`)
      // A user error stays one line; for infrastructure, --debug adds what the far side said.
      if (debug && code === ExitCode.Infra && error.cause !== undefined) {
        process.stderr.write(
          `${this.config.bin}: debug: cause: ${this.redactor.redact(oneLine(String((error.cause as Error).message ?? error.cause)))}\n`,
        )
      }
    }
    if (this.jsonEnabled()) this.logJson({error: {message, exitCode: code, kind: error.name}})
    throw new Errors.ExitError(code)
  }

  override async finally(error: Error | undefined): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    await super.finally(error)
  }
}

/** `<tool> version`: the same command in every tool. */
export class VersionCommand extends BaseCommand<typeof VersionCommand> {
  static override summary = 'Print the version of this tool.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override enableJsonFlag = true

  async run(): Promise<{name: string; version: string; node: string; platform: string}> {
    const result = {
      name: this.config.bin,
      version: this.config.version,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    }
    this.log(`${result.name} ${result.version} (node ${result.node}, ${result.platform})`)
    return result
  }
}
