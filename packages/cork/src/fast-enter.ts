import {EngineApi} from './services/engine/api.js'
import {resolveEndpoint} from './services/engine/endpoint.js'
import type {Writer} from './services/engine/exec.js'
import {enterSdk} from './services/enter.js'
import {checkChrootName, resolveLayout} from './services/sdk/layout.js'

/**
 * `cork enter [--docker-host X] [--root X] [--sdk-version X] [--os-version X] [--board X] [--chroot X] -- <command>`
 * without oclif: build scripts run it hundreds of times, and loading oclif and
 * the command framework costs more than the exec itself. It reads only what
 * the command would read and calls the same service.
 *
 * Returns undefined, having done nothing that matters, for anything else
 * (other flags, --help, no command) and for any failure before the process
 * starts: bin/run.cjs then runs the real command, which parses, reports and
 * exits through the one error handler. The bin hands over the environment
 * and working directory, as the base command does for commands.
 */
export async function fastEnter(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number | undefined> {
  const parsed = parse(argv)
  if (!parsed) return undefined
  let started = false
  let engine: EngineApi | undefined
  try {
    // node:os only without HOME: half a millisecond on every run otherwise.
    engine = new EngineApi(
      resolveEndpoint({dockerHost: parsed.flags['docker-host'], env, home: env.HOME ?? (await import('node:os')).homedir()}),
    )
    // The first connection opens while the checkout is read.
    engine.prepare()
    const layout = await resolveLayout({
      root: parsed.flags.root,
      cwd,
      sdkVersion: parsed.flags['sdk-version'],
      osVersion: parsed.flags['os-version'],
      board: parsed.flags.board,
    })
    return await enterSdk({
      layout,
      engine,
      command: parsed.command,
      tty: false,
      // process.stdout and process.stderr are built on first use (~0.5 ms each): a command with no output needs neither.
      stdout: lazyWriter(() => process.stdout),
      stderr: lazyWriter(() => process.stderr),
      user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      cwd,
      chroot: checkChrootName(parsed.flags.chroot),
      onStarted: () => {
        started = true
      },
    })
  } catch (error) {
    if (!started) return undefined
    // The process ran: running it again is not an option; report here, as the base command would.
    const {exitCodeOf, oneLine} = await import('@mantle/kit/errors')
    process.stderr.write(`cork: error: ${oneLine((error as Error).message ?? String(error))}\n`)
    return exitCodeOf(error)
  } finally {
    engine?.close()
  }
}

function lazyWriter(get: () => NodeJS.WritableStream): Writer {
  return {
    write: (chunk) => get().write(chunk),
    once: (event, listener) => get().once(event, listener),
  }
}

const VALUE_FLAGS = new Set(['docker-host', 'root', 'sdk-version', 'os-version', 'board', 'chroot'])

function parse(argv: readonly string[]): {flags: Record<string, string>; command: string[]} | undefined {
  const flags: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      const command = argv.slice(i + 1)
      return command.length > 0 ? {flags, command} : undefined
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m || !VALUE_FLAGS.has(m[1]!) || m[1]! in flags) return undefined
    const value = m[2] ?? argv[++i]
    if (value === undefined || value === '' || value === '--') return undefined
    flags[m[1]!] = value
  }
  return undefined
}
