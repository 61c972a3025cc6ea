import {InfraError, UsageError} from '@mantle/kit/errors'

import type {EngineApi} from './engine/api.js'
import {execInContainer, type Terminal, type Writer} from './engine/exec.js'
import {containerWorkdir, sdkContainerName, type SdkLayout} from './sdk/layout.js'
import {RESOLV_CONF} from './sdk/mounts.js'

export interface EnterOptions {
  layout: SdkLayout
  /** The engine's API; the caller closes it. */
  engine: EngineApi
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
  /** The container's name (--chroot), instead of the one derived from the versions. */
  chroot?: string | undefined
  /** The host's /etc/resolv.conf, copied into the container before the command runs (--use-host-dns). */
  hostDns?: string | undefined
  signal?: AbortSignal | undefined
  onStarted?: () => void
}

/** The shell of an interactive `cork enter`: a login shell, so that the SDK's profile is read. */
export const SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi']

/** Runs a command (or a shell) in the checkout's SDK container and returns its exit code. */
export async function enterSdk(options: EnterOptions): Promise<number> {
  const container = sdkContainerName(options.layout, options.chroot)
  const api = options.engine
  if (options.hostDns !== undefined) await copyHostDns(api, container, options.hostDns, options.signal)
  return execInContainer(api, {
    container,
    cmd: options.command.length > 0 ? [...options.command] : SHELL,
    user: options.user,
    env: options.env,
    workdir: containerWorkdir(options.layout.root, options.cwd),
    tty: options.tty,
    stdin: options.stdin,
    stdout: options.stdout,
    stderr: options.stderr,
    terminal: options.terminal,
    signal: options.signal,
    onStarted: options.onStarted,
  })
}

/** The host's /etc/resolv.conf, for --use-host-dns. */
export async function hostResolvConf(): Promise<string> {
  const {readFile} = await import('node:fs/promises')
  try {
    return await readFile(RESOLV_CONF, 'utf8')
  } catch (error) {
    throw new UsageError(`--use-host-dns: cannot read the host's ${RESOLV_CONF}: ${(error as Error).message}`)
  }
}

/**
 * The original wrote the chroot's /etc/resolv.conf on every enter, the
 * host's with --use-host-dns. Here: the host's content into the container's
 * file, as root, unless it is already there (a container created with
 * --use-host-dns has the host's file mounted read-only).
 */
async function copyHostDns(api: EngineApi, container: string, content: string, signal?: AbortSignal): Promise<void> {
  const script = 'printf "%s" "$1" | cmp -s - /etc/resolv.conf || printf "%s" "$1" >/etc/resolv.conf'
  const errors: Buffer[] = []
  const code = await execInContainer(api, {
    container,
    cmd: ['/bin/sh', '-c', script, 'use-host-dns', content],
    user: '0:0',
    tty: false,
    stdout: {write: () => true, once: () => undefined},
    stderr: {write: (chunk) => errors.push(chunk) > 0, once: () => undefined},
    signal,
  })
  if (code !== 0) {
    const said = Buffer.concat(errors).toString('utf8').trim().split('\n').at(-1)
    throw new InfraError(`cannot copy the host's /etc/resolv.conf into ${container} (exit ${code})${said ? `: ${said}` : ''}`)
  }
}
