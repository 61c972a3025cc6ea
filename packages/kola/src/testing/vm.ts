// Helpers for kola's own tests (not built into dist).
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {isolatedEnv, makeTempDir, serviceEnv} from '@mantle/test-utils'
import {afterEach, beforeEach} from 'vitest'

/** What scripts/services/test-image.sh start writes to .services/test-image.env. */
export const IMAGE_VARS = ['KOLA_TEST_IMAGE', 'KOLA_TEST_KERNEL', 'KOLA_TEST_INITRD']

/** Whether the test image is there; under CI its absence is an error, not a skip. */
export function testImage(): {available: boolean} {
  return serviceEnv(IMAGE_VARS)
}

export const TESTDATA = join(import.meta.dirname, '..', 'testdata')

/** A fresh temporary directory for each test of the file: `dir()` returns the current one. */
export function useTempDir(): () => string {
  let current: {dir: string; cleanup: () => Promise<void>} | undefined
  beforeEach(async () => {
    current = await makeTempDir()
  })
  afterEach(async () => {
    await current?.cleanup()
  })
  return () => {
    if (!current) throw new Error('useTempDir: no test is running')
    return current.dir
  }
}

/** An isolated environment for a kola child, with the test image's variables. */
export function kolaEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return isolatedEnv(join(dir, 'home'), {...Object.fromEntries(IMAGE_VARS.map((v) => [v, process.env[v]])), ...extra})
}

/** QEMU processes whose command line mentions `needle` (a run's output directory), from the process table. */
export function qemuProcesses(needle: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline: string
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
    } catch {
      continue
    }
    if (cmdline.includes('qemu-system') && cmdline.includes(needle)) pids.push(Number(entry))
  }
  return pids
}
