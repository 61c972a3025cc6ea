import {BaseCommand} from './base-command.js'
import {Args, type Config} from './oclif.js'

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const
export type CompletionShell = (typeof COMPLETION_SHELLS)[number]

/** What completion needs to know of one command. */
export interface CompletedCommand {
  /** Words of the command, as typed: `keys import`. */
  words: string[]
  /** `--name` and `-c` forms of its flags. */
  flags: string[]
  /** The values of flags that take one of a list (`--log-level` -> error warn ...). */
  values: Record<string, readonly string[]>
}

/** The visible commands of a CLI with their flags, from oclif's loaded configuration (its manifest: no command is imported). */
export function completedCommands(config: Config): CompletedCommand[] {
  return config.commands
    .filter((c) => !c.hidden)
    .map((c) => {
      const flags: string[] = ['--help']
      const values: Record<string, readonly string[]> = {}
      for (const [name, flag] of Object.entries(c.flags ?? {})) {
        if (flag.hidden) continue
        flags.push(`--${name}`)
        if (flag.char) flags.push(`-${flag.char}`)
        if (flag.type === 'option' && flag.options?.length) values[`--${name}`] = flag.options
      }
      return {words: c.id.split(':'), flags: [...new Set(flags)].sort(), values}
    })
    .sort((a, b) => a.words.join(' ').localeCompare(b.words.join(' ')))
}

/**
 * A completion script for bash (and zsh through its bash completion layer):
 * every command, topic, flag and flag value is written into the script, so a
 * TAB never starts the tool (which takes ~0.1 s) and completes instantly.
 * After a command's words: its flags when the word starts with `-`, a flag's
 * values after a flag that has some, else file names.
 */
export function completionScript(shell: CompletionShell, bin: string, commands: readonly CompletedCommand[]): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_completion`
  // For every command path and every topic (a prefix of some command): the words that may follow it.
  const next = new Map<string, Set<string>>()
  const add = (path: string, word: string): void => void (next.get(path) ?? next.set(path, new Set()).get(path)!).add(word)
  for (const c of commands) {
    for (let i = 0; i < c.words.length; i++) add(c.words.slice(0, i).join(' '), c.words[i]!)
  }
  const cases: string[] = []
  for (const path of [...new Set([...next.keys(), ...commands.map((c) => c.words.join(' '))])].sort()) {
    const command = commands.find((c) => c.words.join(' ') === path)
    cases.push(
      `    ${quote(path)}) sub=${quote([...(next.get(path) ?? [])].sort().join(' '))}; flags=${quote(command ? command.flags.join(' ') : '--help')} ;;`,
    )
  }
  const valueCases = commands.flatMap((c) =>
    Object.entries(c.values).map(([flag, v]) => `    ${quote(`${c.words.join(' ')}|${flag}`)}) values=${quote(v.join(' '))} ;;`),
  )
  const body = `# ${shell} completion for ${bin}, written by \`${bin} completion ${shell}\`.
${fn}() {
  local cur prev path="" word i sub flags values=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  ((COMP_CWORD > 1)) && prev="\${COMP_WORDS[COMP_CWORD - 1]}"
  # The command typed so far: the leading words that name a topic or command.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && break
    ${fn}_known "\${path:+$path }$word" || break
    path="\${path:+$path }$word"
  done
  case "$path|$prev" in
${valueCases.join('\n')}
  esac
  if [[ -n "$values" ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
    return 0
  fi
  ${fn}_words "$path"
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n "$sub" ]]; then
    COMPREPLY=($(compgen -W "$sub" -- "$cur"))
  else
    COMPREPLY=()
  fi
  return 0
}
${fn}_known() {
  local sub flags
  ${fn}_words "$1"
}
${fn}_words() {
  case "$1" in
${cases.join('\n')}
    *) return 1 ;;
  esac
}
complete -o default -F ${fn} ${bin}
`
  if (shell === 'bash') return body
  // zsh runs bash completion functions through bashcompinit (part of zsh itself).
  return `#compdef ${bin}
autoload -U +X bashcompinit && bashcompinit
${body}`
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** `<tool> completion bash|zsh`: the same command in every tool. */
export class CompletionCommand extends BaseCommand<typeof CompletionCommand> {
  static override summary = 'Print a shell completion script for bash or zsh.'
  static override description = `Load it in the current shell, or install it for every new one:

  bash:  source <(<%= config.bin %> completion bash)
         <%= config.bin %> completion bash > /etc/bash_completion.d/<%= config.bin %>
  zsh:   source <(<%= config.bin %> completion zsh)          (in ~/.zshrc, after compinit)
         <%= config.bin %> completion zsh > "\${fpath[1]}/_<%= config.bin %>"`
  static override examples = [
    '<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/<%= config.bin %>',
    'source <(<%= config.bin %> completion zsh)',
  ]
  static override args = {
    shell: Args.string({required: true, options: [...COMPLETION_SHELLS], description: 'The shell: bash or zsh.'}),
  }

  async run(): Promise<void> {
    this.log(completionScript(this.args.shell as CompletionShell, this.config.bin, completedCommands(this.config)).trimEnd())
  }
}
