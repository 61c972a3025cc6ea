import {spawnSync} from 'node:child_process'
import {chmodSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {makeTempDir} from '@mantle/test-utils'
import {afterEach, describe, expect, it} from 'vitest'

// The compiled module, as the bins require it (CommonJS).
const START = join(import.meta.dirname, '..', 'dist', 'start.cjs')

/** Loads `file` with loadCached in a process of its own (the cache is written at exit); prints what it saw. */
function load(file: string, options: {uid?: number} = {}): {exports: unknown; sameAsRequire: boolean} {
  const script = `
    const {loadCached} = require(${JSON.stringify(START)})
    const {exports} = loadCached(${JSON.stringify(file)})
    process.stdout.write(JSON.stringify({exports, sameAsRequire: require(${JSON.stringify(file)}) === exports}))`
  const r = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8', ...options})
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout) as {exports: unknown; sameAsRequire: boolean}
}

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

describe('loadCached', () => {
  it("runs a CommonJS file as require() would, keeps V8's code cache beside it, and runs the file again after it changes", async () => {
    // Given a CommonJS file in a directory of its own
    const temp = await makeTempDir()
    cleanup = temp.cleanup
    const file = join(temp.dir, 'bundle.cjs')
    writeFileSync(file, "'use strict'\nexports.answer = (() => 42)()\n")

    // When it is loaded in a first process
    const first = load(file)

    // Then it ran as require() would, and require() of the same file gets that module
    expect(first.exports).toEqual({answer: 42})
    expect(first.sameAsRequire).toBe(true)
    // And the code cache beside it begins with the file's size and mtime
    const {size, mtimeMs} = statSync(file)
    const cache = readFileSync(`${file}.v8cache`)
    expect(cache.subarray(0, cache.indexOf(10)).toString()).toBe(`${size} ${mtimeMs}`)
    expect(cache.length).toBeGreaterThan(`${size} ${mtimeMs}\n`.length)

    // When a second process loads it, the cache is used, not written again
    const written = statSync(`${file}.v8cache`).mtimeMs
    expect(load(file).exports).toEqual({answer: 42})
    expect(statSync(`${file}.v8cache`).mtimeMs).toBe(written)

    // When the file changes (same length: V8 itself would check nothing else), the new code runs and the cache is replaced
    writeFileSync(file, "'use strict'\nexports.answer = (() => 43)()\n")
    expect(load(file).exports).toEqual({answer: 43})
    const stamp = statSync(file)
    expect(readFileSync(`${file}.v8cache`).toString('latin1')).toMatch(new RegExp(`^${stamp.size} ${stamp.mtimeMs}\n`))
  })

  it('runs the file uncached where its directory is not writable (a read-only install)', async () => {
    // Given a file in a directory that an unprivileged user may read but not write
    const temp = await makeTempDir()
    cleanup = temp.cleanup
    chmodSync(temp.dir, 0o755)
    const file = join(temp.dir, 'bundle.cjs')
    writeFileSync(file, 'exports.answer = 42\n')

    // When that user loads it
    const r = load(file, {uid: 65534})

    // Then it runs, with nothing on stderr, and no cache appears
    expect(r.exports).toEqual({answer: 42})
    expect(() => statSync(`${file}.v8cache`)).toThrow(/ENOENT/)
  })
})
