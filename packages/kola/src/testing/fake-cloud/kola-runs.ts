// What the fake-cloud platform tests of #24 (hetzner, scaleway, akamai) share: a kola run
// started in the background until the fake saw its first machine, and the checks of a finished run.
import {type ChildProcess, spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath} from '@mantle/test-utils'

/** Starts `kola <args>` and resolves once `created()` turns true (the fake made the run's first machine). */
export async function startKola(
  args: string[],
  env: NodeJS.ProcessEnv,
  created: () => boolean,
): Promise<{child: ChildProcess; exited: Promise<number | null>}> {
  const child = spawn(process.execPath, [binPath('kola'), ...args], {env, stdio: ['ignore', 'ignore', 'pipe']})
  child.stderr?.resume()
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  while (!created()) {
    if (child.exitCode !== null) throw new Error(`kola exited ${child.exitCode} before creating a machine`)
    await sleep(100)
  }
  return {child, exited}
}

/** The top-level results of report.json, and each test's machine directory. */
export function runResults(out: string): {platform: string; results: Record<string, string>; machineDir: (test: string) => string} {
  const report = JSON.parse(readFileSync(join(out, 'reports', 'report.json'), 'utf8')) as {
    platform: string
    tests: Array<{name: string; result: string}>
  }
  return {
    platform: report.platform,
    results: Object.fromEntries(report.tests.filter((t) => !t.name.includes('/')).map((t) => [t.name, t.result])),
    machineDir: (test) => join(out, test, readdirSync(join(out, test)).find((m) => /^[0-9a-f-]{36}$/.test(m)) as string),
  }
}

/** The `kola: error:` lines of a run's stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('kola: error:'))
}
