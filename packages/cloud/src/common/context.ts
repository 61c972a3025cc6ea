import type {CommandContext} from '@mantle/kit'

import type {CallContext} from './retry.js'

/**
 * What a cloud service needs from the command that calls it: a subset of
 * kit's CommandContext plus test knobs. Services never see flags.
 */
export interface ServiceContext extends CallContext {
  /** A progress display for long transfers; none when omitted. */
  progress?: CommandContext['progress'] | undefined
  /** Between two polls of a long-running operation (tests pass 0). */
  pollIntervalMs?: number | undefined
  /** Injected for tests: the current time, for gc cutoffs. */
  now?: (() => Date) | undefined
}

/** A progress callback for uploads: advances a display when one is wanted. */
export function uploadProgress(
  ctx: ServiceContext,
  label: string,
  total: number | undefined,
): {onProgress: (bytes: number) => void; finish: () => void} {
  const bar = ctx.progress?.(label, total)
  return {onProgress: (bytes) => bar?.set(bytes), finish: () => bar?.finish()}
}
