import {existsSync, readlinkSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {MARKER_FILE, prepareOutputDir} from './output-dir.js'

let cwd: string
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'kola-out-'))
})
afterEach(async () => {
  await rm(cwd, {recursive: true, force: true})
})

describe('prepareOutputDir', () => {
  it('makes _kola_temp/<platform>-<stamp>-<pid> and points <platform>-latest at it', async () => {
    // When two runs prepare their directories
    const first = await prepareOutputDir({platform: 'qemu', cwd, now: new Date(2026, 0, 2, 3, 4), pid: 42})
    const second = await prepareOutputDir({platform: 'qemu', cwd, now: new Date(2026, 0, 2, 3, 5), pid: 43})

    // Then each has the stamped name and a marker, and -latest follows the newest
    expect(first).toBe(join(cwd, '_kola_temp', 'qemu-2026-01-02-0304-42'))
    expect(existsSync(join(second, MARKER_FILE))).toBe(true)
    expect(readlinkSync(join(cwd, '_kola_temp', 'qemu-latest'))).toBe('qemu-2026-01-02-0305-43')
  })

  it('empties an existing _*_temp directory or one with the marker', async () => {
    // Given old output in a _ci_temp directory and in a marked directory
    for (const name of ['_ci_temp', 'marked']) {
      await mkdir(join(cwd, name))
      await writeFile(join(cwd, name, 'old.txt'), 'old')
    }
    await writeFile(join(cwd, 'marked', MARKER_FILE), '')

    // When they are prepared as output directories
    for (const name of ['_ci_temp', 'marked']) await prepareOutputDir({outputDir: name, platform: 'qemu', cwd})

    // Then the old files are gone
    expect(await readdir(join(cwd, '_ci_temp'))).toEqual([MARKER_FILE])
    expect(await readdir(join(cwd, 'marked'))).toEqual([MARKER_FILE])
  })

  it('refuses to empty a directory kola did not make', async () => {
    // Given a directory with someone's files
    await mkdir(join(cwd, 'precious'))
    await writeFile(join(cwd, 'precious', 'thesis.tex'), 'years of work')

    // Then preparing it fails and the file stays
    await expect(prepareOutputDir({outputDir: 'precious', platform: 'qemu', cwd})).rejects.toThrow(/refusing to empty/)
    expect(existsSync(join(cwd, 'precious', 'thesis.tex'))).toBe(true)
  })

  it.each([['/dev/zero'], ['/dev/zero/run']])(
    'refuses --output-dir %s (a device, or a path through one) as a usage error',
    async (path) => {
      // When the output directory is a device, or lies under one
      const refused = await prepareOutputDir({outputDir: path, platform: 'qemu', cwd}).catch((error: unknown) => error)

      // Then it is a usage error (exit 2) naming the path
      expect(refused).toMatchObject({exitCode: 2})
      expect((refused as Error).message).toContain(path)
    },
  )
})
