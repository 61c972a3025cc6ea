import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const TOOLS = ['gangue', 'cork', 'ore', 'plume', 'kola'] as const
export type Tool = (typeof TOOLS)[number]

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** The tool's entry, as its package.json names it (bin/run.cjs, CommonJS, for every tool: packages/kit/src/start.cts). */
export function binPath(tool: Tool): string {
  const dir = join(REPO_ROOT, 'packages', tool)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {bin: Record<string, string>}
  return join(dir, pkg.bin[tool]!)
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunCliOptions {
  /** The child's whole environment: tests pass an explicit one so no ambient credentials leak in. */
  env?: NodeJS.ProcessEnv
  cwd?: string
  input?: string
  timeoutMs?: number
  /** Run as this user and group (tests run as root; some must prove what an ordinary user gets). */
  uid?: number
  gid?: number
  /** Read nothing of stdout and stderr for this long first, so that the tool meets back-pressure. */
  stallMs?: number
}

/**
 * A minimal environment for a CLI child: PATH and a HOME inside the test's temp
 * dir, nothing else, so the ambient ~/.aws, ~/.config and credentials variables
 * are never read.
 */
export function isolatedEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    NODE_ENV: 'production',
    ...extra,
  }
}

/** Runs a tool's bin as a child process (the real CLI, as users run it). */
export function runCli(tool: Tool, args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath(tool), ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : {uid: options.uid}),
      ...(options.gid === undefined ? {} : {gid: options.gid}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    if (options.stallMs) {
      child.stdout.pause()
      child.stderr.pause()
      setTimeout(() => {
        child.stdout.resume()
        child.stderr.resume()
      }, options.stallMs)
    }
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
    child.stdin.end(options.input ?? '')
  })
}
