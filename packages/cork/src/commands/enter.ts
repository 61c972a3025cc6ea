import {BaseCommand, Errors, Flags, UsageError} from '@mantle/kit'

import {chrootFlags, endpointFrom, engineFlags, enterFrom, hostDnsFlag, layoutFrom, layoutFlags} from '../options.js'
import {EngineApi} from '../services/engine/api.js'
import {enterSdk, hostResolvConf} from '../services/enter.js'
import {processTerminal} from '../terminal.js'

/** The exit code of the process inside, passed through as cork's own. */
class ProcessExit extends Error {
  constructor(readonly code: number) {
    super(`the process exited with ${code}`)
  }
}

export default class Enter extends BaseCommand<typeof Enter> {
  static override summary = 'Run a command in the SDK container, or an interactive shell without one.'
  static override description = `With no command: a login shell with a real TTY (raw mode, window size followed, Ctrl-C reaches the shell). With a command after "--": runs it as your uid/gid, stdout and stderr streamed separately, and exits with its exit code; -i forwards stdin, -t gives it a TTY. The working directory is the current one when it is inside the checkout (under /mnt/host/source), else /mnt/host/source. A stopped container is started first. --chroot NAME enters the container create --chroot NAME made; --use-host-dns first copies the host's /etc/resolv.conf into the container (as the original did on each enter).`
  static override examples = [
    '<%= config.bin %> enter',
    '<%= config.bin %> enter -- ./build_packages --board amd64-usr',
    'tar c src | <%= config.bin %> enter -i -- tar x -C /tmp',
    '<%= config.bin %> enter --docker-host unix:///run/podman/podman.sock -- emerge --info',
    '<%= config.bin %> enter --chroot my-sdk --use-host-dns -- emerge-gitclone',
  ]
  static override strict = false
  static override flags = {
    ...engineFlags,
    ...layoutFlags,
    ...chrootFlags,
    ...hostDnsFlag,
    tty: Flags.boolean({char: 't', summary: 'Give the command a TTY (stdout and stderr then arrive merged).'}),
    interactive: Flags.boolean({char: 'i', summary: 'Forward stdin to the command.'}),
    user: Flags.string({summary: 'uid:gid to run as inside (default: yours).'}),
  }

  async run(): Promise<void> {
    const {flags, context} = this
    const stdinTty = Boolean(process.stdin.isTTY)
    const {forwardStdin, ...options} = enterFrom(
      flags,
      this.commandArgs(),
      {stdinIsTty: stdinTty, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0},
      context,
    )
    const engine = new EngineApi(endpointFrom(flags, context))
    const code = await enterSdk({
      ...options,
      layout: await layoutFrom(flags, context.cwd),
      engine,
      stdin: forwardStdin ? process.stdin : undefined,
      stdout: process.stdout,
      stderr: process.stderr,
      terminal: options.tty && stdinTty ? processTerminal(process.stdin, process.stdout) : undefined,
      hostDns: flags['use-host-dns'] ? await hostResolvConf() : undefined,
    }).finally(() => engine.close())
    // stdin was read: let it go, or the process would wait on it.
    process.stdin.destroy()
    if (code !== 0) throw new ProcessExit(code)
  }

  override async catch(error: Error & {oclif?: {exit?: number}}): Promise<never> {
    // Not an error of cork's: leave quietly with the process's code.
    if (error instanceof ProcessExit) throw new Errors.ExitError(error.code)
    return super.catch(error)
  }

  /** The command is everything after "--"; anything else left over is a mistake (an unknown flag, say). */
  private commandArgs(): string[] {
    const dashes = this.argv.indexOf('--')
    const after = dashes === -1 ? [] : this.argv.slice(dashes + 1)
    const {argv} = this.context
    const stray = argv.slice(0, argv.length - after.length)
    if (stray.length > 0) {
      throw new UsageError(`unexpected argument ${stray[0]}`, {hint: 'put the command after --, as in: cork enter -- make'})
    }
    return after
  }
}
