import {spawn} from 'node:child_process'

import {InterruptedError} from '@mantle/kit'

export interface RunOptions {
  env: NodeJS.ProcessEnv
  cwd?: string | undefined
  /** On abort the whole process group gets SIGTERM, then SIGKILL after `killAfterMs`. */
  signal?: AbortSignal | undefined
  killAfterMs?: number
  /** 'inherit' for the user's test script; 'pipe' collects stdout and stderr. */
  stdio: 'inherit' | 'pipe'
  /** With 'pipe': each stderr line goes here as it arrives. */
  onStderr?: (line: string) => void
}

export interface RunResult {
  code: number
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Our abort signal fired while it ran. */
  aborted: boolean
}

/**
 * Runs a program in its own process group and waits for it; on abort, the
 * group is stopped (SIGTERM, then SIGKILL), so a script's children go too.
 * Resolves with the exit code; rejects only when the program cannot start.
 */
export function runProgram(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: options.stdio === 'inherit' ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let partial = ''
    let aborted = false
    let killTimer: NodeJS.Timeout | undefined
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      if (!options.onStderr) return
      partial += d
      const lines = partial.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) options.onStderr(line)
    })
    const group = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig)
      } catch {
        // already gone
      }
    }
    const onAbort = (): void => {
      aborted = true
      group('SIGTERM')
      killTimer = setTimeout(() => group('SIGKILL'), options.killAfterMs ?? 10_000)
    }
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, {once: true})
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort)
      reject(error)
    })
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort)
      if (killTimer) clearTimeout(killTimer)
      if (partial && options.onStderr) options.onStderr(partial)
      resolve({code: code ?? (signal ? 128 + signalNumber(signal) : 1), signal, stdout, stderr, aborted})
    })
  })
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15} as Record<string, number>)[signal] ?? 1
}

/** Throws the abort reason (an InterruptedError) when the signal fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return
  throw signal.reason instanceof Error ? signal.reason : new InterruptedError('SIGINT')
}
