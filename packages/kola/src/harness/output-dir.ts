import {existsSync} from 'node:fs'
import {mkdir, readdir, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'

import {UsageError} from '@mantle/kit'

/** A directory holding this file may be emptied by the harness. */
export const MARKER_FILE = '.harness_temp'

export interface OutputDirOptions {
  /** The directory the user asked for; absent: `_kola_temp/<platform>-<stamp>-<pid>` under `cwd`. */
  outputDir?: string | undefined
  platform: string
  cwd: string
  now?: Date
  pid?: number
}

/**
 * Creates the run's output directory. An existing one is emptied only when it
 * is safe: its name is `_*_temp` or it holds a `.harness_temp` marker, so
 * `--output-dir /tmp` cannot wipe anything by accident.
 */
export async function prepareOutputDir(options: OutputDirOptions): Promise<string> {
  if (options.outputDir) {
    const dir = resolve(options.cwd, options.outputDir)
    const existing = await stat(dir).catch(() => undefined)
    if (existing && !existing.isDirectory()) {
      throw new UsageError(`the output directory ${dir} exists and is not a directory`, {
        hint: 'pass a new or existing directory to --output-dir',
      })
    }
    await cleanOutputDir(dir)
    await mkdir(dir, {recursive: true}).catch((error: NodeJS.ErrnoException) => {
      // A path through a file (/dev/zero/x), or one the user may not write: theirs to fix.
      throw new UsageError(`cannot create the output directory ${dir}: ${error.code ?? error.message}`, {
        hint: 'pass a directory you can write to --output-dir',
      })
    })
    await writeFile(join(dir, MARKER_FILE), '')
    return dir
  }
  const parent = join(options.cwd, '_kola_temp')
  const name = `${options.platform}-${stamp(options.now ?? new Date())}-${options.pid ?? process.pid}`
  const dir = join(parent, name)
  await mkdir(dir, {recursive: true})
  await writeFile(join(dir, MARKER_FILE), '')
  await pointLatest(parent, `${options.platform}-latest`, name)
  return dir
}

export function isSafeToClean(dir: string): boolean {
  return /^_.+_temp$/.test(basename(dir)) || existsSync(join(dir, MARKER_FILE))
}

async function cleanOutputDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  if (isSafeToClean(dir)) {
    await rm(dir, {recursive: true, force: true})
    return
  }
  const entries = await readdir(dir).catch(() => [] as string[])
  if (entries.length > 0) {
    throw new UsageError(`refusing to empty the output directory ${dir}: it was not made by kola`, {
      hint: `name it _<something>_temp, choose an empty or new directory, or add a ${MARKER_FILE} file to it`,
    })
  }
}

/** Replaces the `-latest` symlink atomically (a rename over the old link). */
async function pointLatest(parent: string, link: string, target: string): Promise<void> {
  const tmp = join(parent, `.${link}.${process.pid}.tmp`)
  await rm(tmp, {force: true})
  await symlink(target, tmp)
  await rename(tmp, join(parent, link))
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`
}
