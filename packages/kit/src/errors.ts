/**
 * One hierarchy of errors for every tool. Each error carries the exit code of
 * the README's table; the base command's handler is the only place that turns
 * an error into output and an exit code.
 */

export const ExitCode = {
  Success: 0,
  /** The thing checked failed: tests failed, a signature did not verify. */
  CheckFailed: 1,
  /** Usage or configuration: a bad flag, missing or malformed credentials, a bad config file. */
  Usage: 2,
  /** Infrastructure: a cloud API, a VM, a container engine failed. */
  Infra: 3,
  /** A bug in the tool itself. */
  Bug: 4,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

// A brand survives duplicate copies of this package where `instanceof` does not.
const BRAND = Symbol.for('mantle.error')

export interface ErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string
  cause?: unknown
}

export abstract class MantleError extends Error {
  abstract readonly exitCode: ExitCode
  readonly hint: string | undefined
  readonly [BRAND] = true

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.hint = options.hint
  }
}

/** A check did not pass: a signature, a test, a verification. */
export class CheckFailedError extends MantleError {
  readonly exitCode = ExitCode.CheckFailed
}

/** The user can fix this by changing flags, files or configuration. */
export class UsageError extends MantleError {
  readonly exitCode = ExitCode.Usage
}

/** Something outside the tool failed: a cloud API, a VM, a container engine, the network. */
export class InfraError extends MantleError {
  readonly exitCode = ExitCode.Infra
}

/** An invariant of the tool itself broke. */
export class BugError extends MantleError {
  readonly exitCode = ExitCode.Bug
}

/** Raised when the user interrupts the run (SIGINT/SIGTERM). */
export class InterruptedError extends MantleError {
  readonly exitCode = ExitCode.Infra
  constructor(signal: string) {
    super(`interrupted by ${signal}`)
  }
}

export function isMantleError(error: unknown): error is MantleError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true
}

interface OclifLikeError {
  oclif?: {exit?: number}
  code?: string
}

/** Maps anything thrown to the exit code of the README's table. */
export function exitCodeOf(error: unknown): ExitCode | number {
  if (isMantleError(error)) return error.exitCode
  const e = error as OclifLikeError | undefined
  // oclif's parse errors (unknown flag, missing argument, bad option) carry exit 2.
  if (e?.oclif?.exit !== undefined) return e.oclif.exit
  if (e?.code === 'EEXIT') return ExitCode.Success
  return ExitCode.Bug
}

/** The first line of an error's message: errors print one line. */
export function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
  // oclif's flag-relationship errors (exclusive, dependsOn) put the reasons under a heading and end with a "See more help" line.
  if (/^The following errors? occurred:$/.test(lines[0] ?? '')) {
    const reasons = lines.slice(1).filter((l) => !/^See more help with/.test(l))
    if (reasons.length > 0) return reasons.join('; ')
  }
  // oclif wraps what a flag's own parser threw under "Parsing --flag": the reason is the line after it.
  const parsing = /^Parsing (--\S+)$/.exec(lines[0] ?? '')
  if (parsing && lines[1] !== undefined && !/^See more help with/.test(lines[1])) return `${parsing[1]}: ${lines[1]}`
  return lines[0] ?? 'unknown error'
}

/** The parts of a tool's package.json that name its optional peer dependencies. */
export interface PeerManifest {
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, {optional?: boolean}>
}

/**
 * An optional peer dependency of the tool that is not installed, as a usage
 * error naming it and how to install it; undefined for anything else. kola's
 * install leaves out the cloud SDKs, which it declares as optional peers
 * (scripts/pack.mjs) and loads (`await import`) only for a cloud: a command
 * that needs one finds it missing (ERR_MODULE_NOT_FOUND, maybe as the cause of
 * a cloud module's own error). The hint installs every optional peer of the
 * same scope (a cloud's SDK is several packages: @aws-sdk/*, @azure/*), so one
 * command does it. `pjson` is the tool's package.json.
 */
export function missingOptionalPeer(error: unknown, bin: string, pjson: PeerManifest): UsageError | undefined {
  const optional = Object.keys(pjson.peerDependenciesMeta ?? {}).filter((p) => pjson.peerDependenciesMeta?.[p]?.optional === true)
  let e = error as {code?: string; message?: string; cause?: unknown} | undefined
  for (let depth = 0; e && depth < 8; depth++, e = e.cause as typeof e) {
    if (e.code !== 'ERR_MODULE_NOT_FOUND') continue
    const name = /Cannot find package '([^']+)'/.exec(e.message ?? '')?.[1]
    if (name === undefined || !optional.includes(name)) return undefined
    const scope = name.startsWith('@') ? name.slice(0, name.indexOf('/') + 1) : undefined
    const install = (scope ? optional.filter((p) => p.startsWith(scope)) : [name]).map((p) => {
      const range = pjson.peerDependencies?.[p]
      return range ? `'${p}@${range}'` : p
    })
    return new UsageError(`this needs ${name}, which ${bin}'s install leaves out (it loads it only for the cloud that uses it)`, {
      hint: `install it beside ${bin}: npm install -g ${install.join(' ')}`,
      cause: error,
    })
  }
  return undefined
}
