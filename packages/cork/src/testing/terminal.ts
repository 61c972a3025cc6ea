import {execFile, spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {promisify} from 'node:util'

/**
 * A command in a real pseudo-terminal for tests, through util-linux
 * `script`: what is typed goes to the terminal's input, what the command
 * prints collects in `output`.
 */
export interface TestTerminal {
  /** pid of `script`; the command is its child. */
  pid: number
  readonly output: string
  type(text: string): void
  /** Resolves once `output` matches; rejects if the command ends first or after 30 s (a hang guard, not a timing check). */
  waitFor(pattern: RegExp): Promise<void>
  /** The command's exit code. */
  exited: Promise<number | null>
  kill(): void
}

export function startInTerminal(command: string, options: {cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number}): TestTerminal {
  const child = spawn('script', ['--quiet', '--return', '--flush', '--command', command, '/dev/null'], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : {uid: options.uid}),
    ...(options.gid === undefined ? {} : {gid: options.gid}),
  })
  let output = ''
  const waiters = new Set<() => void>()
  const onOutput = (d: string): void => {
    output += d
    for (const w of waiters) w()
  }
  child.stdout.setEncoding('utf8').on('data', onOutput)
  child.stderr.setEncoding('utf8').on('data', onOutput)
  let ended = false
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      ended = true
      for (const w of waiters) w()
      resolve(code)
    }),
  )
  return {
    pid: child.pid!,
    get output() {
      return output
    },
    type: (text) => child.stdin.write(text),
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern} in: ${JSON.stringify(output)}`)), 30_000)
        const check = (): void => {
          if (pattern.test(output)) finish()
          else if (ended) finish(new Error(`the command ended before ${pattern} appeared in: ${JSON.stringify(output)}`))
        }
        const finish = (error?: Error): void => {
          clearTimeout(timer)
          waiters.delete(check)
          if (error) reject(error)
          else resolve()
        }
        waiters.add(check)
        check()
      }),
    exited,
    kill: () => {
      if (!ended) child.kill('SIGKILL')
    },
  }
}

/**
 * Resizes the pseudo-terminal of the command `script` runs, as a terminal
 * window would: the kernel then sends SIGWINCH to its foreground process.
 * Several sizes are set one after the other by one stty, as a dragged window does.
 */
export async function resizeTerminalOf(scriptPid: number, ...sizes: Array<[rows: number, columns: number]>): Promise<void> {
  const children = (await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8')).trim().split(/\s+/)
  const pid = children[0]
  if (!pid) throw new Error(`script (pid ${scriptPid}) has no child`)
  const settings = sizes.flatMap(([rows, columns]) => ['rows', String(rows), 'cols', String(columns)])
  await promisify(execFile)('stty', ['-F', `/proc/${pid}/fd/0`, ...settings])
}
