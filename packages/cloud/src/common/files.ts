import {stat} from 'node:fs/promises'

import {UsageError} from '@mantle/kit'

/** The size of a local file that a command is about to upload; one clear line (exit 2) when it is not there. */
export async function requireFile(path: string, flag = '--file'): Promise<number> {
  try {
    const s = await stat(path)
    if (!s.isFile()) throw Object.assign(new Error('not a regular file'), {code: 'not a regular file'})
    return s.size
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: `check the path given to ${flag}`,
    })
  }
}
