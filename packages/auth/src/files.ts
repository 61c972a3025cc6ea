import {readFile, stat} from 'node:fs/promises'

import {UsageError, type Logger} from '@mantle/kit'

/** Which credentials a file holds, for messages: "aws credentials /x: ...". */
export interface FileContext {
  provider: string
  file: string
  profile?: string | undefined
  logger: Logger
}

function where(ctx: FileContext): string {
  return `${ctx.provider} credentials ${ctx.file}${ctx.profile ? ` (profile "${ctx.profile}")` : ''}`
}

export function credentialError(ctx: FileContext, problem: string, hint?: string): UsageError {
  return new UsageError(`${where(ctx)}: ${problem}`, hint ? {hint} : {})
}

/** Reads a credential file; warns when group or others can read it. Undefined when absent. */
export async function readCredentialFile(ctx: FileContext): Promise<string | undefined> {
  let mode: number
  try {
    mode = (await stat(ctx.file)).mode
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw credentialError(ctx, `cannot read: ${(error as Error).message}`)
  }
  if ((mode & 0o077) !== 0) {
    ctx.logger.warn(`${ctx.file} is readable by group or others; run: chmod 600 ${ctx.file}`)
  }
  try {
    return await readFile(ctx.file, 'utf8')
  } catch (error) {
    throw credentialError(ctx, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** Reads a file that must exist. */
export async function requireCredentialFile(ctx: FileContext, hint?: string): Promise<string> {
  const text = await readCredentialFile(ctx)
  if (text === undefined) throw credentialError(ctx, 'file not found', hint)
  return text
}

export function parseJson(ctx: FileContext, text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    // JSON.parse's message can quote the file's content: keep only the position.
    const at = /position (\d+)/.exec((error as Error).message)
    throw credentialError(ctx, `malformed JSON${at ? ` at position ${at[1]}` : ''}`)
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Checks that `fields` are non-empty strings; returns them. */
export function requireStrings<K extends string>(
  ctx: FileContext,
  value: Record<string, unknown>,
  fields: readonly K[],
): Record<K, string> {
  const out = {} as Record<K, string>
  for (const f of fields) {
    const v = value[f]
    if (typeof v !== 'string' || v.length === 0) throw credentialError(ctx, `missing or empty field "${f}"`)
    out[f] = v
  }
  return out
}
