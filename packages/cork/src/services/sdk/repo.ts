import type {Logger} from '@mantle/kit'
import {CheckFailedError, InfraError} from '@mantle/kit/errors'

import {EngineApi} from '../engine/api.js'
import type {Endpoint} from '../engine/endpoint.js'
import {execInContainer, type Writer} from '../engine/exec.js'
import {SOURCE_MOUNT} from './layout.js'

/**
 * What the original did in its chroot after unpacking the SDK: `repo init` of
 * a manifest and `repo sync`, in the checkout, as the user. Here they run in
 * the SDK container, through the same exec as `cork enter`.
 */

export const DEFAULT_MANIFEST_BRANCH = 'master'
export const DEFAULT_MANIFEST_NAME = 'default.xml'

export interface RepoOptions {
  /** `repo init -u <url> -b <branch> -m <name>` first; without it only `repo sync` runs (update --force-sync). */
  manifest?: {url: string; branch: string; name: string} | undefined
  /** After repo init: `git verify-tag` of the manifest's tag in .repo/manifests, before anything is synced. */
  verifySignature: boolean
  /** `repo sync --force-sync`: overwrite stale .git directories. */
  forceSync: boolean
}

export interface RepoStep {
  step: string
  command: string[]
}

/** The tag a `--manifest-branch` names, as git verify-tag takes it. */
export function manifestTag(branch: string): string {
  return branch.replace(/^refs\/tags\//, '')
}

/** The commands, in order, that bring the checkout to the manifest. */
export function repoSteps(options: RepoOptions): RepoStep[] {
  const steps: RepoStep[] = []
  const {manifest} = options
  if (manifest) {
    steps.push({step: 'repo init', command: ['repo', 'init', '-u', manifest.url, '-b', manifest.branch, '-m', manifest.name]})
    if (options.verifySignature) {
      steps.push({
        step: 'the manifest signature check',
        command: ['git', '-C', '.repo/manifests', 'verify-tag', manifestTag(manifest.branch)],
      })
    }
  }
  steps.push({step: 'repo sync', command: options.forceSync ? ['repo', 'sync', '--force-sync'] : ['repo', 'sync']})
  return steps
}

/**
 * Runs the repo steps in `container`, in /mnt/host/source, as `user`. Their
 * output goes to the log (info); a step that fails stops the rest and is
 * named in the error with the last line it wrote: a bad signature exits 1, a
 * failed repo 3.
 */
export async function syncCheckout(
  endpoint: Endpoint,
  container: string,
  options: RepoOptions & {user: string; logger: Logger; signal?: AbortSignal | undefined},
): Promise<RepoStep[]> {
  const steps = repoSteps(options)
  for (const {step, command} of steps) {
    options.logger.notice(`${step} in ${container}: ${command.join(' ')}`)
    const {code, lastLine} = await runStep(endpoint, container, command, {
      user: options.user,
      logger: options.logger,
      signal: options.signal,
    })
    if (code === 0) continue
    const detail = lastLine ? `: ${lastLine}` : ''
    if (command[0] === 'git') {
      throw new CheckFailedError(
        `the manifest tag ${command.at(-1)} in .repo/manifests does not verify (git verify-tag exited ${code})${detail}`,
        {
          hint: 'check --manifest-branch names a signed tag whose key is in your GPG keyring',
        },
      )
    }
    throw new InfraError(`${step} failed in ${container} (exit ${code})${detail}`, {
      hint: 'run it with cork enter to see all of its output',
    })
  }
  return steps
}

/** Runs one command in the container, its output logged line by line; returns its exit code and the last line it wrote on stderr. */
export async function runStep(
  endpoint: Endpoint,
  container: string,
  command: string[],
  options: {user: string; logger: Logger; signal?: AbortSignal | undefined},
): Promise<{code: number; lastLine: string}> {
  const stdout = new LineLog(options.logger)
  const stderr = new LineLog(options.logger)
  const api = new EngineApi(endpoint)
  try {
    const code = await execInContainer(api, {
      container,
      cmd: command,
      user: options.user,
      workdir: SOURCE_MOUNT,
      tty: false,
      stdout,
      stderr,
      signal: options.signal,
    })
    stdout.flush()
    stderr.flush()
    return {code, lastLine: stderr.last}
  } finally {
    api.close()
  }
}

/** A writer that logs each complete line at info and remembers the last non-empty one. */
class LineLog implements Writer {
  last = ''
  private pending = ''

  constructor(private readonly logger: Logger) {}

  write(chunk: Buffer): boolean {
    const lines = (this.pending + chunk.toString('utf8')).split(/\r?\n|\r/)
    this.pending = lines.pop() ?? ''
    for (const line of lines) this.line(line)
    return true
  }

  once(): undefined {
    return undefined
  }

  flush(): void {
    if (this.pending) this.line(this.pending)
    this.pending = ''
  }

  private line(line: string): void {
    if (line.trim() === '') return
    this.last = line.trim()
    this.logger.info(line)
  }
}
