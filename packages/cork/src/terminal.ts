import type {Terminal} from './services/engine/exec.js'

/** The local terminal, for a TTY exec: its size, its resize events (SIGWINCH), raw mode. */
export function processTerminal(stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream): Terminal {
  return {
    size: () => (stdout.isTTY && stdout.rows && stdout.columns ? {rows: stdout.rows, columns: stdout.columns} : undefined),
    onResize: (listener) => {
      stdout.on('resize', listener)
      return () => stdout.off('resize', listener)
    },
    setRaw: (raw) => {
      if (stdin.isTTY) stdin.setRawMode(raw)
    },
  }
}
