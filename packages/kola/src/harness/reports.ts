import {appendFileSync, writeFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {TestRecord, TestResult} from './h.js'

/**
 * `test.tap`, written as tests end so that a killed run still leaves what it
 * had: `1..N`, then `ok - name`, `not ok - name`, `ok - name # SKIP reason`,
 * with a failed test's output as `#` comment lines.
 */
export class TapWriter {
  constructor(
    readonly path: string,
    count: number,
  ) {
    writeFileSync(path, `1..${count}\n`)
  }

  add(record: TestRecord): void {
    appendFileSync(this.path, tapLines(record))
  }
}

export function tapLines(record: TestRecord): string {
  const name = record.name.replace(/#/g, '\\#')
  if (record.result === 'SKIP') return `ok - ${name} # SKIP${record.skipReason ? ` ${oneLine(record.skipReason)}` : ''}\n`
  if (record.result === 'PASS') return `ok - ${name}${record.flake ? ' # flake: passed on rerun' : ''}\n`
  // TAP's TODO: a failure that does not fail the run.
  if (record.result === 'FAIL' && record.warn)
    return `not ok - ${name} # TODO warn-only${record.message ? `: ${oneLine(record.message)}` : ''}\n`
  // TAP knows only ok and not ok: a test cut short did not pass, so it is "not ok", marked INTERRUPTED, and
  // the file ends with "Bail out!" (bailOut), which TAP consumers report as an aborted run, not as failures.
  if (record.result === 'INTERRUPTED') return `not ok - ${name} # INTERRUPTED${record.message ? `: ${oneLine(record.message)}` : ''}\n`
  const comments = record.output
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `# ${l}\n`)
    .join('')
  return `not ok - ${name}\n${comments}`
}

/** The last line of the TAP file of an interrupted run. */
export function bailOut(records: readonly TestRecord[]): string {
  const why = records.find((r) => r.result === 'INTERRUPTED')?.message ?? 'interrupted'
  return `Bail out! kola run ${oneLine(why)}\n`
}

export interface ReportInfo {
  platform: string
  version: string
  result: TestResult
  records: readonly TestRecord[]
}

/**
 * `reports/report.json` in the original's shape: `{tests: [{name, result,
 * duration, output}], result, platform, version}`, with the duration in
 * nanoseconds as Go's time.Duration marshals it. Flakes and skip reasons are
 * extra fields, present only when they apply.
 */
export function jsonReport(info: ReportInfo): object {
  return {
    tests: info.records.map((r) => ({
      name: r.name,
      result: r.result,
      duration: r.durationMs * 1_000_000,
      output: r.output,
      ...(r.flake ? {flake: true} : {}),
      ...(r.warn ? {warn: true} : {}),
      ...(r.result === 'SKIP' && r.skipReason ? {reason: r.skipReason} : {}),
      ...(r.failure ? {failure: r.failure} : {}),
    })),
    result: info.result,
    platform: info.platform,
    version: info.version,
  }
}

/** JUnit XML, the format CI systems read: one testcase per test and subtest. */
export function junitReport(info: ReportInfo, suiteName = 'kola'): string {
  const cases = info.records
  const failures = cases.filter((r) => r.result === 'FAIL' && !r.warn).length
  const skipped = cases.filter((r) => r.result === 'SKIP').length
  // A test cut short is a JUnit <error> (it could not complete: not its assertions, so not <failure>; it was
  // meant to run, so not <skipped>, which CI shows as neutral and would hide an unfinished run).
  const errors = cases.filter((r) => r.result === 'INTERRUPTED').length
  const total = cases.reduce((s, r) => s + (r.subtest ? 0 : r.durationMs), 0)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suiteName)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(total)}">`,
    `  <testsuite name="${xml(`${suiteName}.${info.platform}`)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(total)}">`,
    `    <properties><property name="platform" value="${xml(info.platform)}"/><property name="version" value="${xml(info.version)}"/></properties>`,
  ]
  for (const r of cases) {
    const head = `    <testcase name="${xml(r.name)}" classname="${xml(`${suiteName}.${info.platform}`)}" time="${seconds(r.durationMs)}"`
    if (r.result === 'PASS' && !r.flake) {
      lines.push(`${head}/>`)
      continue
    }
    lines.push(`${head}>`)
    // A warn-only failure is no JUnit failure (CI would fail on it): a property and its output say what happened.
    if (r.result === 'FAIL' && r.warn)
      lines.push('      <properties><property name="warn" value="true"/></properties>', `      <system-err>${xml(r.output)}</system-err>`)
    else if (r.result === 'FAIL')
      lines.push(
        `      <failure message="${xml(r.message ?? (firstLine(r.output) || 'failed'))}" type="${r.failure ?? 'test'}">${xml(r.output)}</failure>`,
      )
    if (r.result === 'SKIP') lines.push(`      <skipped message="${xml(r.skipReason ?? '')}"/>`)
    if (r.result === 'INTERRUPTED')
      lines.push(`      <error message="${xml(r.message ?? 'interrupted')}" type="interrupted">${xml(r.output)}</error>`)
    // JUnit has no flake element; the convention (Bazel, Gradle, Maven surefire) is a property and the output.
    if (r.flake)
      lines.push(
        '      <properties><property name="flake" value="true"/></properties>',
        `      <system-out>${xml('flake: failed, then passed on rerun')}</system-out>`,
      )
    else if (r.output && r.result !== 'FAIL' && r.result !== 'INTERRUPTED') lines.push(`      <system-out>${xml(r.output)}</system-out>`)
    lines.push('    </testcase>')
  }
  lines.push('  </testsuite>', '</testsuites>', '')
  return lines.join('\n')
}

export interface ReportPaths {
  json: string
  junit: string
}

export async function writeReports(paths: ReportPaths, info: ReportInfo): Promise<void> {
  await mkdir(dirname(paths.json), {recursive: true})
  await mkdir(dirname(paths.junit), {recursive: true})
  await writeFile(paths.json, JSON.stringify(jsonReport(info), null, 2) + '\n')
  await writeFile(paths.junit, junitReport(info))
}

function xml(s: string): string {
  // Control characters other than tab and newline are not allowed in XML 1.0.
  const clean = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  return clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3)
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim().length > 0) ?? ''
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ')
}
