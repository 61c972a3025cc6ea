import {spawn, spawnSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCli, type Tool} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {completionScript} from './completion.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mantle-test-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** The tool's own completion script, written to a file. */
async function script(tool: Tool, shell: 'bash' | 'zsh'): Promise<string> {
  const result = await runCli(tool, ['completion', shell])
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  const file = join(dir, `${tool}.${shell}`)
  await writeFile(file, result.stdout)
  return file
}

/**
 * An interactive shell on a terminal (util-linux `script` gives it a pty), as
 * a person uses it: `setup` runs first, then each of `keys` is typed and the
 * test waits until the screen matches what follows it. Returns the screen.
 */
async function typeInto(shell: string[], setup: string, steps: Array<[keys: string, until: RegExp]>): Promise<string> {
  const child = spawn('script', ['-qfec', shell.join(' '), '/dev/null'], {
    env: {PATH: process.env.PATH, HOME: dir, TERM: 'dumb', PS1: '$ ', INPUTRC: '/dev/null'},
  })
  let screen = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d))
  const closed = new Promise((resolve) => child.on('close', resolve))
  const waitFor = async (re: RegExp, from: number): Promise<void> => {
    for (let i = 0; i < 300 && !re.test(screen.slice(from)); i++) await new Promise((r) => setTimeout(r, 100))
  }
  try {
    let from = screen.length
    // The command echoes as typed: the marker it prints is spelt differently there.
    child.stdin.write(`${setup}; echo RE""ADY\n`)
    await waitFor(/READY\r?\n/, from)
    for (const [keys, until] of steps) {
      from = screen.length
      // Ctrl-U clears what the previous step left on the line.
      child.stdin.write(`\x15${keys}`)
      await waitFor(until, from)
    }
    child.stdin.write('\x15exit\n')
    await closed
    return screen
  } finally {
    child.kill('SIGKILL')
  }
}

describe('shell completion', () => {
  it(
    'completes commands, flags and flag values in an interactive bash with `kola completion bash` loaded',
    {timeout: 120_000},
    async () => {
      // Given bash on a terminal, with kola's completion script sourced
      const file = await script('kola', 'bash')

      // When the user types `kola r<TAB>` (rerun and run both start with r: TAB twice lists them), `kola ru<TAB>`, a flag and a flag value
      const screen = await typeInto(['bash', '--norc', '--noprofile', '-i'], `source ${file}`, [
        ['kola ru\t', /kola run /],
        ['kola r\t\t', /\brun\b/],
        ['kola run --paral\t', /--parallel /],
        ['kola run --qemu-accel t\t', /--qemu-accel tcg /],
      ])

      // Then each is completed on the command line
      expect(screen).toContain('$ kola run ')
      expect(screen).toMatch(/\brun\b/)
      expect(screen).toContain('kola run --parallel ')
      expect(screen).toContain('kola run --qemu-accel tcg ')
    },
  )

  it('completes `kola ru` to `kola run` in an interactive zsh with `kola completion zsh` loaded', {timeout: 120_000}, async () => {
    // Given zsh on a terminal, compinit run and kola's zsh script sourced
    const file = await script('kola', 'zsh')

    // When the user types `kola ru<TAB>`
    const screen = await typeInto(['zsh', '-f', '-i'], `PS1='$ '; autoload -U compinit && compinit -u; source ${file}`, [
      ['kola ru\t', /kola run /],
    ])

    // Then zsh completes it
    expect(screen).toContain('kola run ')
  })

  it('completes the subcommands of a topic and the values of a global flag (gangue)', async () => {
    // Given gangue's bash script, with its `keys` topic
    const file = await script('gangue', 'bash')

    // When bash asks the completion function about `gangue keys i`, `gangue get --log-level w` and `gangue `
    const ask = (words: string[]): string => {
      const r = spawnSync(
        'bash',
        [
          '--norc',
          '--noprofile',
          '-c',
          `source ${file}; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _gangue_completion; echo "\${COMPREPLY[*]}"`,
          'bash',
          ...words,
        ],
        {encoding: 'utf8'},
      )
      return r.stdout.trim()
    }

    // Then it offers `import`, `warn`, and the top-level commands and topics
    expect(ask(['gangue', 'keys', 'i'])).toBe('import')
    expect(ask(['gangue', 'get', '--log-level', 'w'])).toBe('warn')
    expect(ask(['gangue', ''])).toBe('completion get keys prune version')
  })

  it('quotes what it embeds', () => {
    // Given a command whose name has a quote in it
    const text = completionScript('bash', 'x', [{words: ["it's"], flags: ['--help', '--all'], values: {}}])

    // When bash completes a flag after it
    const r = spawnSync(
      'bash',
      ['--norc', '-c', `${text}\nCOMP_WORDS=(x "it's" --a); COMP_CWORD=2; _x_completion; echo "\${COMPREPLY[*]}"`],
      {encoding: 'utf8'},
    )

    // Then the script parsed, and the command was recognised
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('--all')
  })
})
