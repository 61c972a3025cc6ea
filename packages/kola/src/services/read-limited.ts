import {open} from 'node:fs/promises'

import {UsageError} from '@mantle/kit'

export const MiB = 1024 * 1024

/**
 * Reads a file the user named (a console log, a denylist, an Ignition
 * config) as text, stopping at `limit` bytes: a file over the limit, or an
 * endless one such as /dev/zero, is a usage error naming the file and the
 * limit, in bounded time and memory, never a hang or an out-of-memory crash.
 * Pipes and devices are read too, with the same limit.
 */
export async function readLimited(path: string, limit: number, what: string, hint?: string): Promise<string> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot read the ${what} ${path}: ${error.code === 'ENOENT' ? 'no such file' : (error.code ?? error.message)}`,
      hint ? {hint} : {},
    )
  })
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      // One byte past the limit tells "exactly at the limit" from "over it".
      const buffer = Buffer.allocUnsafe(Math.min(4 * MiB, limit + 1 - total))
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, null).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot read the ${what} ${path}: ${error.code === 'EISDIR' ? 'it is a directory' : (error.code ?? error.message)}`,
          hint ? {hint} : {},
        )
      })
      if (bytesRead === 0) break
      chunks.push(buffer.subarray(0, bytesRead))
      total += bytesRead
      if (total > limit)
        throw new UsageError(`the ${what} ${path} is larger than ${formatLimit(limit)}, the most kola reads`, hint ? {hint} : {})
    }
    return Buffer.concat(chunks, total).toString('utf8')
  } finally {
    await handle.close()
  }
}

function formatLimit(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes} bytes`
}

/** Ignition configs inline whole files, but tens of MiB is not a config. */
export const USERDATA_LIMIT = 16 * MiB

/** `--userdata`: the Ignition config file, read with the limit. */
export function readUserData(path: string): Promise<string> {
  return readLimited(path, USERDATA_LIMIT, 'Ignition config', 'pass an Ignition config file to --userdata')
}
