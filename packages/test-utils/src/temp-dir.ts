import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mantle-test-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

/** Creates a temporary directory and returns it with its cleanup, for beforeEach/afterEach. */
export async function makeTempDir(): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'mantle-test-'))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}
