// kola runs against a fake cloud, for the platforms' end-to-end tests.
import {type ChildProcess, spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, makeTempDir} from '@mantle/test-utils'
import {afterAll, beforeAll} from 'vitest'

import {kolaEnv} from '../vm.js'

/** Starts `kola <args>` and resolves once `launched()` (the fake's count of machines) has grown. */
export async function startKolaRun(
  args: string[],
  env: NodeJS.ProcessEnv,
  launched: () => number,
): Promise<{child: ChildProcess; exited: Promise<number | null>}> {
  const before = launched()
  const child = spawn(process.execPath, [binPath('kola'), ...args], {env, stdio: ['ignore', 'ignore', 'pipe']})
  child.stderr?.resume()
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  while (launched() === before) {
    if (child.exitCode !== null) throw new Error(`kola exited ${child.exitCode} before launching`)
    await sleep(100)
  }
  return {child, exited}
}

/** The report's platform and the result of each top-level test. */
export function topLevelResults(out: string): {platform: string; results: Record<string, string>} {
  const report = JSON.parse(readFileSync(join(out, 'reports', 'report.json'), 'utf8')) as {
    platform: string
    tests: Array<{name: string; result: string}>
  }
  return {
    platform: report.platform,
    results: Object.fromEntries(report.tests.filter((t) => !t.name.includes('/')).map((t) => [t.name, t.result])),
  }
}

/** The output directory of a test's first machine. */
export function machineDir(out: string, test: string): string {
  const [machine] = readdirSync(join(out, test)).filter((m) => /^[0-9a-f-]{36}$/.test(m))
  return join(out, test, machine as string)
}

/** The lines kola printed as errors. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('kola: error:'))
}

/** A fake cloud started before the file's tests and stopped after them, in a temporary directory of its own. */
export function useFakeCloud<F extends {stop(): Promise<void>}>(start: (dir: string) => Promise<F>): {fake: () => F; dir: () => string} {
  let fake: F | undefined
  let temp: {dir: string; cleanup: () => Promise<void>} | undefined
  beforeAll(async () => {
    temp = await makeTempDir()
    fake = await start(temp.dir)
  })
  afterAll(async () => {
    await fake?.stop()
    await temp?.cleanup()
  })
  return {
    fake: () => fake as F,
    dir: () => temp?.dir as string,
  }
}

/** An isolated kola/ore environment under `<dir>/<name>` whose home holds a profile-map credentials file (`.config/<file>`). */
export async function profileEnv(dir: string, name: string, file: string, profile: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  const home = join(dir, name)
  await mkdir(join(home, 'home', '.config'), {recursive: true})
  await writeFile(join(home, 'home', '.config', file), JSON.stringify({default: profile}), {mode: 0o600})
  return kolaEnv(home)
}
