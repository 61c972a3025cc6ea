import {BaseCommand, CheckFailedError, Flags, UsageError} from '@mantle/kit'

import {platformFlags, platformSettingsFrom} from '../options.js'
import {availablePlatforms} from '../services/platforms.js'
import {readUserData} from '../services/read-limited.js'
import {type SpawnResult, spawnMachines} from '../services/spawn.js'

export default class Spawn extends BaseCommand<typeof Spawn> {
  static override summary = 'Boot machines for a person to use, and remove them afterwards.'
  static override description = `Boots --nodecount machines from the image with the Ignition config of --userdata (kola adds its SSH key for user core),
then prints how to reach them and waits for Ctrl-C (or opens a shell with --shell, or leaves them running with --detach).
The private key, an ssh_config (hosts m0, m1, ...) and machines.env are written to the output directory.`
  static override examples = [
    '<%= config.bin %> spawn --shell',
    '<%= config.bin %> spawn -c 2 -u config.ign',
    '<%= config.bin %> spawn --detach --json',
    '<%= config.bin %> spawn --no-remove',
    '<%= config.bin %> spawn -c 2 --exec ./check-cluster.sh',
    '<%= config.bin %> spawn --interactive --output-dir _dev_temp',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...platformFlags,
    nodecount: Flags.integer({char: 'c', default: 1, min: 1, summary: 'Number of machines.'}),
    userdata: Flags.string({char: 'u', summary: 'File with an Ignition config (JSON) for the machines.'}),
    shell: Flags.boolean({
      char: 's',
      summary: 'Open an interactive SSH session on the first machine; remove the machines when it ends.',
      exclusive: ['detach', 'exec'],
    }),
    exec: Flags.string({
      summary:
        'Run this program once the machines are up, with KOLA_MACHINES, KOLA_MACHINE_ADDRESSES, KOLA_SSH_KEY, KOLA_SSH_USER and KOLA_SSH_CONFIG in its environment; remove the machines when it exits and exit with its code.',
      exclusive: ['detach'],
    }),
    interactive: Flags.boolean({
      summary:
        'Keep the machines up and the connection files written until SIGINT or SIGTERM, then remove them (the default without --shell, --detach or --exec).',
      exclusive: ['detach', 'exec', 'shell'],
    }),
    detach: Flags.boolean({char: 't', summary: 'Print how to reach the machines and exit, leaving them running.'}),
    remove: Flags.boolean({
      char: 'r',
      default: true,
      allowNo: true,
      summary: 'Remove the machines when spawn ends (--no-remove leaves them running).',
    }),
    'output-dir': Flags.string({summary: 'Where console logs, journals and the connection files go.'}),
  }

  async run(): Promise<SpawnResult> {
    const {logger, signal, env} = this.context
    const userData = this.flags.userdata ? await readUserData(this.flags.userdata) : undefined
    if (this.flags.shell && !process.stdin.isTTY) throw new UsageError('--shell needs a terminal on stdin')
    const settings = platformSettingsFrom(this.flags, env, {...this.context})
    const registry = await availablePlatforms(settings.modules)
    const platform = registry.get(settings.platform).name
    const result = await spawnMachines({
      platform,
      createFlight: (keepAlive) => registry.flightFor(platform, settings.options, {...settings.common, keepAlive}),
      count: this.flags.nodecount,
      userData,
      mode: this.flags.detach ? 'detach' : this.flags.shell ? 'shell' : this.flags.exec ? 'exec' : 'wait',
      exec: this.flags.exec ? {command: this.flags.exec, args: [], env} : undefined,
      remove: this.flags.remove,
      outputDir: this.flags['output-dir'],
      cwd: this.context.cwd,
      logger,
      signal,
      terminal: this.flags.shell ? {stdin: process.stdin, stdout: process.stdout, term: env.TERM ?? 'xterm'} : undefined,
      onReady: (machines, files) => {
        for (const m of machines) this.log(`${m.id}  ${m.ip}:${m.sshPort}  private ${m.privateIp}  ${m.ssh}`)
        this.log(`key ${files.key}, ssh_config ${files.sshConfig}, env ${files.env}`)
        if (!this.flags.detach && !this.flags.shell && !this.flags.exec && this.flags.remove)
          logger.notice('machines are up; Ctrl-C (or SIGTERM) removes them')
      },
    })
    if (result.exitCode !== undefined && result.exitCode !== 0) throw new ProgramExitError(this.flags.exec as string, result.exitCode)
    if (result.detached) {
      this.log(`left running: ${result.removal}`)
    }
    return result
  }
}

/** `--exec`: kola exits with the program's own code. */
class ProgramExitError extends CheckFailedError {
  override readonly exitCode: 1
  constructor(program: string, code: number) {
    super(`${program} exited ${code}`)
    // The program's code passes through unchanged, whatever it is.
    this.exitCode = code as 1
  }
}
