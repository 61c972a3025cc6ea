import {readFile, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {UsageError} from '@mantle/kit'

export interface FailedTestsOptions {
  /** A run's output directory or its report.json; default `_kola_temp/<platform>-latest`. */
  from?: string | undefined
  platform: string
  cwd: string
}

/**
 * `kola rerun`: the tests that failed in a run's report.json, by name (copies
 * of `--multiply` as their test, subtests as their test), each once.
 */
export async function failedTestsOf(options: FailedTestsOptions): Promise<{report: string; tests: string[]}> {
  const from = resolve(options.cwd, options.from ?? join('_kola_temp', `${options.platform}-latest`))
  const info = await stat(from).catch(() => undefined)
  if (!info) throw new UsageError(`no run to rerun at ${from}`, {hint: 'run kola run first, or pass --from <output dir or report.json>'})
  const report = info.isDirectory() ? join(from, 'reports', 'report.json') : from
  let doc: {tests?: Array<{name?: unknown; result?: unknown}>}
  try {
    doc = JSON.parse(await readFile(report, 'utf8')) as typeof doc
  } catch (error) {
    throw new UsageError(`cannot read the report ${report}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'a run that was killed may have left no report',
    })
  }
  if (!Array.isArray(doc.tests)) throw new UsageError(`${report} is not a kola report (no tests list)`)
  const names = doc.tests
    .filter((t) => t.result === 'FAIL' && typeof t.name === 'string')
    .map((t) => (t.name as string).split('/')[0]?.replace(/~\d+$/, '') as string)
  const tests = [...new Set(names)]
  if (tests.length === 0) throw new UsageError(`no test failed in ${report}: nothing to rerun`)
  return {report, tests}
}
