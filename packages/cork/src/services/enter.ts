import {EngineApi} from './engine/api.js'
import type {Endpoint} from './engine/endpoint.js'
import {execInContainer, type Terminal, type Writer} from './engine/exec.js'
import {containerName, containerWorkdir, type SdkLayout} from './sdk/layout.js'

export interface EnterOptions {
  layout: SdkLayout
  endpoint: Endpoint
  /** Empty: an interactive login shell. */
  command: readonly string[]
  /** Run with a TTY (the shell always has one when the local side is a terminal). */
  tty: boolean
  /** Forward this stdin to the process. */
  stdin?: NodeJS.ReadableStream | undefined
  stdout: Writer
  stderr: Writer
  terminal?: Terminal | undefined
  /** `uid:gid` the process runs as: the invoking user's, so files it creates are theirs outside. */
  user: string
  /** The host's working directory: mapped into /mnt/host/source when it is inside the checkout. */
  cwd: string
  /** Extra environment (TERM for a TTY). */
  env?: string[] | undefined
  signal?: AbortSignal | undefined
  onStarted?: () => void
}

/** The shell of an interactive `cork enter`: a login shell, so that the SDK's profile is read. */
export const SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi']

/** Runs a command (or a shell) in the checkout's SDK container and returns its exit code. */
export async function enterSdk(options: EnterOptions): Promise<number> {
  const {layout} = options
  const api = new EngineApi(options.endpoint)
  try {
    return await execInContainer(api, {
      container: containerName(layout.versions.name, layout.arch, layout.versions.sdk, layout.versions.os),
      cmd: options.command.length > 0 ? [...options.command] : SHELL,
      user: options.user,
      env: options.env,
      workdir: containerWorkdir(layout.root, options.cwd),
      tty: options.tty,
      stdin: options.stdin,
      stdout: options.stdout,
      stderr: options.stderr,
      terminal: options.terminal,
      signal: options.signal,
      onStarted: options.onStarted,
    })
  } finally {
    api.close()
  }
}
